package certs

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"strings"

	"golang.org/x/crypto/acme"
	"golang.org/x/crypto/acme/autocert"
)

// Config returns the TLS configuration of every TLS listener (HTTPS and
// MQTTS). With a domain, that name gets an ACME certificate and every other
// name (an IP address, a LAN host name) gets the self-signed one, because
// ACME can never issue for those. The returned wrapper answers HTTP-01
// challenges on the plain listener and passes everything else on.
func Config(domain string, cache autocert.Cache, self tls.Certificate, directoryURL string) (*tls.Config, func(http.Handler) http.Handler) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, NextProtos: []string{"h2", "http/1.1"}}
	if domain == "" {
		cfg.Certificates = []tls.Certificate{self}
		return cfg, func(h http.Handler) http.Handler { return h }
	}
	m := &autocert.Manager{
		Prompt: autocert.AcceptTOS,
		Cache:  cache,
		// The host may arrive with a port (HTTP-01 on a non-default port);
		// compare the bare name.
		HostPolicy: func(_ context.Context, host string) error {
			if h, _, err := net.SplitHostPort(host); err == nil {
				host = h
			}
			if !strings.EqualFold(host, domain) {
				return autocert.HostWhitelist(domain)(context.Background(), host)
			}
			return nil
		},
	}
	if directoryURL != "" {
		m.Client = &acme.Client{DirectoryURL: directoryURL}
	}
	cfg.NextProtos = append(cfg.NextProtos, acme.ALPNProto)
	cfg.GetCertificate = func(h *tls.ClientHelloInfo) (*tls.Certificate, error) {
		if strings.EqualFold(h.ServerName, domain) {
			return m.GetCertificate(h)
		}
		return &self, nil
	}
	return cfg, m.HTTPHandler
}
