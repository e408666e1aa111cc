package web

import (
	"net/http"

	"thinx/views"
)

func (s *Server) adminPage(r *http.Request) (views.AdminPage, error) {
	owners, err := s.DB.Owners(r.Context())
	return views.AdminPage{Page: s.page(r, "/admin", "Admin"), Owners: owners, MailEnabled: s.Auth.Mailer != nil,
		CertSHA256: s.CertFingerprint, Version: s.Version}, err
}

func (s *Server) admin(w http.ResponseWriter, r *http.Request) {
	p, err := s.adminPage(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, views.AdminPageView(p))
}

// showLink renders the admin page with a link to hand over. The link is in
// this response only, never in a redirect.
func (s *Server) showLink(w http.ResponseWriter, r *http.Request, flash, link, forEmail string, sent bool) {
	p, err := s.adminPage(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	p.Flash = views.Flash{Kind: "ok", Text: flash}
	if !sent {
		p.Link, p.LinkFor = link, forEmail
	}
	s.render(w, r, http.StatusOK, views.AdminPageView(p))
}

func (s *Server) inviteOwner(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(w, r); err != nil {
		s.error(w, r, err)
		return
	}
	base := s.baseURL(r)
	o, token, sent, err := s.Auth.Invite(r.Context(), owner(r), r.PostFormValue("email"), r.PostFormValue("name"), r.PostFormValue("admin") == "1", s.clientIP(r), base)
	if err != nil {
		s.formError(w, r, err, func(f views.Flash) {
			p, _ := s.adminPage(r)
			p.Flash = f
			s.render(w, r, statusFor(err), views.AdminPageView(p))
		})
		return
	}
	msg := "Invitation for " + o.Email + " created."
	if sent {
		msg = "Invitation e-mailed to " + o.Email + "."
	}
	s.showLink(w, r, msg, base+"/invite/"+token, o.Email, sent)
}

func (s *Server) setOwnerDisabled(w http.ResponseWriter, r *http.Request, disabled bool) {
	if err := s.Auth.SetDisabled(r.Context(), owner(r), r.PathValue("id"), disabled, s.clientIP(r)); err != nil {
		s.error(w, r, err)
		return
	}
	msg := "Owner enabled."
	if disabled {
		msg = "Owner disabled; their sessions have ended."
	}
	redirect(w, r, "/admin", "ok", msg)
}

func (s *Server) disableOwner(w http.ResponseWriter, r *http.Request) { s.setOwnerDisabled(w, r, true) }
func (s *Server) enableOwner(w http.ResponseWriter, r *http.Request)  { s.setOwnerDisabled(w, r, false) }

func (s *Server) resetOwner(w http.ResponseWriter, r *http.Request) {
	base := s.baseURL(r)
	o, err := s.DB.Owner(r.Context(), r.PathValue("id"))
	if err != nil {
		s.error(w, r, err)
		return
	}
	token, sent, err := s.Auth.ResetLink(r.Context(), owner(r), o.ID, s.clientIP(r), base)
	if err != nil {
		s.error(w, r, err)
		return
	}
	msg := "Reset link for " + o.Email + " created."
	if sent {
		msg = "Reset link e-mailed to " + o.Email + "."
	}
	s.showLink(w, r, msg, base+"/reset/"+token, o.Email, sent)
}
