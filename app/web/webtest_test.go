package web_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/textproto"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"thinx/app"
	"thinx/app/auth"
	"thinx/app/config"
	"thinx/app/devices"
	"thinx/app/events"
	"thinx/app/store"
	"thinx/app/transform"
	"thinx/app/web"
	"thinx/views"
)

// t0 is the fixed start of every test clock. A fixed clock also means
// sessions are never slid forward during a test, so a GET that writes
// anything at all shows up in a checksum.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// testPassword is the password of owners made by env.owner; its argon2
// hash is computed once per test binary.
const testPassword = "correct horse battery staple"

var testHash = sync.OnceValue(func() string { return auth.HashPassword(testPassword) })

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// env is a console on a real database in a temporary directory, served on
// a real loopback socket.
type env struct {
	t     testing.TB
	db    *store.DB
	auth  *auth.Service
	dev   *devices.Service
	bus   *events.Bus
	srv   *web.Server
	ts    *httptest.Server
	clock *clock
	mail  *smtpSink
}

type envOption func(*envOptions)

type envOptions struct {
	tls  bool
	mail bool
	cfg  func(*config.Config)
}

func withTLS() envOption  { return func(o *envOptions) { o.tls = true } }
func withMail() envOption { return func(o *envOptions) { o.mail = true } }
func withConfig(f func(*config.Config)) envOption {
	return func(o *envOptions) { o.cfg = f }
}

func newEnv(t testing.TB, opts ...envOption) *env {
	t.Helper()
	var o envOptions
	for _, f := range opts {
		f(&o)
	}
	db, err := store.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	c := &clock{t: t0}
	db.Now = c.Now
	log := slog.New(slog.DiscardHandler)
	svc := auth.NewService(db, log)
	for _, l := range []*auth.Limiter{svc.AccountLimit, svc.IPLimit, svc.KeyLimit} {
		l.Now = c.Now
	}
	e := &env{t: t, db: db, auth: svc, clock: c}
	if o.mail {
		e.mail = newSMTPSink(t)
		svc.Mailer = &auth.SMTPMailer{Host: e.mail.Host, Port: e.mail.Port, From: "thinx@example.com"}
	}
	cfg := config.Default()
	if o.cfg != nil {
		o.cfg(&cfg)
	}
	e.bus = events.NewBus()
	e.dev = devices.New(db, svc, e.bus, log)
	// Transformers run in-process here: the worker processes have their own
	// tests in app/transform, and these tests run only trusted examples.
	engine, err := transform.NewEngine(transform.Options{InProcess: true, Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { engine.Close() })
	e.srv = &web.Server{DB: db, Auth: svc, Config: cfg, Log: log, Version: "test-version", CertFingerprint: "AB:CD:EF",
		Devices: e.dev, Events: e.bus, Transformers: transform.NewService(db, engine, log)}
	e.srv.Init()
	if o.tls {
		e.ts = httptest.NewTLSServer(e.srv)
	} else {
		e.ts = httptest.NewServer(e.srv)
	}
	t.Cleanup(e.ts.Close)
	return e
}

// owner inserts an owner whose password is testPassword.
func (e *env) owner(email string, admin bool) *app.Owner {
	e.t.Helper()
	b := make([]byte, 32)
	rand.Read(b)
	o := &app.Owner{ID: hex.EncodeToString(b), Email: email, Admin: admin, PasswordHash: testHash()}
	if err := e.db.Update(context.Background(), func(tx *store.Tx) error { return tx.CreateOwner(o) }); err != nil {
		e.t.Fatal(err)
	}
	return o
}

// client is a browser: a cookie jar that does not follow redirects, so
// tests see every status code.
type client struct {
	t    testing.TB
	hc   *http.Client
	base string
}

func (e *env) client() *client {
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{
		Transport:     e.ts.Client().Transport, // trusts the test server's certificate
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return &client{t: e.t, hc: hc, base: e.ts.URL}
}

// login returns a client logged in as email with testPassword.
func (e *env) login(email string) *client {
	e.t.Helper()
	c := e.client()
	r := c.post("/login", url.Values{"email": {email}, "password": {testPassword}})
	if r.status != http.StatusSeeOther {
		e.t.Fatalf("login %s: status %d\n%s", email, r.status, r.body)
	}
	return c
}

// resp is a response read to the end.
type resp struct {
	status int
	header http.Header
	body   string
}

func (r *resp) cookie(name string) *http.Cookie {
	for _, line := range r.header.Values("Set-Cookie") {
		if c, err := http.ParseSetCookie(line); err == nil && c.Name == name {
			return c
		}
	}
	return nil
}

func (c *client) do(method, path string, body io.Reader, hdr map[string]string) *resp {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return &resp{status: res.StatusCode, header: res.Header, body: string(b)}
}

func (c *client) get(path string) *resp { c.t.Helper(); return c.do("GET", path, nil, nil) }

func (c *client) post(path string, form url.Values, hdr ...string) *resp {
	c.t.Helper()
	h := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	for i := 0; i+1 < len(hdr); i += 2 {
		h[hdr[i]] = hdr[i+1]
	}
	return c.do("POST", path, strings.NewReader(form.Encode()), h)
}

// scenario is one request and what its answer must and must not hold.
type scenario struct {
	name     string
	as       string // key into the clients map; "" is an anonymous visitor
	method   string
	path     string
	form     url.Values
	body     string // raw body when form is nil
	header   map[string]string
	status   int
	location string // the Location header must start with this
	want     []string
	forbid   []string
}

// run sends every scenario and checks status, Location and body.
func run(t *testing.T, e *env, clients map[string]*client, scs []scenario) {
	t.Helper()
	anon := e.client()
	for _, sc := range scs {
		t.Run(sc.name, func(t *testing.T) {
			c := anon
			if sc.as != "" {
				if c = clients[sc.as]; c == nil {
					t.Fatalf("no client %q", sc.as)
				}
			}
			method := sc.method
			if method == "" {
				method = "GET"
			}
			hdr := map[string]string{}
			var body io.Reader
			if sc.form != nil {
				body = strings.NewReader(sc.form.Encode())
				hdr["Content-Type"] = "application/x-www-form-urlencoded"
			} else if sc.body != "" {
				body = strings.NewReader(sc.body)
				hdr["Content-Type"] = "application/x-www-form-urlencoded"
			}
			for k, v := range sc.header {
				hdr[k] = v
			}
			r := c.do(method, sc.path, body, hdr)
			if r.status != sc.status {
				t.Errorf("%s %s: status %d, want %d\n%s", method, sc.path, r.status, sc.status, excerpt(r.body))
			}
			if loc := r.header.Get("Location"); !strings.HasPrefix(loc, sc.location) || (sc.location == "" && loc != "" && sc.status/100 != 3) {
				t.Errorf("Location %q, want prefix %q", loc, sc.location)
			}
			for _, w := range sc.want {
				if !strings.Contains(r.body, w) {
					t.Errorf("body lacks %q\n%s", w, excerpt(r.body))
				}
			}
			for _, f := range sc.forbid {
				if strings.Contains(r.body, f) {
					t.Errorf("body contains forbidden %q", f)
				}
			}
		})
	}
}

func excerpt(s string) string {
	if len(s) > 1500 {
		return s[:1500] + "…"
	}
	return s
}

// checksum hashes every row of every table, so a test can prove that a
// request changed nothing at all.
func (e *env) checksum() string {
	e.t.Helper()
	db := e.db.ReadDB()
	rows, err := db.Query(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`)
	if err != nil {
		e.t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		_ = rows.Scan(&n)
		tables = append(tables, n)
	}
	rows.Close()
	h := sha256.New()
	for _, tbl := range tables {
		rs, err := db.Query(`SELECT * FROM "` + tbl + `"`)
		if err != nil {
			e.t.Fatal(err)
		}
		cols, _ := rs.Columns()
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		var lines []string
		for rs.Next() {
			if err := rs.Scan(ptrs...); err != nil {
				e.t.Fatal(err)
			}
			lines = append(lines, fmt.Sprint(vals...))
		}
		rs.Close()
		// Rows without an explicit order: sort for a stable hash.
		slices.Sort(lines)
		fmt.Fprintln(h, tbl, len(lines), strings.Join(lines, "\n"))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// watchWrites notes SQLite's data_version on a connection of its own; the
// returned function reports whether any commit touched the file since,
// even one that wrote the values a row already had.
func (e *env) watchWrites() func() bool {
	e.t.Helper()
	conn, err := e.db.ReadDB().Conn(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	version := func() int64 {
		var v int64
		if err := conn.QueryRowContext(context.Background(), `PRAGMA data_version`).Scan(&v); err != nil {
			e.t.Fatal(err)
		}
		return v
	}
	v0 := version()
	return func() bool {
		defer conn.Close()
		return version() != v0
	}
}

func (e *env) count(query string, args ...any) int {
	e.t.Helper()
	var n int
	if err := e.db.ReadDB().QueryRow(query, args...).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

// route is one pattern of routes.go.
type route struct{ method, pattern string }

// routeFiles are the files that register routes on the console's mux.
var routeFiles = []string{"routes.go", "devices_routes.go", "transformers.go", "mqtt.go"}

// streams never end on their own; their own tests read them.
var streams = map[string]bool{"/devices/events": true, "/devices/{udid}/mqtt/events": true}

// routesFromSource reads every route pattern out of the route files, so a
// new route is walked by the security tests without anyone adding it to a
// list.
func routesFromSource(t testing.TB) []route {
	t.Helper()
	var out []route
	for _, f := range routeFiles {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range regexp.MustCompile(`"(GET|POST|PUT|PATCH|DELETE) (/[^"]*)"`).FindAllStringSubmatch(string(b), -1) {
			if !streams[m[2]] {
				out = append(out, route{m[1], m[2]})
			}
		}
	}
	if len(out) < 20 {
		t.Fatalf("found only %d routes in routes.go: the pattern no longer matches its style", len(out))
	}
	for _, s := range views.Sections {
		out = append(out, route{"GET", s.Path})
	}
	return out
}

// path fills a pattern's wildcards with values.
func (r route) path(vals map[string]string) string {
	return regexp.MustCompile(`\{([a-z]+)(\.\.\.)?\}|\{\$\}`).ReplaceAllStringFunc(r.pattern, func(w string) string {
		if w == "{$}" {
			return ""
		}
		name := strings.Trim(w, "{}.")
		if v, ok := vals[name]; ok {
			return v
		}
		return "x"
	})
}

// mail is one message received by smtpSink.
type mail struct{ To, Data string }

// smtpSink is a minimal SMTP server on loopback, enough for net/smtp, so
// the real SMTPMailer delivers the console's e-mails.
type smtpSink struct {
	Host string
	Port int
	C    chan mail
}

func newSMTPSink(t testing.TB) *smtpSink {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	s := &smtpSink{Host: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port, C: make(chan mail, 16)}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.session(c)
		}
	}()
	return s
}

func (s *smtpSink) session(c net.Conn) {
	defer c.Close()
	tp := textproto.NewConn(c)
	_ = tp.PrintfLine("220 sink ESMTP")
	var m mail
	for {
		line, err := tp.ReadLine()
		if err != nil {
			return
		}
		switch strings.ToUpper(strings.SplitN(line, " ", 2)[0]) {
		case "EHLO", "HELO":
			_ = tp.PrintfLine("250-sink\r\n250 8BITMIME")
		case "RCPT":
			m.To = strings.Trim(strings.TrimSpace(line[len("RCPT TO:"):]), "<>")
			_ = tp.PrintfLine("250 ok")
		case "DATA":
			_ = tp.PrintfLine("354 go on")
			b, err := tp.ReadDotBytes()
			if err != nil {
				return
			}
			m.Data = string(b)
			s.C <- m
			m = mail{}
			_ = tp.PrintfLine("250 queued")
		case "QUIT":
			_ = tp.PrintfLine("221 bye")
			return
		default:
			_ = tp.PrintfLine("250 ok")
		}
	}
}

func (s *smtpSink) next(t testing.TB) mail {
	t.Helper()
	select {
	case m := <-s.C:
		return m
	case <-time.After(10 * time.Second):
		t.Fatal("no e-mail arrived")
		return mail{}
	}
}

func (s *smtpSink) none(t testing.TB) {
	t.Helper()
	select {
	case m := <-s.C:
		t.Fatalf("unexpected e-mail to %s", m.To)
	case <-time.After(200 * time.Millisecond):
	}
}

// linkIn finds the first /kind/TOKEN link in s and returns its path.
func linkIn(t testing.TB, s, kind string) string {
	t.Helper()
	m := regexp.MustCompile(`/` + kind + `/[A-Za-z0-9_-]{20,}`).FindString(s)
	if m == "" {
		t.Fatalf("no /%s/ link in:\n%s", kind, excerpt(s))
	}
	return m
}
