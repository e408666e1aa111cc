package store_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/acme/autocert"

	"thinx/app"
	"thinx/app/store"
)

// t0 is the fixed clock of these tests, so every stored time is known.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// clock is a settable time source shared by a test and its database.
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

// openDB opens a real database in a fresh directory, on a fixed clock.
func openDB(t testing.TB) (*store.DB, *clock) {
	t.Helper()
	db, err := store.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	c := &clock{t: t0}
	db.Now = c.Now
	return db, c
}

func randomID() string {
	b := make([]byte, 32)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// addOwner inserts an owner directly; the hash is a placeholder because the
// store never looks inside it.
func addOwner(t testing.TB, db *store.DB, email string) *app.Owner {
	t.Helper()
	o := &app.Owner{ID: randomID(), Email: email, PasswordHash: "$argon2id$placeholder"}
	if err := db.Update(context.Background(), func(tx *store.Tx) error { return tx.CreateOwner(o) }); err != nil {
		t.Fatalf("create owner %s: %v", email, err)
	}
	return o
}

func update(t testing.TB, db *store.DB, fn func(tx *store.Tx) error) error {
	t.Helper()
	return db.Update(context.Background(), fn)
}

func wantCode(t testing.TB, err error, code string) {
	t.Helper()
	if got := app.ErrorCode(err); got != code {
		t.Fatalf("error code = %q (%v), want %q", got, err, code)
	}
}

func count(t testing.TB, db *store.DB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := db.ReadDB().QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

func TestOpenCreatesDirectoryAndMigratesOnce(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "nested", "data")
	ctx := context.Background()
	db, err := store.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o700 {
		t.Errorf("data directory mode = %v, want 0700 (it holds secrets)", st.Mode().Perm())
	}
	if db.Path() != filepath.Join(dir, store.FileName) {
		t.Errorf("Path = %q", db.Path())
	}
	applied := count(t, db, `SELECT COUNT(*) FROM migrations`)
	if applied == 0 || count(t, db, `SELECT COUNT(*) FROM migrations WHERE name = 'migrations/0001_foundation.sql'`) != 1 {
		t.Fatalf("foundation migration not recorded (%d applied)", applied)
	}
	addOwner(t, db, "keep@example.com")
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db2, err := store.Open(ctx, dir)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer db2.Close()
	if n := count(t, db2, `SELECT COUNT(*) FROM migrations`); n != applied {
		t.Errorf("reopen applied migrations again: %d rows, want %d", n, applied)
	}
	if n, _ := db2.OwnerCount(ctx); n != 1 {
		t.Errorf("owners after reopen = %d, want 1", n)
	}
}

func TestPragmas(t *testing.T) {
	t.Parallel()
	db, _ := openDB(t)
	var mode string
	var fk, busy int
	err := update(t, db, func(tx *store.Tx) error {
		q := tx.SQL()
		if err := q.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil {
			return err
		}
		if err := q.QueryRow(`PRAGMA foreign_keys`).Scan(&fk); err != nil {
			return err
		}
		return q.QueryRow(`PRAGMA busy_timeout`).Scan(&busy)
	})
	if err != nil {
		t.Fatal(err)
	}
	if mode != "wal" || fk != 1 || busy < 1000 {
		t.Errorf("journal_mode=%s foreign_keys=%d busy_timeout=%d; want wal, 1, >=1000", mode, fk, busy)
	}
	// The read pool must never write, even by mistake.
	if _, err := db.ReadDB().Exec(`INSERT INTO settings (key, value) VALUES ('x', 'y')`); err == nil {
		t.Error("a write through the read pool succeeded")
	}
}

func TestUpdateRollsBackOnError(t *testing.T) {
	t.Parallel()
	db, _ := openDB(t)
	boom := errors.New("boom")
	err := update(t, db, func(tx *store.Tx) error {
		if err := tx.CreateOwner(&app.Owner{ID: randomID(), Email: "gone@example.com"}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update returned %v, want the callback's error", err)
	}
	if n, _ := db.OwnerCount(context.Background()); n != 0 {
		t.Errorf("owner survived a failed transaction")
	}
}

func TestOwners(t *testing.T) {
	t.Parallel()
	db, clk := openDB(t)
	ctx := context.Background()
	a := addOwner(t, db, "  Alice@Example.COM ")
	if a.Email != "alice@example.com" {
		t.Errorf("e-mail not normalised: %q", a.Email)
	}
	got, err := db.OwnerByEmail(ctx, "ALICE@example.com")
	if err != nil || got.ID != a.ID {
		t.Fatalf("OwnerByEmail = %v, %v", got, err)
	}
	if !got.CreatedAt.Equal(t0) || !got.HasPassword || got.Admin || got.Disabled {
		t.Errorf("stored owner = %+v", got)
	}

	cases := []struct {
		name string
		o    *app.Owner
		code string
		msg  string
	}{
		{"same e-mail other case", &app.Owner{ID: randomID(), Email: "ALICE@example.com"}, app.ECONFLICT, "alice@example.com already exists"},
		{"same id", &app.Owner{ID: a.ID, Email: "other@example.com"}, app.ECONFLICT, "ID already exists"},
		{"short id", &app.Owner{ID: "abc", Email: "x@example.com"}, app.EINVALID, "64 lowercase hex"},
		{"upper-case id", &app.Owner{ID: "A" + randomID()[1:], Email: "x@example.com"}, app.EINVALID, "64 lowercase hex"},
		{"bad e-mail", &app.Owner{ID: randomID(), Email: "not an address"}, app.EINVALID, "not an e-mail address"},
		{"empty e-mail", &app.Owner{ID: randomID(), Email: ""}, app.EINVALID, "required"},
		{"long name", &app.Owner{ID: randomID(), Email: "n@example.com", Name: string(make([]byte, 201))}, app.EINVALID, "Name"},
	}
	for _, c := range cases {
		err := update(t, db, func(tx *store.Tx) error { return tx.CreateOwner(c.o) })
		if app.ErrorCode(err) != c.code || !strings.Contains(app.ErrorMessage(err), c.msg) {
			t.Errorf("%s: got %v, want %s containing %q", c.name, err, c.code, c.msg)
		}
	}
	if n, _ := db.OwnerCount(ctx); n != 1 {
		t.Errorf("owners = %d after refused inserts, want 1", n)
	}

	_, err = db.Owner(ctx, randomID())
	wantCode(t, err, app.ENOTFOUND)
	_, err = db.OwnerByEmail(ctx, "nobody@example.com")
	wantCode(t, err, app.ENOTFOUND)
	wantCode(t, update(t, db, func(tx *store.Tx) error { return tx.SetOwnerDisabled(randomID(), true) }), app.ENOTFOUND)
	wantCode(t, update(t, db, func(tx *store.Tx) error { return tx.SetOwnerPassword(randomID(), "x") }), app.ENOTFOUND)

	b := addOwner(t, db, "bob@example.com")
	clk.Add(time.Hour)
	b.Email, b.Name, b.Notify = "alice@example.com", "Bob", app.NotifyPrefs{Builds: true}
	err = update(t, db, func(tx *store.Tx) error { return tx.UpdateOwnerProfile(b) })
	if app.ErrorCode(err) != app.ECONFLICT || !strings.Contains(app.ErrorMessage(err), "alice@example.com") {
		t.Errorf("profile taking another owner's e-mail: %v", err)
	}
	b.Email = "Robert@Example.com"
	if err := update(t, db, func(tx *store.Tx) error { return tx.UpdateOwnerProfile(b) }); err != nil {
		t.Fatal(err)
	}
	got, _ = db.Owner(ctx, b.ID)
	if got.Email != "robert@example.com" || got.Name != "Bob" || got.Notify != (app.NotifyPrefs{Builds: true}) || !got.UpdatedAt.Equal(t0.Add(time.Hour)) {
		t.Errorf("after profile update: %+v", got)
	}

	if err := update(t, db, func(tx *store.Tx) error { return tx.SetOwnerDisabled(b.ID, true) }); err != nil {
		t.Fatal(err)
	}
	if got, _ = db.Owner(ctx, b.ID); !got.Disabled {
		t.Error("owner not disabled")
	}
	owners, err := db.Owners(ctx)
	if err != nil || len(owners) != 2 || owners[0].ID != a.ID {
		t.Errorf("Owners = %v, %v; want alice first", owners, err)
	}
}

func TestAvatar(t *testing.T) {
	t.Parallel()
	db, _ := openDB(t)
	ctx := context.Background()
	o := addOwner(t, db, "a@example.com")
	_, _, err := db.Avatar(ctx, o.ID)
	wantCode(t, err, app.ENOTFOUND)
	img := []byte("\x89PNG fake bytes")
	if err := update(t, db, func(tx *store.Tx) error { return tx.SetOwnerAvatar(o.ID, img, "image/png") }); err != nil {
		t.Fatal(err)
	}
	b, ct, err := db.Avatar(ctx, o.ID)
	if err != nil || string(b) != string(img) || ct != "image/png" {
		t.Errorf("Avatar = %q, %q, %v", b, ct, err)
	}
	if got, _ := db.Owner(ctx, o.ID); got.AvatarType != "image/png" {
		t.Errorf("AvatarType = %q", got.AvatarType)
	}
	if err := update(t, db, func(tx *store.Tx) error { return tx.SetOwnerAvatar(o.ID, nil, "") }); err != nil {
		t.Fatal(err)
	}
	_, _, err = db.Avatar(ctx, o.ID)
	wantCode(t, err, app.ENOTFOUND)
}

func TestSessions(t *testing.T) {
	t.Parallel()
	db, clk := openDB(t)
	ctx := context.Background()
	a := addOwner(t, db, "a@example.com")
	mk := func(id string, ttl time.Duration) {
		t.Helper()
		s := &app.Session{ID: id, OwnerID: a.ID, ExpiresAt: clk.Now().Add(ttl), IP: "192.0.2.1", UserAgent: "test"}
		if err := update(t, db, func(tx *store.Tx) error { return tx.CreateSession(s) }); err != nil {
			t.Fatal(err)
		}
	}
	mk("s1", time.Hour)
	mk("s2", time.Hour)
	mk("s3", time.Minute)
	s, err := db.Session(ctx, "s1")
	if err != nil || s.OwnerID != a.ID || s.IP != "192.0.2.1" || !s.ExpiresAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("Session = %+v, %v", s, err)
	}
	_, err = db.Session(ctx, "nope")
	wantCode(t, err, app.ENOTFOUND)

	// A session row for an owner that does not exist violates the foreign key.
	err = update(t, db, func(tx *store.Tx) error {
		return tx.CreateSession(&app.Session{ID: "orphan", OwnerID: randomID(), ExpiresAt: t0.Add(time.Hour)})
	})
	wantCode(t, err, app.ENOTFOUND)

	clk.Add(2 * time.Minute)
	if _, err := db.Session(ctx, "s3"); app.ErrorCode(err) != app.ENOTFOUND {
		t.Errorf("expired session still served: %v", err)
	}
	if n, _ := db.SessionCount(ctx, a.ID); n != 2 {
		t.Errorf("SessionCount = %d, want 2 live", n)
	}
	if err := update(t, db, func(tx *store.Tx) error { return tx.TouchSession("s1", clk.Now().Add(24*time.Hour)) }); err != nil {
		t.Fatal(err)
	}
	if s, _ := db.Session(ctx, "s1"); !s.SeenAt.Equal(clk.Now()) || !s.ExpiresAt.Equal(clk.Now().Add(24*time.Hour)) {
		t.Errorf("TouchSession did not slide: %+v", s)
	}
	var expired, others int64
	err = update(t, db, func(tx *store.Tx) error {
		var err error
		if expired, err = tx.DeleteExpiredSessions(); err != nil {
			return err
		}
		others, err = tx.DeleteOwnerSessions(a.ID, "s1")
		return err
	})
	if err != nil || expired != 1 || others != 1 {
		t.Fatalf("expired=%d others=%d err=%v; want 1, 1", expired, others, err)
	}
	if _, err := db.Session(ctx, "s1"); err != nil {
		t.Errorf("kept session was deleted: %v", err)
	}
	var all int64
	_ = update(t, db, func(tx *store.Tx) error { var err error; all, err = tx.DeleteOwnerSessions(a.ID, ""); return err })
	if all != 1 || count(t, db, `SELECT COUNT(*) FROM sessions`) != 0 {
		t.Errorf("DeleteOwnerSessions with no keep left sessions behind")
	}
}

func TestAPIKeys(t *testing.T) {
	t.Parallel()
	db, clk := openDB(t)
	ctx := context.Background()
	a, b := addOwner(t, db, "a@example.com"), addOwner(t, db, "b@example.com")
	k1 := &app.APIKey{OwnerID: a.ID, Alias: "one", Hash: "h1", Last4: "1111"}
	k2 := &app.APIKey{OwnerID: a.ID, Alias: "two", Hash: "h2", Last4: "2222"}
	for _, k := range []*app.APIKey{k1, k2} {
		if err := update(t, db, func(tx *store.Tx) error { return tx.CreateAPIKey(k) }); err != nil {
			t.Fatal(err)
		}
	}
	dup := &app.APIKey{OwnerID: b.ID, Alias: "dup", Hash: "h1", Last4: "1111"}
	err := update(t, db, func(tx *store.Tx) error { return tx.CreateAPIKey(dup) })
	if app.ErrorCode(err) != app.ECONFLICT || !strings.Contains(app.ErrorMessage(err), "already registered") {
		t.Errorf("duplicate hash: %v", err)
	}
	keys, err := db.APIKeys(ctx, a.ID)
	if err != nil || len(keys) != 2 || keys[0].ID != k2.ID {
		t.Fatalf("APIKeys = %v, %v; want 2, newest first", keys, err)
	}
	if keys, _ := db.APIKeys(ctx, b.ID); len(keys) != 0 {
		t.Errorf("b sees %d keys of a", len(keys))
	}

	// Another owner's key ID is not found, and stays active.
	err = update(t, db, func(tx *store.Tx) error { _, err := tx.RevokeAPIKey(b.ID, k1.ID); return err })
	wantCode(t, err, app.ENOTFOUND)
	if k, _ := db.APIKeyByHash(ctx, "h1"); k.Revoked() {
		t.Fatal("another owner revoked the key")
	}
	clk.Add(time.Minute)
	err = update(t, db, func(tx *store.Tx) error { _, err := tx.RevokeAPIKey(a.ID, k1.ID); return err })
	if err != nil {
		t.Fatal(err)
	}
	if k, _ := db.APIKeyByHash(ctx, "h1"); !k.RevokedAt.Equal(t0.Add(time.Minute)) {
		t.Errorf("RevokedAt = %v", k.RevokedAt)
	}
	_, err = db.APIKeyByHash(ctx, "nope")
	wantCode(t, err, app.ENOTFOUND)

	// Last-used times only move forward, whatever order a batch arrives in.
	late, early := t0.Add(time.Hour), t0.Add(time.Second)
	_ = update(t, db, func(tx *store.Tx) error { return tx.TouchAPIKeys(map[int64]time.Time{k2.ID: late}) })
	_ = update(t, db, func(tx *store.Tx) error { return tx.TouchAPIKeys(map[int64]time.Time{k2.ID: early}) })
	if k, _ := db.APIKeyByHash(ctx, "h2"); !k.LastUsedAt.Equal(late) {
		t.Errorf("LastUsedAt = %v, want %v", k.LastUsedAt, late)
	}
}

func TestTokens(t *testing.T) {
	t.Parallel()
	db, clk := openDB(t)
	a := addOwner(t, db, "a@example.com")
	use := func(hash, kind string) (string, error) {
		var owner string
		err := update(t, db, func(tx *store.Tx) error { var err error; owner, err = tx.UseToken(hash, kind); return err })
		return owner, err
	}
	mk := func(hash, kind string, ttl time.Duration) {
		t.Helper()
		if err := update(t, db, func(tx *store.Tx) error { return tx.CreateToken(hash, a.ID, kind, clk.Now().Add(ttl)) }); err != nil {
			t.Fatal(err)
		}
	}
	valid := func(hash, kind string) (ok bool) {
		_ = update(t, db, func(tx *store.Tx) error { ok = tx.TokenValid(hash, kind); return nil })
		return ok
	}

	mk("inv", app.TokenInvite, time.Hour)
	if _, err := use("inv", app.TokenReset); app.ErrorCode(err) != app.EINVALID {
		t.Errorf("an invite token worked as a reset token: %v", err)
	}
	if !valid("inv", app.TokenInvite) {
		t.Fatal("fresh token not valid")
	}
	if owner, err := use("inv", app.TokenInvite); err != nil || owner != a.ID {
		t.Fatalf("UseToken = %q, %v", owner, err)
	}
	_, err := use("inv", app.TokenInvite)
	if app.ErrorCode(err) != app.EINVALID || !strings.Contains(app.ErrorMessage(err), "invalid or has expired") {
		t.Errorf("second use: %v", err)
	}

	mk("old", app.TokenReset, time.Hour)
	mk("new", app.TokenReset, time.Hour)
	if valid("old", app.TokenReset) {
		t.Error("an older reset link still works after a newer one was made")
	}
	clk.Add(time.Hour)
	if valid("new", app.TokenReset) {
		t.Error("token valid at its expiry instant")
	}
	if _, err := use("new", app.TokenReset); app.ErrorCode(err) != app.EINVALID {
		t.Errorf("expired token used: %v", err)
	}
	var n int64
	_ = update(t, db, func(tx *store.Tx) error { var err error; n, err = tx.DeleteExpiredTokens(); return err })
	if n != 2 || count(t, db, `SELECT COUNT(*) FROM tokens`) != 0 {
		t.Errorf("DeleteExpiredTokens removed %d, left %d", n, count(t, db, `SELECT COUNT(*) FROM tokens`))
	}
}

func TestSecretIsGeneratedOnceAndKept(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := context.Background()
	db, err := store.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	got := make([][]byte, 8)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := db.Secret(ctx, "session", 32)
			if err != nil {
				t.Error(err)
			}
			got[i] = v
		}()
	}
	wg.Wait()
	for _, v := range got[1:] {
		if len(v) != 32 || string(v) != string(got[0]) {
			t.Fatalf("racing callers got different secrets")
		}
	}
	other, _ := db.Secret(ctx, "other", 32)
	if string(other) == string(got[0]) {
		t.Error("two secrets are equal")
	}
	db.Close()
	db, err = store.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if v, _ := db.Secret(ctx, "session", 32); string(v) != string(got[0]) {
		t.Error("secret changed across a restart")
	}
}

func TestCertCache(t *testing.T) {
	t.Parallel()
	db, _ := openDB(t)
	ctx := context.Background()
	c := store.CertCache{DB: db}
	if _, err := c.Get(ctx, "example.com"); !errors.Is(err, autocert.ErrCacheMiss) {
		t.Fatalf("Get on empty cache = %v, want ErrCacheMiss", err)
	}
	if err := c.Put(ctx, "example.com", []byte("cert")); err != nil {
		t.Fatal(err)
	}
	if err := c.Put(ctx, "example.com", []byte("cert2")); err != nil {
		t.Fatal(err)
	}
	if v, err := c.Get(ctx, "example.com"); err != nil || string(v) != "cert2" {
		t.Errorf("Get = %q, %v", v, err)
	}
	if err := c.Delete(ctx, "example.com"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get(ctx, "example.com"); !errors.Is(err, autocert.ErrCacheMiss) {
		t.Errorf("Get after Delete = %v", err)
	}
}

// TestTwoHandlesWriteConcurrently is the CLI writing while the server runs:
// two independent opens of one directory, both writing, none failing with
// "database is locked".
func TestTwoHandlesWriteConcurrently(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := context.Background()
	var dbs [2]*store.DB
	for i := range dbs {
		db, err := store.Open(ctx, dir)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		dbs[i] = db
	}
	var wg sync.WaitGroup
	for i, db := range dbs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 40 {
				o := &app.Owner{ID: randomID(), Email: "p" + string(rune('a'+i)) + hex.EncodeToString([]byte{byte(j)}) + "@example.com"}
				if err := db.Update(ctx, func(tx *store.Tx) error { return tx.CreateOwner(o) }); err != nil {
					t.Errorf("handle %d write %d: %v", i, j, err)
					return
				}
				if _, err := db.Owner(ctx, o.ID); err != nil {
					t.Errorf("handle %d read %d: %v", i, j, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if n, _ := dbs[0].OwnerCount(ctx); n != 80 {
		t.Errorf("owners = %d, want 80", n)
	}
}
