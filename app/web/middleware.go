package web

import (
	"net"
	"net/http"
	"net/url"
	"strings"

	"thinx/app"
)

// Content-Security-Policy without inline script: htmx is told not to
// inject styles or evaluate code (see the htmx-config meta tag).
const csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'"

func (s *Server) securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		if r.TLS != nil {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		next.ServeHTTP(w, r)
	})
}

// recoverer turns a panic in a handler into a 500 page and a log line with
// the route, instead of a dropped connection.
func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.Log.Error("handler panic", "method", r.Method, "path", r.URL.Path, "panic", v)
				s.renderError(w, r, http.StatusInternalServerError, "Something went wrong on the server. It has been logged.")
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// clientIP is the address used for rate limits and the audit log.
func (s *Server) clientIP(r *http.Request) string {
	if s.Config.TrustProxyHeader {
		// The proxy appends the address it saw; entries before it come
		// from the client and may be forged, so only the last one counts.
		if f := r.Header.Values("X-Forwarded-For"); len(f) > 0 {
			parts := strings.Split(f[len(f)-1], ",")
			if ip := strings.TrimSpace(parts[len(parts)-1]); net.ParseIP(ip) != nil {
				return ip
			}
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// Session cookies: __Host- prefixed (Secure, path /, no domain) over TLS;
// a plain name on a LAN over HTTP, where Secure cookies would not be sent.
const (
	cookieTLS   = "__Host-thinx_session"
	cookiePlain = "thinx_session"
)

func (s *Server) setSessionCookie(w http.ResponseWriter, r *http.Request, token string) {
	name := cookiePlain
	if r.TLS != nil {
		name = cookieTLS
	}
	http.SetCookie(w, &http.Cookie{Name: name, Value: token, Path: "/", HttpOnly: true, Secure: r.TLS != nil,
		SameSite: http.SameSiteLaxMode, MaxAge: int(s.Auth.SessionLifetime.Seconds())})
}

func (s *Server) clearSessionCookie(w http.ResponseWriter, r *http.Request) {
	for _, n := range []string{cookiePlain, cookieTLS} {
		if _, err := r.Cookie(n); err == nil {
			http.SetCookie(w, &http.Cookie{Name: n, Value: "", Path: "/", HttpOnly: true, Secure: n == cookieTLS, SameSite: http.SameSiteLaxMode, MaxAge: -1})
		}
	}
}

func sessionToken(r *http.Request) string {
	if r.TLS != nil {
		if c, err := r.Cookie(cookieTLS); err == nil {
			return c.Value
		}
	}
	if c, err := r.Cookie(cookiePlain); err == nil {
		return c.Value
	}
	return ""
}

// owner is the logged-in owner of a request that passed requireOwner.
func owner(r *http.Request) *app.Owner {
	o, _ := r.Context().Value(ownerKey).(*app.Owner)
	return o
}

func sessionOf(r *http.Request) *app.Session {
	s, _ := r.Context().Value(sessionKey).(*app.Session)
	return s
}

// requireOwner loads the session; without one, pages redirect to the login
// (or to setup on a fresh install) and API calls get 401.
func (s *Server) requireOwner(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		o, sess, err := s.Auth.SessionOwner(r.Context(), sessionToken(r))
		if err != nil {
			if wantsJSON(r) {
				s.error(w, r, err)
				return
			}
			if open, _ := s.Auth.SetupOpen(r.Context()); open {
				http.Redirect(w, r, "/setup", http.StatusSeeOther)
				return
			}
			s.clearSessionCookie(w, r)
			target := "/login"
			if r.Method == http.MethodGet && r.URL.Path != "/" {
				target += "?next=" + url.QueryEscape(r.URL.RequestURI())
			}
			http.Redirect(w, r, target, http.StatusSeeOther)
			return
		}
		next(w, withValue(withValue(r, ownerKey, o), sessionKey, sess))
	}
}

// requireAdmin is requireOwner plus the admin flag.
func (s *Server) requireAdmin(next http.HandlerFunc) http.HandlerFunc {
	return s.requireOwner(func(w http.ResponseWriter, r *http.Request) {
		if !owner(r).Admin {
			s.error(w, r, app.Errorf(app.EFORBIDDEN, "Only an admin can open this page."))
			return
		}
		next(w, r)
	})
}

// Form bodies are small; a larger one is refused before it is read.
const maxFormBytes = 64 << 10

// parseForm reads a urlencoded form of at most maxFormBytes.
func parseForm(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		var mbe *http.MaxBytesError
		if asMaxBytes(err, &mbe) {
			return app.Errorf(app.ETOOLARGE, "The form is larger than %d KB.", maxFormBytes>>10)
		}
		return app.Errorf(app.EINVALID, "The form could not be read.")
	}
	return nil
}

func wantsJSON(r *http.Request) bool {
	return strings.HasPrefix(r.URL.Path, "/api/") || strings.Contains(r.Header.Get("Accept"), "application/json")
}

// safeNext keeps a post-login redirect on this site. Browsers read a
// backslash as a slash and drop tabs and newlines, so "/\\x" and "/\t/x"
// would both mean "//x", another host: refuse them along with "//".
func safeNext(next string) string {
	if next == "" || next[0] != '/' || strings.HasPrefix(next, "//") || strings.ContainsRune(next, '\\') {
		return "/"
	}
	for _, c := range next {
		if c < 0x20 || c == 0x7f {
			return "/"
		}
	}
	if u, err := url.Parse(next); err != nil || u.Scheme != "" || u.Host != "" {
		return "/"
	}
	return next
}

// loginAction is the login form's target, carrying an on-site next.
func loginAction(r *http.Request) string {
	if next := r.URL.Query().Get("next"); next != "" && safeNext(next) == next {
		return "/login?next=" + url.QueryEscape(next)
	}
	return "/login"
}

// baseURL is where links in e-mails and hand-over links point.
func (s *Server) baseURL(r *http.Request) string {
	if s.Config.PublicURL != "" {
		return strings.TrimRight(s.Config.PublicURL, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// ClientIP is the address of a request's client as the console sees it
// (behind a trusted proxy, the forwarded one), for other handlers to share.
func (s *Server) ClientIP(r *http.Request) string { return s.clientIP(r) }
