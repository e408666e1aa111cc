package auth_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"

	"thinx/app"
	"thinx/app/auth"
	"thinx/app/store"
)

// t0 is the fixed start of every test clock.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// testPassword is the password of owners made by addOwner; its hash is
// computed once so tests do not pay for argon2 on every owner.
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

// env is a service on a real database in a temporary directory.
type env struct {
	db    *store.DB
	svc   *auth.Service
	clock *clock
	ctx   context.Context
}

func newEnv(t testing.TB) *env {
	t.Helper()
	db, err := store.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	c := &clock{t: t0}
	db.Now = c.Now
	svc := auth.NewService(db, slog.New(slog.DiscardHandler))
	for _, l := range []*auth.Limiter{svc.AccountLimit, svc.IPLimit, svc.KeyLimit} {
		l.Now = c.Now
	}
	return &env{db: db, svc: svc, clock: c, ctx: context.Background()}
}

// addOwner inserts an owner with testPassword.
func (e *env) addOwner(t testing.TB, email string, admin bool) *app.Owner {
	t.Helper()
	b := make([]byte, 32)
	rand.Read(b)
	o := &app.Owner{ID: hex.EncodeToString(b), Email: email, Admin: admin, PasswordHash: testHash()}
	if err := e.db.Update(e.ctx, func(tx *store.Tx) error { return tx.CreateOwner(o) }); err != nil {
		t.Fatal(err)
	}
	return o
}

// audit returns an owner's audit entries of one kind, newest first.
func (e *env) audit(t testing.TB, owner, kind string) []*app.AuditEntry {
	t.Helper()
	got, _, err := e.db.Audit(e.ctx, app.AuditFilter{OwnerID: owner, Kind: kind, Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func (e *env) count(t testing.TB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := e.db.ReadDB().QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func wantCode(t testing.TB, err error, code string) {
	t.Helper()
	if got := app.ErrorCode(err); got != code {
		t.Fatalf("error %v has code %q, want %q", err, got, code)
	}
}

// mail is one message received by smtpSink.
type mail struct {
	From, To string
	Data     string
}

// smtpSink is a minimal SMTP server on a loopback port: enough of RFC 5321
// for net/smtp to deliver, so the real SMTPMailer is what tests exercise.
type smtpSink struct {
	Host string
	Port int
	C    chan mail
	ln   net.Listener
}

func newSMTPSink(t testing.TB) *smtpSink {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &smtpSink{Host: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port, C: make(chan mail, 16), ln: ln}
	t.Cleanup(func() { ln.Close() })
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
		verb := strings.ToUpper(strings.SplitN(line, " ", 2)[0])
		switch verb {
		case "EHLO", "HELO":
			_ = tp.PrintfLine("250-sink\r\n250 8BITMIME")
		case "MAIL":
			m = mail{From: line}
			_ = tp.PrintfLine("250 ok")
		case "RCPT":
			m.To = strings.Trim(strings.TrimPrefix(line[len("RCPT TO:"):], " "), "<>")
			_ = tp.PrintfLine("250 ok")
		case "DATA":
			_ = tp.PrintfLine("354 go on")
			b, err := tp.ReadDotBytes()
			if err != nil {
				return
			}
			m.Data = string(b)
			s.C <- m
			_ = tp.PrintfLine("250 queued")
		case "QUIT":
			_ = tp.PrintfLine("221 bye")
			return
		default:
			_ = tp.PrintfLine("250 ok")
		}
	}
}

// mailer returns the real SMTP mailer pointed at the sink.
func (s *smtpSink) mailer() *auth.SMTPMailer {
	return &auth.SMTPMailer{Host: s.Host, Port: s.Port, From: "thinx@example.com"}
}

// next waits for one message.
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

// none checks that no message arrives within a short grace period.
func (s *smtpSink) none(t testing.TB) {
	t.Helper()
	select {
	case m := <-s.C:
		t.Fatalf("unexpected e-mail to %s: %s", m.To, m.Data)
	case <-time.After(200 * time.Millisecond):
	}
}

// linkToken extracts the token of the first /kind/ link in a mail body.
func linkToken(t testing.TB, body, kind string) string {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		if _, tok, ok := strings.Cut(sc.Text(), "/"+kind+"/"); ok {
			return strings.TrimSpace(tok)
		}
	}
	t.Fatalf("no /%s/ link in %q", kind, body)
	return ""
}
