package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"thinx/app"
	"thinx/app/auth"
	"thinx/app/config"
	"thinx/app/store"
	"thinx/views"
)

func pngBytes(t testing.TB, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(x * 9), uint8(y * 5), 128, 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

var newKeyRE = regexp.MustCompile(`<code id="new-key-value">([0-9a-f]{64})</code>`)

func TestKeysPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ann := e.owner("ann@example.com", false)
	bob := e.owner("bob@example.com", false)
	c := e.login(ann.Email)

	if res := c.get("/keys"); res.status != 200 || !strings.Contains(res.body, "No API keys yet") || !strings.Contains(res.body, ann.ID) {
		t.Fatalf("empty keys page: %d", res.status)
	}
	res := c.post("/keys", url.Values{"alias": {"Greenhouse"}})
	m := newKeyRE.FindStringSubmatch(res.body)
	if res.status != 200 || m == nil {
		t.Fatalf("create key: %d\n%s", res.status, excerpt(res.body))
	}
	key := m[1]
	if !strings.Contains(res.header.Get("Cache-Control"), "no-store") {
		t.Error("the page showing a new key may be cached")
	}
	list := c.get("/keys")
	if strings.Contains(list.body, key) {
		t.Fatal("the key is shown again after creation")
	}
	for _, want := range []string{"Greenhouse", "…" + key[60:], "never", `action="/keys/`} {
		if !strings.Contains(list.body, want) {
			t.Errorf("list lacks %q", want)
		}
	}
	// The plaintext key is nowhere in the database files.
	files, _ := filepath.Glob(e.db.Path() + "*")
	for _, f := range files {
		b, _ := os.ReadFile(f)
		if bytes.Contains(b, []byte(key)) {
			t.Errorf("%s holds the plaintext key", filepath.Base(f))
		}
	}

	// Last used is batched: it shows after the usage is flushed.
	if _, err := e.auth.CheckKey(t.Context(), ann.ID, key, "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(c.get("/keys").body, `datetime="`+views.Rel(t0)+`"`) && strings.Count(c.get("/keys").body, "never") == 0 {
		t.Error("last used shown before the flush")
	}
	e.clock.Add(time.Hour)
	if _, err := e.auth.CheckKey(t.Context(), ann.ID, key, "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	if err := e.auth.FlushUsage(t.Context()); err != nil {
		t.Fatal(err)
	}
	if body := c.get("/keys").body; !strings.Contains(body, views.Exact(t0.Add(time.Hour))) || strings.Contains(body, ">never<") {
		t.Errorf("last used not shown after the flush")
	}

	var js struct {
		Keys []map[string]any `json:"keys"`
	}
	jr := c.get("/api/keys")
	if err := json.Unmarshal([]byte(jr.body), &js); err != nil || len(js.Keys) != 1 {
		t.Fatalf("/api/keys: %v %s", err, jr.body)
	}
	k := js.Keys[0]
	if k["alias"] != "Greenhouse" || k["last4"] != key[60:] || k["revoked"] != false || k["last_used"] != views.Rel(t0.Add(time.Hour)) {
		t.Errorf("/api/keys row = %v", k)
	}
	if strings.Contains(jr.body, key) || strings.Contains(jr.body, auth.HashToken(key)) {
		t.Error("/api/keys exposes the key or its hash")
	}

	id := strconv.FormatInt(int64(k["id"].(float64)), 10)
	bobC := e.login(bob.Email)
	if res := bobC.post("/keys/"+id+"/revoke", nil); res.status != 404 {
		t.Errorf("bob revoking ann's key: %d", res.status)
	}
	if _, err := e.auth.CheckKey(t.Context(), ann.ID, key, "192.0.2.1"); err != nil {
		t.Fatal("ann's key stopped working after bob's attempt")
	}
	res = c.post("/keys/"+id+"/revoke", nil)
	if res.status != 303 || res.header.Get("Location") != "/keys" {
		t.Fatalf("revoke: %d", res.status)
	}
	if body := c.get("/keys").body; !strings.Contains(body, "revoked") || !strings.Contains(body, "Devices using it are refused") {
		t.Error("revoked state not shown")
	}
	if _, err := e.auth.CheckKey(t.Context(), ann.ID, key, "192.0.2.1"); app.ErrorCode(err) != app.EUNAUTHORIZED {
		t.Errorf("revoked key accepted: %v", err)
	}
	audit := c.get("/audit").body
	for _, kind := range []string{app.AuditKeyCreated, app.AuditKeyRevoked, app.AuditKeyRevokedUse} {
		if !strings.Contains(audit, ">"+kind+"<") {
			t.Errorf("audit page lacks %s", kind)
		}
	}
	if res := c.post("/keys", url.Values{"alias": {strings.Repeat("a", 101)}}); res.status != 422 {
		t.Errorf("101-character alias: %d", res.status)
	}
}

func TestProfilePage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ann := e.owner("ann@example.com", false)
	e.owner("bob@example.com", false)
	c := e.login(ann.Email)
	form := func(name, email string, notify ...string) url.Values {
		v := url.Values{"name": {name}, "email": {email}}
		for _, n := range notify {
			v.Set(n, "1")
		}
		return v
	}
	run(t, e, map[string]*client{"ann": c}, []scenario{
		{name: "page", as: "ann", path: "/profile", status: 200, want: []string{`value="ann@example.com"`, "Change password", "Log out everywhere", `enctype="multipart/form-data"`}},
		{name: "another owner's address", as: "ann", method: "POST", path: "/profile", form: form("Ann", "BOB@example.com"), status: 409,
			want: []string{"Another owner already uses bob@example.com."}},
		{name: "not an address", as: "ann", method: "POST", path: "/profile", form: form("Ann", "nope"), status: 422, want: []string{"is not an e-mail address"}},
		{name: "name too long", as: "ann", method: "POST", path: "/profile", form: form(strings.Repeat("n", 201), "ann@example.com"), status: 422},
		{name: "save", as: "ann", method: "POST", path: "/profile", form: form("Ann Example", "ann.new@example.com", "notify_builds", "notify_security"), status: 303, location: "/profile"},
		{name: "saved", as: "ann", path: "/profile", status: 200, want: []string{"Profile saved.", `value="Ann Example"`, `value="ann.new@example.com"`, "Ann Example</div>"}},
	})
	o, _ := e.db.Owner(t.Context(), ann.ID)
	if o.Name != "Ann Example" || o.Email != "ann.new@example.com" || o.Notify != (app.NotifyPrefs{Builds: true, Security: true}) {
		t.Errorf("stored profile: %+v", o)
	}
	a, _, _ := e.db.Audit(t.Context(), app.AuditFilter{OwnerID: ann.ID, Kind: app.AuditProfile})
	if len(a) != 1 || !strings.Contains(a[0].Message, "ann@example.com → ann.new@example.com") {
		t.Errorf("profile audit: %+v", a)
	}
}

// upload posts an avatar file as multipart form data.
func upload(c *client, name string, data []byte) *resp {
	c.t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	fw, _ := mw.CreateFormFile("avatar", name)
	fw.Write(data)
	mw.Close()
	return c.do("POST", "/profile/avatar", &b, map[string]string{"Content-Type": mw.FormDataContentType()})
}

func TestAvatarUpload(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ann := e.owner("ann@example.com", false)
	c := e.login(ann.Email)
	if res := c.get("/profile/avatar"); res.status != 404 {
		t.Errorf("avatar before upload: %d", res.status)
	}
	cases := []struct {
		name   string
		data   []byte
		status int
		want   string
	}{
		{"far too large", bytes.Repeat([]byte{1}, 1<<20), 413, "larger than 256 KB"},
		{"just too large", bytes.Repeat([]byte{1}, auth.MaxAvatarBytes+1), 413, "larger than 256 KB"},
		{"not an image", []byte("GIF89a? no, just text pretending"), 422, "must be a PNG or JPEG"},
		{"empty", nil, 422, ""},
	}
	for _, tc := range cases {
		res := upload(c, "a.png", tc.data)
		if res.status != tc.status || !strings.Contains(res.body, tc.want) {
			t.Errorf("%s: %d, want %d with %q", tc.name, res.status, tc.status, tc.want)
		}
	}
	if res := c.do("POST", "/profile/avatar", strings.NewReader("x=1"), map[string]string{"Content-Type": "application/x-www-form-urlencoded"}); res.status != 422 {
		t.Errorf("no file: %d", res.status)
	}
	if _, _, err := e.db.Avatar(t.Context(), ann.ID); err == nil {
		t.Fatal("a refused upload was stored")
	}

	img := pngBytes(t, 48, 32)
	res := upload(c, "me.png", img)
	if res.status != 303 || res.header.Get("Location") != "/profile" {
		t.Fatalf("upload: %d\n%s", res.status, excerpt(res.body))
	}
	got := c.get("/profile/avatar")
	if got.status != 200 || got.header.Get("Content-Type") != "image/png" {
		t.Fatalf("serve avatar: %d %q", got.status, got.header.Get("Content-Type"))
	}
	dec, err := png.Decode(strings.NewReader(got.body))
	if err != nil || dec.Bounds().Dx() != 48 || dec.Bounds().Dy() != 32 {
		t.Errorf("served avatar: %v %v", dec.Bounds(), err)
	}
	stored, ct, err := e.db.Avatar(t.Context(), ann.ID)
	if err != nil || ct != "image/png" || string(stored) != got.body {
		t.Error("the served avatar is not the stored one")
	}
	if page := c.get("/profile").body; !strings.Contains(page, `src="/profile/avatar?v=`) {
		t.Error("profile page does not show the avatar")
	}
}

func TestAdminInvitesWithoutMail(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.owner("admin@example.com", true)
	existing := e.owner("ann@example.com", false)
	c := e.login(admin.Email)
	if res := c.get("/admin"); res.status != 200 || !strings.Contains(res.body, "E-mail is not configured") || !strings.Contains(res.body, "AB:CD:EF") || !strings.Contains(res.body, "test-version") {
		t.Fatalf("admin page: %d", res.status)
	}
	res := c.post("/admin/owners", url.Values{"email": {"ANN@example.com"}, "name": {"Dup"}})
	if res.status != 409 || !strings.Contains(res.body, "An owner with the e-mail address ann@example.com already exists.") {
		t.Errorf("inviting an existing address: %d\n%s", res.status, excerpt(res.body))
	}
	if res := c.post("/admin/owners", url.Values{"email": {"not an address"}}); res.status != 422 {
		t.Errorf("inviting a non-address: %d", res.status)
	}

	res = c.post("/admin/owners", url.Values{"email": {"new@example.com"}, "name": {"New"}})
	if res.status != 200 || !strings.Contains(res.body, "Invitation for new@example.com created.") {
		t.Fatalf("invite: %d\n%s", res.status, excerpt(res.body))
	}
	link := linkIn(t, res.body, "invite")
	if !strings.Contains(res.body, e.ts.URL+link) {
		t.Error("the link shown is not absolute")
	}
	if body := c.get("/admin").body; strings.Contains(body, link) || !strings.Contains(body, "invited") {
		t.Error("the link is shown again, or the owner is not marked invited")
	}

	// The invited person follows the link.
	guest := e.client()
	if res := guest.get(link); res.status != 200 || !strings.Contains(res.body, "Choose your password") {
		t.Fatalf("invitation page: %d", res.status)
	}
	if res := guest.post(link, url.Values{"password": {"a fine passphrase"}, "password2": {"another"}}); res.status != 422 {
		t.Errorf("mismatched passwords: %d", res.status)
	}
	res = guest.post(link, url.Values{"password": {"a fine passphrase"}, "password2": {"a fine passphrase"}})
	if res.status != 303 || res.cookie("thinx_session") == nil {
		t.Fatalf("accept: %d", res.status)
	}
	if res := guest.get("/keys"); res.status != 200 || !strings.Contains(res.body, "new@example.com") && !strings.Contains(res.body, "New") {
		t.Errorf("not logged in after accepting: %d", res.status)
	}
	if res := e.client().get(link); res.status != 404 || !strings.Contains(res.body, "This link does not work") {
		t.Errorf("used link: %d", res.status)
	}
	if res := e.client().post(link, url.Values{"password": {"x passphrase"}, "password2": {"x passphrase"}}); res.status != 422 || !strings.Contains(res.body, "invalid or has expired") {
		t.Errorf("reusing a link: %d", res.status)
	}

	// Valid 7 days, not longer.
	res = c.post("/admin/owners", url.Values{"email": {"late@example.com"}})
	late := linkIn(t, res.body, "invite")
	e.clock.Add(7*24*time.Hour - time.Minute)
	if res := e.client().get(late); res.status != 200 {
		t.Errorf("invitation at 7 days less a minute: %d", res.status)
	}
	e.clock.Add(2 * time.Minute)
	if res := e.client().get(late); res.status != 404 {
		t.Errorf("invitation after 7 days: %d", res.status)
	}
	c = e.login(admin.Email) // the admin's session is 7 days older too

	// Reset link for an owner, handed over the same way.
	res = c.post("/admin/owners/"+existing.ID+"/reset", nil)
	if res.status != 200 || !strings.Contains(res.body, "Reset link for ann@example.com created.") {
		t.Fatalf("reset link: %d", res.status)
	}
	reset := linkIn(t, res.body, "reset")
	annOld := e.login(existing.Email)
	if res := e.client().post(reset, url.Values{"password": {"reset passphrase"}, "password2": {"reset passphrase"}}); res.status != 303 {
		t.Fatalf("use reset link: %d", res.status)
	}
	if res := annOld.get("/keys"); res.status != 303 {
		t.Error("a reset leaves old sessions open")
	}
	if res := e.client().post("/login", url.Values{"email": {existing.Email}, "password": {"reset passphrase"}}); res.status != 303 {
		t.Errorf("login with the reset password: %d", res.status)
	}
	if res := c.post("/admin/owners/"+strings.Repeat("a", 64)+"/reset", nil); res.status != 404 {
		t.Errorf("reset for nobody: %d", res.status)
	}
	kinds := c.get("/audit?all=1").body
	for _, k := range []string{app.AuditOwnerAdded, app.AuditInviteAccepted, app.AuditPasswordReset, app.AuditLoginOK} {
		if !strings.Contains(kinds, ">"+k+"<") {
			t.Errorf("audit lacks %s", k)
		}
	}
	if res := e.client().get("/forgot"); !strings.Contains(res.body, "Ask your administrator") {
		t.Error("forgot page without e-mail does not say to ask the admin")
	}
	if res := e.client().post("/forgot", url.Values{"email": {"ann@example.com"}}); res.status != 501 || !strings.Contains(res.body, "E-mail is not configured") {
		t.Errorf("forgot without e-mail: %d", res.status)
	}
}

func TestMailedInvitationAndReset(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withMail(), withConfig(func(c *config.Config) { c.PublicURL = "https://thinx.example.com/" }))
	admin := e.owner("admin@example.com", true)
	e.owner("ann@example.com", false)
	c := e.login(admin.Email)
	res := c.post("/admin/owners", url.Values{"email": {"new@example.com"}})
	if res.status != 200 || !strings.Contains(res.body, "Invitation e-mailed to new@example.com.") || strings.Contains(res.body, "/invite/") {
		t.Fatalf("mailed invite: %d (the link must not be shown when mailed)\n%s", res.status, excerpt(res.body))
	}
	m := e.mail.next(t)
	if m.To != "new@example.com" || !strings.Contains(m.Data, "https://thinx.example.com/invite/") {
		t.Fatalf("invitation mail: %+v", m)
	}
	if res := e.client().get(linkIn(t, m.Data, "invite")); res.status != 200 {
		t.Errorf("mailed link: %d", res.status)
	}

	// Forgot password: the same answer for a known and an unknown address.
	page := e.client().get("/forgot")
	if !strings.Contains(page.body, `action="/forgot"`) {
		t.Fatal("no reset form although e-mail is on")
	}
	var answers []string
	for _, addr := range []string{"nobody@example.com", "ann@example.com"} {
		g := e.client()
		res := g.post("/forgot", url.Values{"email": {addr}})
		if res.status != 303 || res.header.Get("Location") != "/login" {
			t.Fatalf("forgot %s: %d", addr, res.status)
		}
		answers = append(answers, g.get("/login").body)
	}
	if answers[0] != answers[1] || !strings.Contains(answers[0], "If that address has an account") {
		t.Error("the forgot-password answer differs between a known and an unknown address")
	}
	m = e.mail.next(t)
	if m.To != "ann@example.com" {
		t.Fatalf("reset mail went to %s", m.To)
	}
	e.mail.none(t)
	reset := linkIn(t, m.Data, "reset")
	if res := e.client().post(reset, url.Values{"password": {"mailed passphrase"}, "password2": {"mailed passphrase"}}); res.status != 303 {
		t.Errorf("use mailed reset link: %d", res.status)
	}
}

func TestAuditPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ann := e.owner("ann@example.com", false)
	admin := e.owner("admin@example.com", true)
	day := func(d int) time.Time { return t0.AddDate(0, 0, d) }
	err := e.db.Update(context.Background(), func(tx *store.Tx) error {
		for i := range 120 {
			kind := app.AuditLoginOK
			if i%10 == 0 {
				kind = app.AuditKeyCreated
			}
			msg := fmt.Sprintf("entry %03d", i)
			if err := tx.InsertAudit(&app.AuditEntry{OwnerID: ann.ID, Kind: kind, Message: msg, At: day(-120 + i)}); err != nil {
				return err
			}
		}
		return tx.InsertAudit(&app.AuditEntry{OwnerID: admin.ID, Kind: app.AuditOwnerAdded, Message: "admin secret entry", At: day(-1)})
	})
	if err != nil {
		t.Fatal(err)
	}
	c := e.login(ann.Email) // adds a login.success at t0
	ac := e.login(admin.Email)
	dateOf := func(i int) string { return day(-120 + i).Format("2006-01-02") }
	run(t, e, map[string]*client{"ann": c, "admin": ac}, []scenario{
		{name: "newest first, one page", as: "ann", path: "/audit", status: 200,
			want: []string{"Logged in", "entry 119", "entry 071", "1–50 of 121", "Older →"}, forbid: []string{"entry 070", "← Newer", "admin secret entry"}},
		{name: "second page", as: "ann", path: "/audit?offset=50", status: 200, want: []string{"entry 070", "entry 021", "51–100 of 121", "← Newer", "Older →"}, forbid: []string{"entry 071", "entry 020"}},
		{name: "last page", as: "ann", path: "/audit?offset=100", status: 200, want: []string{"entry 000", "101–121 of 121"}, forbid: []string{"Older →"}},
		{name: "kind", as: "ann", path: "/audit?kind=apikey.created", status: 200, want: []string{"entry 110", "entry 000", "of 12"}, forbid: []string{"entry 111"}},
		{name: "text", as: "ann", path: "/audit?q=entry+05", status: 200, want: []string{"entry 059", "entry 050", "of 10"}, forbid: []string{"entry 060"}},
		{name: "date range, to inclusive", as: "ann", path: "/audit?from=" + dateOf(10) + "&to=" + dateOf(12), status: 200,
			want: []string{"entry 010", "entry 011", "entry 012", "of 3"}, forbid: []string{"entry 013", "entry 009"}},
		{name: "filters survive paging", as: "ann", path: "/audit?q=entry&offset=50", status: 200, want: []string{`q=entry`, "of 120"}},
		{name: "bad date", as: "ann", path: "/audit?from=yesterday", status: 200, want: []string{"must be a date like"}},
		{name: "negative offset", as: "ann", path: "/audit?offset=-10", status: 200, want: []string{"1–50 of 121"}},
		{name: "nothing matches", as: "ann", path: "/audit?q=zzz", status: 200, want: []string{"Nothing matches this filter."}},
		{name: "kinds listed", as: "ann", path: "/audit", status: 200, want: []string{`<option value="apikey.used_after_revoke"`, `<option value="owner.disabled"`}},
		{name: "admin all", as: "admin", path: "/audit?all=1&q=secret", status: 200, want: []string{"admin secret entry", "All owners"}},
		{name: "admin all includes others", as: "admin", path: "/audit?all=1&q=entry+119", status: 200, want: []string{"entry 119"}},
		{name: "admin own", as: "admin", path: "/audit?q=entry+0", status: 200, want: []string{"Nothing matches"}},
	})
}

func TestShell(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	labels := []string{}
	for _, s := range views.Sections {
		labels = append(labels, ">"+s.Label+"</a>")
	}
	for _, who := range []string{"admin", "ann"} {
		body := w.clients[who].get("/keys").body
		last := -1
		for _, l := range labels {
			i := strings.Index(body, l)
			if l == ">Admin</a>" && who == "ann" {
				if i >= 0 {
					t.Error("a non-admin sees the Admin section")
				}
				continue
			}
			if i < 0 || i < last {
				t.Errorf("%s: navigation lacks %s or has it out of order", who, l)
			}
			last = i
		}
	}
	for _, want := range []string{"Dashboard", "Devices", "Sources", "Builds", "Rollouts", "Transformers", "Environment", "API keys", "Audit log", "Profile", "Admin"} {
		if _, ok := sectionByLabel(want); !ok {
			t.Errorf("no %s section", want)
		}
	}
	for _, s := range views.Sections {
		if s.Empty == "" || featurePages[s.Path] {
			continue
		}
		res := w.clients["ann"].get(s.Path)
		if res.status != 200 || !strings.Contains(res.body, "Nothing here yet") || !strings.Contains(res.body, htmlEscape(s.Empty)) {
			t.Errorf("%s: %d, want its empty-state text", s.Path, res.status)
		}
		if !strings.Contains(res.body, `href="`+s.Path+`" aria-current="page"`) {
			t.Errorf("%s is not marked current", s.Path)
		}
		if res := w.client().get(s.Path); res.status != 303 {
			t.Errorf("%s open to visitors: %d", s.Path, res.status)
		}
	}
	if res := w.clients["ann"].get("/no/such/page"); res.status != 404 || !strings.Contains(res.body, "There is no page at /no/such/page.") {
		t.Errorf("404 page: %d", res.status)
	}
	if res := w.clients["ann"].do("GET", "/api/nope", nil, nil); res.status != 404 || !strings.HasPrefix(res.header.Get("Content-Type"), "application/json") {
		t.Errorf("API 404: %d %q", res.status, res.header.Get("Content-Type"))
	}
	if res := w.client().get("/api/keys"); res.status != 401 || !strings.Contains(res.body, `"success":false`) {
		t.Errorf("API without a session: %d %s", res.status, res.body)
	}
}

func sectionByLabel(label string) (views.Section, bool) {
	for _, s := range views.Sections {
		if s.Label == label {
			return s, true
		}
	}
	return views.Section{}, false
}

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;").Replace(s)
}

func TestHealthz(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	res := e.client().get("/healthz")
	if res.status != 200 || res.body != "ok\n" {
		t.Fatalf("healthz: %d %q", res.status, res.body)
	}
	e.db.Close()
	if res := e.client().get("/healthz"); res.status != http.StatusServiceUnavailable {
		t.Errorf("healthz with the database closed: %d, want 503", res.status)
	}
}

// TestMetrics calls the handler directly with crafted client addresses.
func TestMetrics(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.owner("admin@example.com", true)
	ann := e.owner("ann@example.com", false)
	cookie := func(email string) string {
		tok, _, err := e.auth.Login(t.Context(), email, testPassword, "192.0.2.1", "")
		if err != nil {
			t.Fatal(err)
		}
		return "thinx_session=" + tok
	}
	adminCookie, annCookie := cookie(admin.Email), cookie(ann.Email)
	e.client().get("/healthz")
	e.client().get("/no/such/page")

	proxied := newEnv(t, withConfig(func(c *config.Config) { c.TrustProxyHeader = true }))
	for _, tc := range []struct {
		name   string
		env    *env
		remote string
		cookie string
		header [2]string
		status int
	}{
		{"loopback v4", e, "127.0.0.1:5555", "", [2]string{}, 200},
		{"loopback v6", e, "[::1]:5555", "", [2]string{}, 200},
		{"remote visitor", e, "203.0.113.9:5555", "", [2]string{}, 403},
		{"remote owner", e, "203.0.113.9:5555", annCookie, [2]string{}, 403},
		{"remote admin", e, "203.0.113.9:5555", adminCookie, [2]string{}, 200},
		{"remote with a forged header, no proxy", e, "203.0.113.9:5555", "", [2]string{"X-Forwarded-For", "127.0.0.1"}, 403},
		{"behind a local proxy, remote client", proxied, "127.0.0.1:5555", "", [2]string{"X-Forwarded-For", "203.0.113.9"}, 403},
		{"behind a local proxy, forged loopback", proxied, "127.0.0.1:5555", "", [2]string{"X-Forwarded-For", "127.0.0.1, 203.0.113.9"}, 403},
	} {
		req := httptest.NewRequest("GET", "/metrics", nil)
		req.RemoteAddr = tc.remote
		if tc.cookie != "" {
			req.Header.Set("Cookie", tc.cookie)
		}
		if tc.header[0] != "" {
			req.Header.Set(tc.header[0], tc.header[1])
		}
		rec := httptest.NewRecorder()
		tc.env.srv.ServeHTTP(rec, req)
		if rec.Code != tc.status {
			t.Errorf("%s: %d, want %d", tc.name, rec.Code, tc.status)
			continue
		}
		if tc.status != 200 {
			if strings.Contains(rec.Body.String(), "process_") {
				t.Errorf("%s: metrics in a refusal", tc.name)
			}
			continue
		}
		body := rec.Body.String()
		for _, want := range []string{
			"# TYPE process_resident_memory_bytes gauge", "process_cpu_seconds_total ", "process_start_time_seconds ", "go_goroutines ",
			`thinx_http_requests_total{route="GET /healthz",code="200"} `, `thinx_http_requests_total{route="/",code="404"} `,
			"# TYPE thinx_http_request_duration_seconds histogram", `thinx_http_request_duration_seconds_bucket{route="GET /healthz",le="+Inf"} `,
		} {
			if tc.env == e && !strings.Contains(body, want) {
				t.Errorf("%s: metrics lack %q", tc.name, want)
			}
		}
		if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
			t.Errorf("%s: Content-Type %q", tc.name, ct)
		}
		if m := regexp.MustCompile(`(?m)^process_resident_memory_bytes (\d+(\.\d+)?(e\+\d+)?)$`).FindStringSubmatch(body); m == nil {
			t.Errorf("%s: no resident memory value", tc.name)
		} else if v, _ := strconv.ParseFloat(m[1], 64); v < 1<<20 {
			t.Errorf("%s: resident memory %v bytes is implausible", tc.name, v)
		}
	}
}
