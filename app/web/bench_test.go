package web_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"thinx/app"
	"thinx/app/auth"
	"thinx/app/store"
	"thinx/views"
)

// serve runs one request through the whole handler chain (metrics,
// security headers, cross-origin check, mux, session, render) without a
// socket, so the figure is the server's own time.
func serve(b *testing.B, e *env, req func() *http.Request, want int) {
	b.Helper()
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		e.srv.ServeHTTP(rec, req())
		if rec.Code != want {
			b.Fatalf("status %d, want %d", rec.Code, want)
		}
	}
}

func get(path, cookie string) func() *http.Request {
	return func() *http.Request {
		r := httptest.NewRequest("GET", path, nil)
		if cookie != "" {
			r.Header.Set("Cookie", "thinx_session="+cookie)
		}
		return r
	}
}

// BenchmarkLoginPage is GET /login: handler, the template alone, and a
// handler writing the same number of bytes from a constant as the floor.
func BenchmarkLoginPage(b *testing.B) {
	e := newEnv(b)
	e.owner("ann@example.com", false)
	rec := httptest.NewRecorder()
	e.srv.ServeHTTP(rec, get("/login", "")())
	page := rec.Body.String()
	b.Run("handler", func(b *testing.B) { serve(b, e, get("/login", ""), 200) })
	b.Run("template", func(b *testing.B) {
		p := views.AuthPage{Title: "Log in", Action: "/login"}
		b.ReportAllocs()
		for b.Loop() {
			if err := views.LoginPage(p).Render(context.Background(), io.Discard); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("baseline-static-write", func(b *testing.B) {
		static := []byte(page)
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = w.Write(static)
		})
		b.ReportAllocs()
		for b.Loop() {
			h.ServeHTTP(httptest.NewRecorder(), get("/login", "")())
		}
	})
}

// BenchmarkLoginPost is POST /login end to end: argon2id, a session row and
// an audit row; the argon2id verification alone is the floor.
func BenchmarkLoginPost(b *testing.B) {
	e := newEnv(b)
	e.owner("ann@example.com", false)
	form := url.Values{"email": {"ann@example.com"}, "password": {testPassword}}.Encode()
	b.Run("handler", func(b *testing.B) {
		serve(b, e, func() *http.Request {
			r := httptest.NewRequest("POST", "/login", strings.NewReader(form))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return r
		}, http.StatusSeeOther)
	})
	b.Run("baseline-argon2id", func(b *testing.B) {
		h := testHash()
		for b.Loop() {
			if !auth.VerifyPassword(h, testPassword) {
				b.Fatal("verify failed")
			}
		}
	})
}

// BenchmarkKeysPage is GET /keys for an owner with 50 keys.
func BenchmarkKeysPage(b *testing.B) {
	e := newEnv(b)
	o := e.owner("ann@example.com", false)
	for i := range 50 {
		if _, _, err := e.auth.CreateKey(context.Background(), o.ID, fmt.Sprintf("key %d", i), ""); err != nil {
			b.Fatal(err)
		}
	}
	tok, _, err := e.auth.Login(context.Background(), o.Email, testPassword, "", "")
	if err != nil {
		b.Fatal(err)
	}
	b.Run("handler-50-keys", func(b *testing.B) { serve(b, e, get("/keys", tok), 200) })
	b.Run("baseline-query", func(b *testing.B) {
		for b.Loop() {
			if keys, err := e.db.APIKeys(context.Background(), o.ID); err != nil || len(keys) != 50 {
				b.Fatal(len(keys), err)
			}
		}
	})
}

// BenchmarkAuditPage is GET /audit over 10,000 entries of one owner (and
// as many of another): the first page, a deep page, a text search.
func BenchmarkAuditPage(b *testing.B) {
	e := newEnv(b)
	o := e.owner("ann@example.com", false)
	other := e.owner("bob@example.com", false)
	err := e.db.Update(context.Background(), func(tx *store.Tx) error {
		for i := range 20000 {
			owner := o.ID
			if i%2 == 1 {
				owner = other.ID
			}
			kind := app.AuditKinds[i%len(app.AuditKinds)]
			e := &app.AuditEntry{OwnerID: owner, Kind: kind, Message: fmt.Sprintf("entry %d for the benchmark", i), IP: "192.0.2.1", At: t0.Add(-time.Duration(i) * time.Minute)}
			if err := tx.InsertAudit(e); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	tok, _, err := e.auth.Login(context.Background(), o.Email, testPassword, "", "")
	if err != nil {
		b.Fatal(err)
	}
	for _, p := range []string{"/audit", "/audit?offset=5000", "/audit?q=entry+99", "/audit?kind=login.failure"} {
		b.Run("handler "+p, func(b *testing.B) { serve(b, e, get(p, tok), 200) })
	}
	b.Run("baseline-query", func(b *testing.B) {
		for b.Loop() {
			if _, total, err := e.db.Audit(context.Background(), app.AuditFilter{OwnerID: o.ID, Limit: 50}); err != nil || total < 10000 {
				b.Fatal(total, err)
			}
		}
	})
}
