package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"thinx/app"
	"thinx/app/auth"
	"thinx/app/config"
)

func TestFirstRunSetup(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	form := func(email, pw, pw2 string) url.Values {
		return url.Values{"email": {email}, "name": {"Ada"}, "password": {pw}, "password2": {pw2}}
	}
	run(t, e, nil, []scenario{
		{name: "dashboard sends to setup", path: "/", status: 303, location: "/setup"},
		{name: "login sends to setup", path: "/login", status: 303, location: "/setup"},
		{name: "keys send to setup", path: "/keys", status: 303, location: "/setup"},
		{name: "setup page", path: "/setup", status: 200, want: []string{"Create administrator", `action="/setup"`, "no accounts yet"}},
		{name: "passwords differ", method: "POST", path: "/setup", form: form("ada@example.com", testPassword, testPassword+"!"), status: 422,
			want: []string{"The two passwords differ.", `value="ada@example.com"`}},
		{name: "short password", method: "POST", path: "/setup", form: form("ada@example.com", "short", "short"), status: 422, want: []string{"at least 8 characters"}},
		{name: "password over 1024", method: "POST", path: "/setup", form: form("ada@example.com", strings.Repeat("p", 1025), strings.Repeat("p", 1025)), status: 422,
			want: []string{"at most 1024 characters"}},
		{name: "bad address", method: "POST", path: "/setup", form: form("ada", testPassword, testPassword), status: 422, want: []string{"is not an e-mail address"}},
	})
	if n, _ := e.db.OwnerCount(t.Context()); n != 0 {
		t.Fatalf("refused setups created %d owners", n)
	}

	c := e.client()
	r := c.post("/setup", form("Ada@Example.com", testPassword, testPassword))
	if r.status != 303 || r.header.Get("Location") != "/" || r.cookie("thinx_session") == nil {
		t.Fatalf("setup: %d %v %v", r.status, r.header, r.body)
	}
	if r := c.get("/"); r.status != 200 || !strings.Contains(r.body, "Welcome! Your administrator account is ready.") || !strings.Contains(r.body, "Dashboard") {
		t.Fatalf("dashboard after setup: %d\n%s", r.status, excerpt(r.body))
	}
	o, err := e.db.OwnerByEmail(t.Context(), "ada@example.com")
	if err != nil || !o.Admin || o.Name != "Ada" {
		t.Fatalf("first owner: %+v %v", o, err)
	}
	if !strings.HasPrefix(o.PasswordHash, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("stored hash %q is not argon2id m=19 MiB t=2 p=1", o.PasswordHash)
	}

	run(t, e, map[string]*client{"admin": c}, []scenario{
		{name: "later visits get the login page", path: "/", status: 303, location: "/login"},
		{name: "setup is closed", path: "/setup", status: 303, location: "/login"},
		{name: "login page", path: "/login", status: 200, want: []string{`action="/login"`, "Forgot your password?"}},
		{name: "a second setup is refused", method: "POST", path: "/setup", form: form("eve@example.com", testPassword, testPassword), status: 303, location: "/login"},
		{name: "logged in, login page sends on", as: "admin", path: "/login", status: 303, location: "/"},
	})
	if n, _ := e.db.OwnerCount(t.Context()); n != 1 {
		t.Errorf("%d owners after a second setup, want 1", n)
	}
}

func TestSessionCookie(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		opts   []envOption
		cookie string
		other  string
		secure bool
	}{
		{"http", nil, "thinx_session", "__Host-thinx_session", false},
		{"https", []envOption{withTLS()}, "__Host-thinx_session", "thinx_session", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, tc.opts...)
			o := e.owner("ann@example.com", false)
			c := e.client()
			r := c.post("/login", url.Values{"email": {o.Email}, "password": {testPassword}})
			ck := r.cookie(tc.cookie)
			if r.status != 303 || ck == nil {
				t.Fatalf("login: %d, cookies %v", r.status, r.header.Values("Set-Cookie"))
			}
			if !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Secure != tc.secure || ck.Path != "/" || ck.Domain != "" || ck.MaxAge <= 0 {
				t.Errorf("cookie %q: want HttpOnly, SameSite=Lax, Secure=%v, Path=/, no Domain, persistent", r.header.Values("Set-Cookie"), tc.secure)
			}
			if r.cookie(tc.other) != nil {
				t.Errorf("%s cookie set as well", tc.other)
			}
			if e.count(`SELECT COUNT(*) FROM sessions WHERE id = ?`, auth.HashToken(ck.Value)) != 1 {
				t.Error("the cookie does not reference a server-side session row")
			}
			if r := c.get("/keys"); r.status != 200 {
				t.Errorf("the session cookie does not log in: %d", r.status)
			}

			// A new session ID at every login, also over a planted one.
			c2 := e.client()
			u, _ := url.Parse(e.ts.URL)
			c2.hc.Jar.SetCookies(u, []*http.Cookie{{Name: tc.cookie, Value: ck.Value, Path: "/"}})
			r2 := c2.post("/login", url.Values{"email": {o.Email}, "password": {testPassword}})
			if ck2 := r2.cookie(tc.cookie); ck2 == nil || ck2.Value == ck.Value {
				t.Errorf("login kept the session ID it was given")
			}
		})
	}
}

// TestLoginFailuresLookAlike: the same status and the same page for an
// unknown address, a wrong password, a disabled account and an invited
// account without a password.
func TestLoginFailuresLookAlike(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.owner("admin@example.com", true)
	ann := e.owner("ann@example.com", false)
	off := e.owner("off@example.com", false)
	if err := e.auth.SetDisabled(t.Context(), admin, off.ID, true, ""); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := e.auth.Invite(t.Context(), admin, "invited@example.com", "", false, "", ""); err != nil {
		t.Fatal(err)
	}
	var first string
	for _, c := range []struct{ name, email, pw string }{
		{"unknown", "nobody@example.com", testPassword},
		{"wrong password", ann.Email, "wrong password!"},
		{"disabled", off.Email, testPassword},
		{"invited", "invited@example.com", ""},
	} {
		r := e.client().post("/login", url.Values{"email": {c.email}, "password": {c.pw}})
		if r.status != http.StatusUnauthorized || r.cookie("thinx_session") != nil {
			t.Fatalf("%s: status %d", c.name, r.status)
		}
		if !strings.Contains(r.body, "Wrong e-mail address or password.") {
			t.Errorf("%s: message missing", c.name)
		}
		page := strings.ReplaceAll(r.body, c.email, "EMAIL")
		if first == "" {
			first = page
		} else if page != first {
			t.Errorf("%s: the page differs from the unknown-address page", c.name)
		}
	}
}

func TestLoginRateLimit(t *testing.T) {
	t.Parallel()
	t.Run("account", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		ann := e.owner("ann@example.com", false)
		for _, email := range []string{ann.Email, "nobody@example.com"} {
			c := e.client()
			for range e.auth.AccountLimit.Max {
				if r := c.post("/login", url.Values{"email": {email}, "password": {"wrong password"}}); r.status != 401 {
					t.Fatalf("%s: failure answered %d", email, r.status)
				}
			}
			r := c.post("/login", url.Values{"email": {email}, "password": {testPassword}})
			if r.status != http.StatusTooManyRequests || !strings.Contains(r.body, "Too many failed attempts") {
				t.Errorf("%s after %d failures: %d, want 429", email, e.auth.AccountLimit.Max, r.status)
			}
		}
	})
	t.Run("address", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		e.auth.IPLimit = auth.NewLimiter(3, e.auth.IPLimit.Window)
		e.owner("ann@example.com", false)
		c := e.client()
		for i := range 3 {
			c.post("/login", url.Values{"email": {"guess" + string(rune('a'+i)) + "@example.com"}, "password": {"x"}})
		}
		if r := c.post("/login", url.Values{"email": {"ann@example.com"}, "password": {testPassword}}); r.status != 429 {
			t.Errorf("after 3 failures from one address: %d, want 429", r.status)
		}
	})
}

func TestLoginRedirectStaysOnSite(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.owner("ann@example.com", false)
	c := e.login("ann@example.com")
	anon := e.client()
	if r := anon.get("/audit?kind=setup"); r.header.Get("Location") != "/login?next="+url.QueryEscape("/audit?kind=setup") {
		t.Errorf("login redirect: %q", r.header.Get("Location"))
	}
	for next, want := range map[string]string{
		"/keys":                 "/keys",
		"/audit?kind=setup":     "/audit?kind=setup",
		"/@evil.example":        "/@evil.example",
		"":                      "/",
		"keys":                  "/",
		"//evil.example/":       "/",
		"https://evil.example/": "/",
		"javascript:alert(1)":   "/",
		`/\evil.example/`:       "/",
		// Browsers drop tabs and newlines inside URLs: "/\t/x" is "//x".
		"/\t/evil.example/": "/",
		"/\n/evil.example/": "/",
		"/\r/evil.example/": "/",
	} {
		r := c.get("/login?next=" + url.QueryEscape(next))
		if got := r.header.Get("Location"); r.status != 303 || got != want {
			t.Errorf("next=%q: %d to %q, want %q", next, r.status, got, want)
		}
	}
	// The login form carries next through the POST, also after a failure.
	b := e.client()
	r := b.get("/login?next=" + url.QueryEscape("/audit?kind=setup"))
	action := `action="/login?next=` + url.QueryEscape("/audit?kind=setup") + `"`
	if !strings.Contains(r.body, action) {
		t.Errorf("login form lacks %s", action)
	}
	r = b.post("/login?next="+url.QueryEscape("/audit?kind=setup"), url.Values{"email": {"ann@example.com"}, "password": {"wrong"}})
	if !strings.Contains(r.body, action) {
		t.Errorf("login form after a failure lacks %s", action)
	}
	r = b.post("/login?next="+url.QueryEscape("/audit?kind=setup"), url.Values{"email": {"ann@example.com"}, "password": {testPassword}})
	if r.header.Get("Location") != "/audit?kind=setup" {
		t.Errorf("POST /login?next=… went to %q", r.header.Get("Location"))
	}
	if r := e.client().get("/login?next=" + url.QueryEscape("//evil.example/")); strings.Contains(r.body, "evil.example") {
		t.Error("the login form carries an off-site next")
	}
}

func TestLogout(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ann := e.owner("ann@example.com", false)
	c, other := e.login(ann.Email), e.login(ann.Email)
	r := c.post("/logout", nil)
	if r.status != 303 || r.header.Get("Location") != "/login" {
		t.Fatalf("logout: %d %q", r.status, r.header.Get("Location"))
	}
	if ck := r.cookie("thinx_session"); ck == nil || ck.MaxAge >= 0 {
		t.Error("logout does not clear the cookie")
	}
	if r := c.get("/login"); !strings.Contains(r.body, "You are logged out.") {
		t.Error("no logged-out message")
	}
	if r := c.get("/login"); strings.Contains(r.body, "You are logged out.") {
		t.Error("the flash message is shown twice")
	}
	if r := c.get("/keys"); r.status != 303 {
		t.Errorf("logged-out browser still in: %d", r.status)
	}
	if r := other.get("/keys"); r.status != 200 {
		t.Errorf("plain logout ended another browser's session: %d", r.status)
	}
	if n, _ := e.db.SessionCount(t.Context(), ann.ID); n != 1 {
		t.Errorf("%d sessions, want 1", n)
	}
	if r := e.client().post("/logout", nil); r.status != 303 || r.header.Get("Location") != "/login" {
		t.Errorf("anonymous logout: %d", r.status)
	}
}

func TestLogoutEverywhere(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ann := e.owner("ann@example.com", false)
	bob := e.owner("bob@example.com", false)
	c1, c2, cb := e.login(ann.Email), e.login(ann.Email), e.login(bob.Email)
	if r := c2.get("/profile"); !strings.Contains(r.body, "logged in 2 time(s)") {
		t.Errorf("profile does not count sessions:\n%s", excerpt(r.body))
	}
	if r := c1.post("/logout/everywhere", nil); r.status != 303 || r.header.Get("Location") != "/login" {
		t.Fatalf("logout everywhere: %d", r.status)
	}
	for name, c := range map[string]*client{"this browser": c1, "other browser": c2} {
		if r := c.get("/keys"); r.status != 303 {
			t.Errorf("%s still logged in", name)
		}
	}
	if r := cb.get("/keys"); r.status != 200 {
		t.Error("another owner was logged out")
	}
}

func TestPasswordChangeEndsOtherSessions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ann := e.owner("ann@example.com", false)
	c1, c2 := e.login(ann.Email), e.login(ann.Email)
	pw := func(cur, next, next2 string) url.Values {
		return url.Values{"current": {cur}, "password": {next}, "password2": {next2}}
	}
	run(t, e, map[string]*client{"ann": c1}, []scenario{
		{name: "wrong current", as: "ann", method: "POST", path: "/profile/password", form: pw("nope nope", "new passphrase", "new passphrase"), status: 422, want: []string{"The current password is wrong."}},
		{name: "differ", as: "ann", method: "POST", path: "/profile/password", form: pw(testPassword, "new passphrase", "new passphrase2"), status: 422, want: []string{"The two new passwords differ."}},
		{name: "short", as: "ann", method: "POST", path: "/profile/password", form: pw(testPassword, "short", "short"), status: 422, want: []string{"at least 8"}},
	})
	if r := c2.get("/keys"); r.status != 200 {
		t.Fatal("a refused change ended the other session")
	}
	r := c1.post("/profile/password", pw(testPassword, "new passphrase", "new passphrase"))
	if r.status != 303 || r.header.Get("Location") != "/profile" {
		t.Fatalf("change: %d %q\n%s", r.status, r.header.Get("Location"), excerpt(r.body))
	}
	if r := c1.get("/profile"); r.status != 200 || !strings.Contains(r.body, "Password changed.") {
		t.Errorf("the changing browser was logged out: %d", r.status)
	}
	if r := c2.get("/profile"); r.status != 303 {
		t.Errorf("the other browser is still logged in: %d", r.status)
	}
	if r := e.client().post("/login", url.Values{"email": {ann.Email}, "password": {testPassword}}); r.status != 401 {
		t.Errorf("old password: %d", r.status)
	}
	if r := e.client().post("/login", url.Values{"email": {ann.Email}, "password": {"new passphrase"}}); r.status != 303 {
		t.Errorf("new password: %d", r.status)
	}
	if a, _, _ := e.db.Audit(t.Context(), app.AuditFilter{OwnerID: ann.ID, Kind: app.AuditPassword}); len(a) != 1 {
		t.Error("password change not audited")
	}
}

// TestPasswordNotTruncated: 100-character passwords differing only in the
// last character are different passwords.
func TestPasswordNotTruncated(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	long := strings.Repeat("0123456789", 10)
	c := e.client()
	if r := c.post("/setup", url.Values{"email": {"ada@example.com"}, "password": {long}, "password2": {long}}); r.status != 303 {
		t.Fatalf("setup: %d", r.status)
	}
	if r := e.client().post("/login", url.Values{"email": {"ada@example.com"}, "password": {long[:99] + "x"}}); r.status != 401 {
		t.Errorf("last character changed: %d, want 401", r.status)
	}
	if r := e.client().post("/login", url.Values{"email": {"ada@example.com"}, "password": {long}}); r.status != 303 {
		t.Errorf("the right 100 characters: %d", r.status)
	}
}

func TestClientAddressBehindProxy(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		trust bool
		want  string
	}{
		// The proxy appends the address it saw; anything before it came
		// from the client and may be forged.
		{"trusted proxy: the address the proxy appended", true, "198.51.100.7"},
		{"no proxy: the socket address", false, "127.0.0.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, withConfig(func(c *config.Config) { c.TrustProxyHeader = tc.trust }))
			e.client().post("/login", url.Values{"email": {"x@example.com"}, "password": {"x"}}, "X-Forwarded-For", "6.6.6.6, 198.51.100.7")
			a, _, _ := e.db.Audit(t.Context(), app.AuditFilter{Kind: app.AuditLoginFail})
			if len(a) != 1 || a[0].IP != tc.want {
				t.Fatalf("audited address %+v, want %s", a, tc.want)
			}
		})
	}
}
