package web

import (
	"context"
	"net"
	"net/http"
	"time"
)

// healthz answers 200 when the database answers a query within 2 s.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.DB.Ping(ctx); err != nil {
		s.Log.Error("health check", "err", err)
		http.Error(w, "database not answering", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte("ok\n"))
}

// metrics serves Prometheus text to admins and to scrapers on loopback.
// Behind a reverse proxy on this host every socket is loopback, so the
// client address is the one clientIP trusts, not the socket's.
func (s *Server) metrics(w http.ResponseWriter, r *http.Request) {
	if !isLoopback(s.clientIP(r)) {
		o, _, err := s.Auth.SessionOwner(r.Context(), sessionToken(r))
		if err != nil || !o.Admin {
			http.Error(w, "metrics are served to admins and to loopback only", http.StatusForbidden)
			return
		}
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	s.Metrics.Write(w)
}

func isLoopback(remote string) bool {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
