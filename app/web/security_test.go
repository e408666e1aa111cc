package web_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"thinx/app"
	"thinx/app/store"
	"thinx/app/transform"
)

// world is a console with three owners, keys, an avatar, a pending
// invitation and audit entries: enough for every route to have something
// to act on.
type world struct {
	*env
	admin, ann, bob *app.Owner
	adminKey        *app.APIKey
	annKey          *app.APIKey
	invite          string // a valid invitation token
	clients         map[string]*client
	adminDevs       adminDevices
	transformer     string // one of the admin's transformers
}

func newWorld(t *testing.T, opts ...envOption) *world {
	t.Helper()
	e := newEnv(t, opts...)
	w := &world{env: e, admin: e.owner("admin@example.com", true), ann: e.owner("ann@example.com", false), bob: e.owner("bob@example.com", false)}
	ctx := context.Background()
	var err error
	var adminKey string
	if adminKey, w.adminKey, err = e.auth.CreateKey(ctx, w.admin.ID, "admin key", "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	if _, w.annKey, err = e.auth.CreateKey(ctx, w.ann.ID, "ann key", "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	if _, w.invite, _, err = e.auth.Invite(ctx, w.admin, "invited@example.com", "", false, "192.0.2.1", "http://x"); err != nil {
		t.Fatal(err)
	}
	if err := e.auth.SetAvatar(ctx, w.admin.ID, pngBytes(t, 16, 16), ""); err != nil {
		t.Fatal(err)
	}
	w.adminDevs = newAdminDevices(t, e, w.admin, adminKey, w.bob.Email)
	tr, err := e.srv.Transformers.Save(ctx, w.admin.ID, "", "Admin battery", transform.Examples()[0].Source, "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	w.transformer = tr.ID
	w.clients = map[string]*client{"admin": e.login(w.admin.Email), "ann": e.login(w.ann.Email), "bob": e.login(w.bob.Email)}
	return w
}

// fill gives a route pattern's wildcards values that exist.
func (w *world) fill(r route) string {
	id := strconv.FormatInt(w.adminKey.ID, 10)
	owner := w.ann.ID
	return r.path(map[string]string{"id": map[bool]string{true: owner, false: id}[strings.HasPrefix(r.pattern, "/admin/owners/")], "token": w.invite,
		"udid": w.adminDevs.udid, "mesh": w.adminDevs.mesh, "transfer": w.adminDevs.transfer, "notification": w.adminDevs.notification,
		"transformer": w.transformer})
}

// fullForm has every field any console form reads, with values that would
// change something if the request were accepted.
func (w *world) fullForm() url.Values {
	return url.Values{
		"email": {w.admin.Email}, "name": {"Changed"}, "password": {"a new passphrase"}, "password2": {"a new passphrase"},
		"current": {testPassword}, "alias": {"planted"}, "admin": {"1"}, "notify_builds": {"1"},
	}
}

// TestGETChangesNothing walks every GET route of routes.go and every
// section as a visitor, an owner and an admin: the database must be byte
// for byte the same afterwards.
func TestGETChangesNothing(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	before := w.checksum()
	wrote := w.watchWrites()
	for _, r := range routesFromSource(t) {
		if r.method != "GET" {
			continue
		}
		for _, who := range []string{"", "ann", "admin"} {
			c := w.client()
			if who != "" {
				c = w.clients[who]
			}
			for _, p := range []string{w.fill(r), w.fill(r) + "?all=1&kind=setup&offset=50"} {
				// Time passes, but less than the minute after which a
				// session's expiry legitimately slides.
				w.clock.Add(100 * time.Millisecond)
				res := c.get(p)
				if res.status >= 500 {
					t.Errorf("GET %s as %q: %d", p, who, res.status)
				}
			}
		}
	}
	if wrote() {
		t.Error("a GET request wrote to the database")
	}
	if after := w.checksum(); after != before {
		t.Error("a GET request changed the database")
	}
	if !w.auth.LinkValid(t.Context(), w.invite, app.TokenInvite) {
		t.Error("viewing an invitation link used it up")
	}
}

// TestCrossOriginRefused posts to every state-changing route from another
// site, as an admin, with a form that would change things: 403 and no
// change, both for an Origin header and for Sec-Fetch-Site.
func TestCrossOriginRefused(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	before := w.checksum()
	posts := 0
	for _, r := range routesFromSource(t) {
		if r.method == "GET" {
			continue
		}
		posts++
		for _, h := range [][2]string{{"Origin", "http://evil.example"}, {"Sec-Fetch-Site", "cross-site"}, {"Sec-Fetch-Site", "same-site"}} {
			res := w.clients["admin"].post(w.fill(r), w.fullForm(), h[0], h[1])
			if res.status != http.StatusForbidden || !strings.Contains(res.body, "sent from another site") {
				t.Errorf("%s %s with %s: %s: %d, want 403", r.method, w.fill(r), h[0], h[1], res.status)
			}
		}
	}
	if posts < 10 {
		t.Fatalf("only %d state-changing routes found", posts)
	}
	if w.checksum() != before {
		t.Fatal("a cross-site request changed the database")
	}

	// The same request from the console itself goes through.
	for _, h := range [][2]string{{"Origin", w.ts.URL}, {"Sec-Fetch-Site", "same-origin"}} {
		res := w.clients["admin"].post("/keys", url.Values{"alias": {"ok " + h[0]}}, h[0], h[1])
		if res.status != 200 || !strings.Contains(res.body, "API key created.") {
			t.Errorf("same-origin POST with %s: %d", h[0], res.status)
		}
	}
	if w.checksum() == before {
		t.Error("same-origin POSTs changed nothing: the check above proves nothing")
	}
}

// TestOversizedForms: every form larger than 64 KB is refused with 413
// before it is read. Each POST route must be classified here, so a new one
// cannot slip past this test.
func TestOversizedForms(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	noBody := map[string]bool{
		"/logout": true, "/logout/everywhere": true, "/keys/{id}/revoke": true,
		"/admin/owners/{id}/disable": true, "/admin/owners/{id}/enable": true, "/admin/owners/{id}/reset": true,
	}
	big := "alias=" + strings.Repeat("a", 70<<10)
	before := w.checksum()
	for _, r := range routesFromSource(t) {
		switch {
		case r.method == "GET" || noBody[r.pattern]:
			continue
		case r.pattern == "/profile/avatar":
			continue // multipart, tested with the avatar
		}
		for _, who := range []string{"admin", ""} {
			c := w.client()
			if who != "" {
				c = w.clients[who]
			}
			res := c.do(r.method, w.fill(r), strings.NewReader(big), map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
			if res.status == 303 && who == "" {
				continue // a logged-in page redirects visitors before reading
			}
			if res.status != http.StatusRequestEntityTooLarge || !strings.Contains(res.body, "larger than 64 KB") {
				t.Errorf("POST %s (%q) with 70 KB: %d, want 413", r.pattern, who, res.status)
			}
		}
	}
	if w.checksum() != before {
		t.Error("an oversized form changed the database")
	}

	// Setup is only open on an empty server.
	e := newEnv(t)
	res := e.client().do("POST", "/setup", strings.NewReader(big), map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
	if res.status != 413 {
		t.Errorf("POST /setup with 70 KB: %d", res.status)
	}
	// Just under the limit is fine.
	ok := "alias=" + strings.Repeat("a", 60<<10)
	if res := w.clients["ann"].do("POST", "/keys", strings.NewReader(ok), map[string]string{"Content-Type": "application/x-www-form-urlencoded"}); res.status == 413 {
		t.Error("a 60 KB form was refused")
	}
}

// TestSecondOwnerIsRefused: ann reaches for the admin's things.
func TestSecondOwnerIsRefused(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	adminKey := strconv.FormatInt(w.adminKey.ID, 10)
	before := w.checksum()
	run(t, w.env, w.clients, []scenario{
		{name: "revoke another owner's key", as: "ann", method: "POST", path: "/keys/" + adminKey + "/revoke", status: 404, want: []string{"API key not found."}},
		{name: "revoke a key that never existed", as: "ann", method: "POST", path: "/keys/999999/revoke", status: 404},
		{name: "revoke a malformed id", as: "ann", method: "POST", path: "/keys/abc/revoke", status: 404},
		{name: "admin page", as: "ann", path: "/admin", status: 403, want: []string{"Only an admin"}, forbid: []string{w.admin.ID}},
		{name: "invite", as: "ann", method: "POST", path: "/admin/owners", form: url.Values{"email": {"x@example.com"}}, status: 403},
		{name: "disable the admin", as: "ann", method: "POST", path: "/admin/owners/" + w.admin.ID + "/disable", status: 403},
		{name: "enable", as: "ann", method: "POST", path: "/admin/owners/" + w.bob.ID + "/enable", status: 403},
		{name: "reset link", as: "ann", method: "POST", path: "/admin/owners/" + w.admin.ID + "/reset", status: 403, forbid: []string{"/reset/"}},
		{name: "keys list shows only hers", as: "ann", path: "/keys", status: 200, want: []string{"ann key", w.ann.ID}, forbid: []string{"admin key", w.admin.ID}},
		{name: "keys JSON shows only hers", as: "ann", path: "/api/keys", status: 200, want: []string{"ann key"}, forbid: []string{"admin key"}},
		{name: "all=1 is for admins", as: "ann", path: "/audit?all=1", status: 200, want: []string{"ann key"}, forbid: []string{"admin key", "invited@example.com", "All owners"}},
		{name: "avatar is hers (none)", as: "ann", path: "/profile/avatar", status: 404},
		{name: "admin sees all with all=1", as: "admin", path: "/audit?all=1", status: 200, want: []string{"ann key", "admin key"}},
		{name: "admin sees only their own without", as: "admin", path: "/audit", status: 200, want: []string{"admin key"}, forbid: []string{"ann key"}},
	})
	if w.checksum() != before {
		t.Error("a refused request changed the database")
	}
}

var (
	scriptTag = regexp.MustCompile(`(?is)<script\b([^>]*)>`)
	eventAttr = regexp.MustCompile(`(?i)<[^>]+\son[a-z]+\s*=`)
	styleAttr = regexp.MustCompile(`(?i)<[^>]+\sstyle\s*=`)
	jsURL     = regexp.MustCompile(`(?i)(href|src|action)\s*=\s*["']?\s*javascript:`)
	assetURL  = regexp.MustCompile(`/assets/([0-9a-f]{12})/([A-Za-z0-9_./-]+)`)
)

// checkPage holds what every HTML page must satisfy under the CSP.
func checkPage(t *testing.T, what string, res *resp) {
	t.Helper()
	h := res.header
	csp := h.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'self'", "script-src 'self'", "frame-ancestors 'none'", "object-src 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("%s: CSP %q lacks %s", what, csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("%s: CSP allows inline code: %s", what, csp)
	}
	if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("X-Frame-Options") != "DENY" || h.Get("Referrer-Policy") == "" {
		t.Errorf("%s: headers %v", what, h)
	}
	if !strings.HasPrefix(h.Get("Content-Type"), "text/html") {
		return
	}
	for _, m := range scriptTag.FindAllStringSubmatch(res.body, -1) {
		if !regexp.MustCompile(`\ssrc=`).MatchString(" " + m[1]) {
			t.Errorf("%s: inline <script%s> (the CSP would block it)", what, m[1])
		}
	}
	for _, re := range []*regexp.Regexp{eventAttr, styleAttr, jsURL} {
		if m := re.FindString(res.body); m != "" {
			t.Errorf("%s: inline code the CSP blocks: %s", what, m)
		}
	}
	if res.status == 200 && !strings.Contains(res.body, "<!doctype html>") {
		t.Errorf("%s: not a full page", what)
	}
}

// TestEveryPageHeadersAndNoInlineScript renders every GET route, every
// section and the error pages, for each kind of visitor.
func TestEveryPageHeadersAndNoInlineScript(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	pages := 0
	for _, r := range routesFromSource(t) {
		if r.method != "GET" {
			continue
		}
		for _, who := range []string{"", "ann", "admin"} {
			c := w.client()
			if who != "" {
				c = w.clients[who]
			}
			p := w.fill(r)
			res := c.get(p)
			checkPage(t, "GET "+p+" as "+who, res)
			if strings.HasPrefix(res.header.Get("Content-Type"), "text/html") {
				pages++
			}
		}
	}
	// Error pages and pages with messages.
	for _, p := range []string{"/no/such/page", "/invite/not-a-token", "/%3Cscript%3Ealert(1)%3C/script%3E"} {
		for _, who := range []string{"", "ann"} {
			c := w.client()
			if who != "" {
				c = w.clients[who]
			}
			res := c.get(p)
			checkPage(t, "GET "+p+" as "+who, res)
			if strings.Contains(res.body, "<script>alert") {
				t.Errorf("%s: the path is echoed unescaped", p)
			}
		}
	}
	res := w.clients["ann"].post("/keys", url.Values{"alias": {`<script>alert(1)</script>`}})
	checkPage(t, "new key page", res)
	if strings.Contains(res.body, "<script>alert") {
		t.Error("the alias is echoed unescaped")
	}
	res = w.client().post("/login", url.Values{"email": {`"><script>alert(1)</script>`}, "password": {"x"}})
	checkPage(t, "failed login", res)
	if strings.Contains(res.body, "<script>alert") {
		t.Error("the login e-mail is echoed unescaped")
	}
	if pages < 20 {
		t.Errorf("only %d HTML pages checked", pages)
	}

	tlsEnv := newEnv(t, withTLS())
	if res := tlsEnv.client().get("/login"); !strings.Contains(res.header.Get("Strict-Transport-Security"), "max-age=") {
		t.Error("no HSTS over TLS")
	}
}

// TestAssetsAreHashedAndImmutable follows every asset URL of a page.
func TestAssetsAreHashedAndImmutable(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	page := w.clients["ann"].get("/keys")
	urls := assetURL.FindAllStringSubmatch(page.body, -1)
	if len(urls) < 4 {
		t.Fatalf("page links %d assets, want CSS, htmx, its SSE extension, app.js and the icon", len(urls))
	}
	anon := w.client()
	seen := map[string]bool{}
	for _, m := range urls {
		u, hash, name := m[0], m[1], m[2]
		if seen[u] {
			continue
		}
		seen[u] = true
		res := anon.get(u)
		sum := sha256.Sum256([]byte(res.body))
		if res.status != 200 || hex.EncodeToString(sum[:])[:12] != hash {
			t.Errorf("%s: %d, content hash %x", u, res.status, sum[:6])
		}
		if cc := res.header.Get("Cache-Control"); !strings.Contains(cc, "immutable") || !strings.Contains(cc, "max-age=31536000") {
			t.Errorf("%s: Cache-Control %q", u, cc)
		}
		ct := res.header.Get("Content-Type")
		if (strings.HasSuffix(name, ".js") && !strings.Contains(ct, "javascript")) || (strings.HasSuffix(name, ".css") && !strings.HasPrefix(ct, "text/css")) {
			t.Errorf("%s: Content-Type %q", u, ct)
		}
		stale := anon.get("/assets/000000000000/" + name)
		if stale.status != 200 || strings.Contains(stale.header.Get("Cache-Control"), "immutable") {
			t.Errorf("%s with a stale hash: %d %q; want the file, not cached forever", name, stale.status, stale.header.Get("Cache-Control"))
		}
		notMod := anon.do("GET", u, nil, map[string]string{"If-None-Match": `"` + hash + `"`})
		if notMod.status != http.StatusNotModified {
			t.Errorf("%s revalidation: %d", u, notMod.status)
		}
	}
	for _, p := range []string{"/assets/", "/assets/abc", "/assets/000000000000/nope.js"} {
		if res := anon.get(p); res.status != 404 {
			t.Errorf("GET %s: %d, want 404", p, res.status)
		}
	}
}

// TestDisabledOwnerIsLockedOut: the admin disables ann in the console; her
// open session stops working at once and she cannot log in again.
func TestDisabledOwnerIsLockedOut(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ann := w.clients["ann"]
	if res := ann.get("/keys"); res.status != 200 {
		t.Fatal("ann is not logged in")
	}
	res := w.clients["admin"].post("/admin/owners/"+w.ann.ID+"/disable", nil)
	if res.status != 303 || res.header.Get("Location") != "/admin" {
		t.Fatalf("disable: %d", res.status)
	}
	if res := w.clients["admin"].get("/admin"); !strings.Contains(res.body, "their sessions have ended") || !strings.Contains(res.body, "disabled") {
		t.Error("admin page does not confirm")
	}
	if res := ann.get("/keys"); res.status != 303 || !strings.HasPrefix(res.header.Get("Location"), "/login") {
		t.Errorf("disabled owner's session: %d", res.status)
	}
	if res := ann.get("/api/keys"); res.status != 401 {
		t.Errorf("disabled owner's API call: %d", res.status)
	}
	if res := w.client().post("/login", url.Values{"email": {w.ann.Email}, "password": {testPassword}}); res.status != 401 || !strings.Contains(res.body, "Wrong e-mail address or password.") {
		t.Errorf("disabled owner's login: %d", res.status)
	}
	if res := w.clients["admin"].post("/admin/owners/"+w.admin.ID+"/disable", nil); res.status != 422 || !strings.Contains(res.body, "cannot disable your own") {
		t.Errorf("admin disabling self: %d", res.status)
	}
	if res := w.clients["admin"].post("/admin/owners/"+strings.Repeat("0", 64)+"/disable", nil); res.status != 404 {
		t.Errorf("disabling nobody: %d", res.status)
	}
	// A session row that survives the disabling (another process) is refused too.
	_ = w.db.Update(t.Context(), func(tx *store.Tx) error { return tx.SetOwnerDisabled(w.bob.ID, true) })
	if res := w.clients["bob"].get("/keys"); res.status != 303 {
		t.Errorf("disabled owner's surviving session: %d", res.status)
	}
	if res := w.clients["admin"].post("/admin/owners/"+w.ann.ID+"/enable", nil); res.status != 303 {
		t.Fatalf("enable: %d", res.status)
	}
	w.login(w.ann.Email)
}
