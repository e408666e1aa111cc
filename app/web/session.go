package web

import (
	"net/http"

	"thinx/app"
	"thinx/views"
)

func (s *Server) authPage(r *http.Request, title string) views.AuthPage {
	return views.AuthPage{Assets: s.assets, Title: title, Flash: takeFlash(r), MailOn: s.Auth.Mailer != nil}
}

// setupForm is the first-run page; once an owner exists it sends people to
// the login page.
func (s *Server) setupForm(w http.ResponseWriter, r *http.Request) {
	if open, err := s.Auth.SetupOpen(r.Context()); err != nil {
		s.error(w, r, err)
		return
	} else if !open {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	s.render(w, r, http.StatusOK, views.SetupPage(s.authPage(r, "Set up")))
}

func (s *Server) setup(w http.ResponseWriter, r *http.Request) {
	p := s.authPage(r, "Set up")
	if err := parseForm(w, r); err != nil {
		s.error(w, r, err)
		return
	}
	p.Email, p.Name = r.PostFormValue("email"), r.PostFormValue("name")
	if r.PostFormValue("password") != r.PostFormValue("password2") {
		p.Flash = views.Flash{Kind: "error", Text: "The two passwords differ."}
		s.render(w, r, http.StatusUnprocessableEntity, views.SetupPage(p))
		return
	}
	token, _, err := s.Auth.Setup(r.Context(), p.Email, p.Name, r.PostFormValue("password"), s.clientIP(r), r.UserAgent())
	if app.ErrorCode(err) == app.EFORBIDDEN {
		redirect(w, r, "/login", "info", app.ErrorMessage(err))
		return
	} else if err != nil {
		s.formError(w, r, err, func(f views.Flash) { p.Flash = f; s.render(w, r, statusFor(err), views.SetupPage(p)) })
		return
	}
	s.setSessionCookie(w, r, token)
	redirect(w, r, "/", "ok", "Welcome! Your administrator account is ready. Create an API key for your first device.")
}

// formError re-renders a form with the error when a person can fix it, and
// shows an error page otherwise.
func (s *Server) formError(w http.ResponseWriter, r *http.Request, err error, rerender func(views.Flash)) {
	switch app.ErrorCode(err) {
	case app.EINVALID, app.ECONFLICT, app.EUNAUTHORIZED, app.ETOOMANY:
		rerender(views.Flash{Kind: "error", Text: app.ErrorMessage(err)})
	default:
		s.error(w, r, err)
	}
}

func statusFor(err error) int {
	if st := statusOf[app.ErrorCode(err)]; st != 0 {
		return st
	}
	return http.StatusInternalServerError
}

func (s *Server) loginForm(w http.ResponseWriter, r *http.Request) {
	if open, _ := s.Auth.SetupOpen(r.Context()); open {
		http.Redirect(w, r, "/setup", http.StatusSeeOther)
		return
	}
	if _, _, err := s.Auth.SessionOwner(r.Context(), sessionToken(r)); err == nil {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	p := s.authPage(r, "Log in")
	p.Action = loginAction(r)
	s.render(w, r, http.StatusOK, views.LoginPage(p))
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	p := s.authPage(r, "Log in")
	p.Action = loginAction(r)
	if err := parseForm(w, r); err != nil {
		s.error(w, r, err)
		return
	}
	p.Email = r.PostFormValue("email")
	token, _, err := s.Auth.Login(r.Context(), p.Email, r.PostFormValue("password"), s.clientIP(r), r.UserAgent())
	if err != nil {
		s.formError(w, r, err, func(f views.Flash) { p.Flash = f; s.render(w, r, statusFor(err), views.LoginPage(p)) })
		return
	}
	s.setSessionCookie(w, r, token)
	http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if err := s.Auth.Logout(r.Context(), owner(r).ID, sessionToken(r), s.clientIP(r)); err != nil {
		s.error(w, r, err)
		return
	}
	s.clearSessionCookie(w, r)
	redirect(w, r, "/login", "ok", "You are logged out.")
}

func (s *Server) logoutEverywhere(w http.ResponseWriter, r *http.Request) {
	if err := s.Auth.LogoutEverywhere(r.Context(), owner(r).ID, s.clientIP(r)); err != nil {
		s.error(w, r, err)
		return
	}
	s.clearSessionCookie(w, r)
	redirect(w, r, "/login", "ok", "You are logged out of every browser.")
}

func (s *Server) forgotForm(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, views.ForgotPage(s.authPage(r, "Reset password")))
}

// forgot always answers the same, whether or not the address has an account.
func (s *Server) forgot(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(w, r); err != nil {
		s.error(w, r, err)
		return
	}
	err := s.Auth.RequestReset(r.Context(), r.PostFormValue("email"), s.clientIP(r), s.baseURL(r))
	if err != nil {
		p := s.authPage(r, "Reset password")
		p.Flash = views.Flash{Kind: "error", Text: app.ErrorMessage(err)}
		s.render(w, r, statusFor(err), views.ForgotPage(p))
		return
	}
	redirect(w, r, "/login", "info", "If that address has an account, a reset link is on its way.")
}

func linkKind(r *http.Request) (kind, heading string) {
	if len(r.URL.Path) > 8 && r.URL.Path[:8] == "/invite/" {
		return app.TokenInvite, "Welcome! Choose your password"
	}
	return app.TokenReset, "Choose a new password"
}

func (s *Server) linkForm(w http.ResponseWriter, r *http.Request) {
	kind, heading := linkKind(r)
	p := s.authPage(r, heading)
	if !s.Auth.LinkValid(r.Context(), r.PathValue("token"), kind) {
		s.render(w, r, http.StatusNotFound, views.LinkInvalidPage(p))
		return
	}
	p.Heading, p.Action = heading, r.URL.Path
	s.render(w, r, http.StatusOK, views.SetPasswordPage(p))
}

func (s *Server) useLink(w http.ResponseWriter, r *http.Request) {
	kind, heading := linkKind(r)
	p := s.authPage(r, heading)
	p.Heading, p.Action = heading, r.URL.Path
	if err := parseForm(w, r); err != nil {
		s.error(w, r, err)
		return
	}
	if r.PostFormValue("password") != r.PostFormValue("password2") {
		p.Flash = views.Flash{Kind: "error", Text: "The two passwords differ."}
		s.render(w, r, http.StatusUnprocessableEntity, views.SetPasswordPage(p))
		return
	}
	token, _, err := s.Auth.UseLink(r.Context(), r.PathValue("token"), kind, r.PostFormValue("password"), s.clientIP(r), r.UserAgent())
	if err != nil {
		s.formError(w, r, err, func(f views.Flash) { p.Flash = f; s.render(w, r, statusFor(err), views.SetPasswordPage(p)) })
		return
	}
	s.setSessionCookie(w, r, token)
	redirect(w, r, "/", "ok", "Your password is set.")
}
