package web

import (
	"errors"
	"io"
	"net/http"

	"thinx/app"
	"thinx/app/auth"
	"thinx/views"
)

func (s *Server) profilePage(r *http.Request) views.ProfilePage {
	o := owner(r)
	n, _ := s.DB.SessionCount(r.Context(), o.ID)
	p := views.ProfilePage{Page: s.page(r, "/profile", "Profile"), Sessions: n}
	if o.AvatarType != "" {
		p.AvatarURL = "/profile/avatar?v=" + views.Rel(o.UpdatedAt)
	}
	return p
}

func (s *Server) profile(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, views.ProfilePageView(s.profilePage(r)))
}

func (s *Server) saveProfile(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(w, r); err != nil {
		s.error(w, r, err)
		return
	}
	on := func(k string) bool { return r.PostFormValue(k) == "1" }
	n := app.NotifyPrefs{Security: on("notify_security"), DeviceErrors: on("notify_device_errors"), Builds: on("notify_builds"), Transfers: on("notify_transfers")}
	err := s.Auth.UpdateProfile(r.Context(), owner(r).ID, r.PostFormValue("name"), r.PostFormValue("email"), n, s.clientIP(r))
	if err != nil {
		s.formError(w, r, err, func(f views.Flash) {
			p := s.profilePage(r)
			p.Flash = f
			s.render(w, r, statusFor(err), views.ProfilePageView(p))
		})
		return
	}
	redirect(w, r, "/profile", "ok", "Profile saved.")
}

func (s *Server) uploadAvatar(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, auth.MaxAvatarBytes+16<<10)
	f, _, err := r.FormFile("avatar")
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			s.error(w, r, app.Errorf(app.ETOOLARGE, "The image is larger than 256 KB."))
			return
		}
		s.error(w, r, app.Errorf(app.EINVALID, "Choose a PNG or JPEG file to upload."))
		return
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, auth.MaxAvatarBytes+1))
	if err != nil {
		s.error(w, r, app.Errorf(app.EINVALID, "The upload could not be read."))
		return
	}
	if err := s.Auth.SetAvatar(r.Context(), owner(r).ID, data, s.clientIP(r)); err != nil {
		s.error(w, r, err)
		return
	}
	redirect(w, r, "/profile", "ok", "Avatar saved.")
}

func (s *Server) avatar(w http.ResponseWriter, r *http.Request) {
	b, ct, err := s.DB.Avatar(r.Context(), owner(r).ID)
	if err != nil {
		s.error(w, r, err)
		return
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Cache-Control", "private, max-age=86400")
	_, _ = w.Write(b)
}

func (s *Server) changePassword(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(w, r); err != nil {
		s.error(w, r, err)
		return
	}
	rerender := func(f views.Flash, status int) {
		p := s.profilePage(r)
		p.Flash = f
		s.render(w, r, status, views.ProfilePageView(p))
	}
	if r.PostFormValue("password") != r.PostFormValue("password2") {
		rerender(views.Flash{Kind: "error", Text: "The two new passwords differ."}, http.StatusUnprocessableEntity)
		return
	}
	err := s.Auth.ChangePassword(r.Context(), owner(r).ID, sessionOf(r).ID, r.PostFormValue("current"), r.PostFormValue("password"), s.clientIP(r))
	if err != nil {
		s.formError(w, r, err, func(f views.Flash) { rerender(f, statusFor(err)) })
		return
	}
	redirect(w, r, "/profile", "ok", "Password changed. Your other sessions have been logged out.")
}
