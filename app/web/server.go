// Package web is the console: server-rendered pages (templ) with htmx for
// partial updates, plus health and metrics. routes.go lists every route.
package web

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"thinx/app/auth"
	"thinx/app/broker"
	"thinx/app/config"
	"thinx/app/devices"
	"thinx/app/events"
	"thinx/app/store"
	"thinx/app/transform"
	"thinx/assets"
	"thinx/views"
)

// Server holds what the console's handlers need.
type Server struct {
	DB      *store.DB
	Auth    *auth.Service
	Config  config.Config
	Log     *slog.Logger
	Metrics *Metrics
	Version string

	// Events carries live updates to console streams (SSE).
	Events *events.Bus

	// Feature services; a nil service leaves its section empty.
	Transformers *transform.Service
	Devices      *devices.Service
	Broker       *broker.Server

	// CertFingerprint is the SHA-256 of the self-signed certificate, shown
	// to the admin so devices and browsers can be checked against it.
	CertFingerprint string

	// Mount lets later features add routes (device API, feature pages)
	// without this package knowing them; each gets the mux before the
	// catch-all routes are added.
	Mount []func(mux *http.ServeMux)

	// Public marks path prefixes that must skip cross-origin protection
	// because devices, not browsers, call them (e.g. "/device/").
	Public []string

	assets views.Assets
	h      http.Handler
}

// Init builds the handler chain; call it once after setting the fields.
func (s *Server) Init() {
	if s.Metrics == nil {
		s.Metrics = NewMetrics()
	}
	s.assets = views.Assets{
		CSS: assets.URL("app.css"), JS: assets.URL("app.js"), Editor: assets.URL("editor.js"), Favicon: assets.URL("favicon.svg"),
		HTMX: assets.URL("vendor/htmx.min.js"), SSE: assets.URL("vendor/htmx-ext-sse.min.js"),
	}
	mux := http.NewServeMux()
	s.routes(mux)
	cop := http.NewCrossOriginProtection()
	for _, p := range s.Public {
		cop.AddInsecureBypassPattern(p)
	}
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.Log.Warn("cross-origin request refused", "method", r.Method, "path", r.URL.Path, "origin", r.Header.Get("Origin"))
		s.renderError(w, r, http.StatusForbidden, "This form was sent from another site, so it was refused. Reload the page and try again.")
	}))
	s.h = s.recoverer(s.Metrics.instrument(mux, s.securityHeaders(withResponse(cop.Handler(mux)))))
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.h.ServeHTTP(w, r) }

// HTTPServer wraps the handler with the timeouts every listener uses. Slow
// clients get ReadHeaderTimeout; bodies have their own limits per route.
func (s *Server) HTTPServer(addr string) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           s,
		ReadHeaderTimeout: 5 * time.Second, // devices and browsers send headers at once; slowloris does not
		ReadTimeout:       60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          slog.NewLogLogger(s.Log.Handler(), slog.LevelWarn),
		BaseContext:       nil,
	}
}

// ownerKey is the context key of the logged-in owner.
type ctxKey int

const (
	ownerKey ctxKey = iota
	sessionKey
)

func withValue(r *http.Request, k ctxKey, v any) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), k, v))
}
