package web

import (
	"net/http"

	"thinx/assets"
	"thinx/views"
)

// routes registers every console route. Features mounted through s.Mount
// add theirs first; sections still empty render a page that says what will
// appear there. No route changes state on GET.
func (s *Server) routes(mux *http.ServeMux) {
	mux.Handle("GET "+assets.Prefix, assets.Handler())
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /metrics", s.metrics)

	mux.HandleFunc("GET /setup", s.setupForm)
	mux.HandleFunc("POST /setup", s.setup)
	mux.HandleFunc("GET /login", s.loginForm)
	mux.HandleFunc("POST /login", s.login)
	mux.HandleFunc("POST /logout", s.requireOwner(s.logout))
	mux.HandleFunc("POST /logout/everywhere", s.requireOwner(s.logoutEverywhere))
	mux.HandleFunc("GET /forgot", s.forgotForm)
	mux.HandleFunc("POST /forgot", s.forgot)
	mux.HandleFunc("GET /invite/{token}", s.linkForm)
	mux.HandleFunc("POST /invite/{token}", s.useLink)
	mux.HandleFunc("GET /reset/{token}", s.linkForm)
	mux.HandleFunc("POST /reset/{token}", s.useLink)

	mux.HandleFunc("GET /keys", s.requireOwner(s.keys))
	mux.HandleFunc("POST /keys", s.requireOwner(s.createKey))
	mux.HandleFunc("POST /keys/{id}/revoke", s.requireOwner(s.revokeKey))
	mux.HandleFunc("GET /api/keys", s.requireOwner(s.keysJSON))

	mux.HandleFunc("GET /audit", s.requireOwner(s.audit))

	mux.HandleFunc("GET /profile", s.requireOwner(s.profile))
	mux.HandleFunc("POST /profile", s.requireOwner(s.saveProfile))
	mux.HandleFunc("POST /profile/avatar", s.requireOwner(s.uploadAvatar))
	mux.HandleFunc("GET /profile/avatar", s.requireOwner(s.avatar))
	mux.HandleFunc("POST /profile/password", s.requireOwner(s.changePassword))

	mux.HandleFunc("GET /admin", s.requireAdmin(s.admin))
	mux.HandleFunc("POST /admin/owners", s.requireAdmin(s.inviteOwner))
	mux.HandleFunc("POST /admin/owners/{id}/disable", s.requireAdmin(s.disableOwner))
	mux.HandleFunc("POST /admin/owners/{id}/enable", s.requireAdmin(s.enableOwner))
	mux.HandleFunc("POST /admin/owners/{id}/reset", s.requireAdmin(s.resetOwner))

	if s.Transformers != nil {
		s.transformerRoutes(mux)
	}
	if s.Devices != nil {
		s.deviceRoutes(mux)
	}
	s.mqttRoutes(mux)
	for _, m := range s.Mount {
		m(mux)
	}
	// Sections whose features have not registered a page yet.
	for _, sec := range views.Sections {
		if sec.Empty == "" {
			continue
		}
		pattern := "GET " + sec.Path
		if sec.Path == "/" {
			pattern = "GET /{$}"
		}
		if _, p := mux.Handler(mustReq(sec.Path)); p != "" && p != "GET /" {
			continue // a feature mounted its own page
		}
		mux.HandleFunc(pattern, s.requireOwner(func(w http.ResponseWriter, r *http.Request) {
			s.render(w, r, http.StatusOK, views.EmptySection(s.page(r, sec.Path, sec.Label), sec))
		}))
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.renderError(w, r, http.StatusNotFound, "There is no page at "+r.URL.Path+".")
	})
}

func mustReq(path string) *http.Request {
	r, _ := http.NewRequest(http.MethodGet, path, nil)
	return r
}
