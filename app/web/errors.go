package web

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/a-h/templ"

	"thinx/app"
	"thinx/views"
)

// statusOf maps app error codes to HTTP statuses, in one place.
var statusOf = map[string]int{
	app.ECONFLICT:       http.StatusConflict,
	app.EINVALID:        http.StatusUnprocessableEntity,
	app.ENOTFOUND:       http.StatusNotFound,
	app.EUNAUTHORIZED:   http.StatusUnauthorized,
	app.EFORBIDDEN:      http.StatusForbidden,
	app.ETOOMANY:        http.StatusTooManyRequests,
	app.ETOOLARGE:       http.StatusRequestEntityTooLarge,
	app.ENOTIMPLEMENTED: http.StatusNotImplemented,
	app.EINTERNAL:       http.StatusInternalServerError,
}

// error renders err as a page or JSON. Internal errors are logged with the
// request and shown as a generic message.
func (s *Server) error(w http.ResponseWriter, r *http.Request, err error) {
	code := app.ErrorCode(err)
	status := statusOf[code]
	if status == 0 {
		status = http.StatusInternalServerError
	}
	if code == app.EINTERNAL {
		s.Log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	s.renderError(w, r, status, app.ErrorMessage(err))
}

func (s *Server) renderError(w http.ResponseWriter, r *http.Request, status int, msg string) {
	if wantsJSON(r) {
		writeJSON(w, status, map[string]any{"success": false, "error": msg})
		return
	}
	if o := owner(r); o != nil {
		s.render(w, r, status, views.ErrorPage(s.page(r, "", "Error"), status, msg))
		return
	}
	s.render(w, r, status, views.BareError(s.assets, status, msg))
}

// render writes a component with a status code.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, c templ.Component) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if err := c.Render(r.Context(), w); err != nil {
		s.Log.Error("render", "path", r.URL.Path, "err", err)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func asMaxBytes(err error, target **http.MaxBytesError) bool { return errors.As(err, target) }

// page fills the shared part of a page's view model.
func (s *Server) page(r *http.Request, nav, title string) views.Page {
	return views.Page{Title: title, Nav: nav, Owner: owner(r), Assets: s.assets, Flash: takeFlash(r)}
}

// Flash messages survive one redirect in a short-lived cookie.
const flashCookie = "thinx_flash"

func setFlash(w http.ResponseWriter, kind, text string) {
	http.SetCookie(w, &http.Cookie{Name: flashCookie, Value: kind + ":" + encodeFlash(text), Path: "/", HttpOnly: true,
		SameSite: http.SameSiteLaxMode, MaxAge: 60})
}

func takeFlash(r *http.Request) views.Flash {
	c, err := r.Cookie(flashCookie)
	if err != nil {
		return views.Flash{}
	}
	kind, text, ok := cutFlash(c.Value)
	if !ok {
		return views.Flash{}
	}
	if rw, ok := r.Context().Value(respKey).(http.ResponseWriter); ok {
		http.SetCookie(rw, &http.Cookie{Name: flashCookie, Path: "/", MaxAge: -1})
	}
	return views.Flash{Kind: kind, Text: text}
}

// redirect sends the browser on with a flash message.
func redirect(w http.ResponseWriter, r *http.Request, to, kind, msg string) {
	if msg != "" {
		setFlash(w, kind, msg)
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}
