package auth_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"thinx/app"
	"thinx/app/auth"
	"thinx/app/store"
)

func TestCreateKeyStoresOnlyTheHash(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db, err := store.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	svc := auth.NewService(db, slog.New(slog.DiscardHandler))
	ctx := context.Background()
	o, err := svc.CreateOwner(ctx, "ann@example.com", testPassword, false)
	if err != nil {
		t.Fatal(err)
	}
	key, k, err := svc.CreateKey(ctx, o.ID, "  sensors  ", "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	if !app.IsHex64(key) {
		t.Fatalf("key %q is not 64 lowercase hex", key)
	}
	if k.Hash != auth.HashToken(key) || k.Last4 != key[60:] || k.Alias != "sensors" {
		t.Errorf("stored key = %+v", k)
	}
	key2, _, _ := svc.CreateKey(ctx, o.ID, "", "192.0.2.1")
	if key2 == key {
		t.Fatal("two keys are equal")
	}
	keys, _ := svc.Keys(ctx, o.ID)
	if len(keys) != 2 || keys[0].Alias != "API key" {
		t.Errorf("keys = %+v; want a default alias on the second", keys)
	}

	// Neither the database nor its write-ahead log may hold the key.
	scan := func(when string) {
		t.Helper()
		files, _ := filepath.Glob(filepath.Join(dir, "thinx.db*"))
		var all []byte
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, b...)
		}
		if bytes.Contains(all, []byte(key)) || bytes.Contains(all, []byte(key2)) {
			t.Errorf("%s: the plaintext key is in the database files", when)
		}
		if !bytes.Contains(all, []byte(k.Hash)) {
			t.Errorf("%s: the key's hash is not in the database files either: the scan reads the wrong files", when)
		}
	}
	scan("open")
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	scan("closed")
}

func TestImportKey(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.addOwner(t, "a@example.com", false)
	b := e.addOwner(t, "b@example.com", false)
	good := strings.Repeat("0123456789abcdef", 4)
	for _, bad := range []string{"", "abc", good[:63], good + "0", strings.ToUpper(good), "g" + good[1:], good[:32] + " " + good[33:]} {
		_, err := e.svc.ImportKey(e.ctx, a.ID, "old", bad, "cli")
		if app.ErrorCode(err) != app.EINVALID || !strings.Contains(app.ErrorMessage(err), "64 lowercase hex") {
			t.Errorf("ImportKey(%q) = %v", bad, err)
		}
	}
	k, err := e.svc.ImportKey(e.ctx, a.ID, "old", " "+good+"\n", "cli")
	if err != nil || k.Last4 != "cdef" || k.Hash != auth.HashToken(good) {
		t.Fatalf("ImportKey = %+v, %v", k, err)
	}
	_, err = e.svc.ImportKey(e.ctx, b.ID, "stolen", good, "cli")
	if app.ErrorCode(err) != app.ECONFLICT || !strings.Contains(app.ErrorMessage(err), "already registered") {
		t.Errorf("importing a registered key: %v", err)
	}
	if _, err := e.svc.CheckKey(e.ctx, a.ID, good, "192.0.2.1"); err != nil {
		t.Errorf("imported key refused: %v", err)
	}
	if len(e.audit(t, a.ID, app.AuditKeyImported)) != 1 {
		t.Error("import not audited")
	}
	if _, err := e.svc.ImportKey(e.ctx, a.ID, strings.Repeat("a", 101), strings.Repeat("1", 64), "cli"); app.ErrorCode(err) != app.EINVALID {
		t.Errorf("101-character alias: %v", err)
	}
}

func TestCheckKeyAndRevoke(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.addOwner(t, "a@example.com", false)
	b := e.addOwner(t, "b@example.com", false)
	var revoked [][2]string
	e.svc.OnKeyRevoked = func(owner, hash string) { revoked = append(revoked, [2]string{owner, hash}) }
	key, k, err := e.svc.CreateKey(e.ctx, a.ID, "fleet", "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}

	got, err := e.svc.CheckKey(e.ctx, a.ID, key, "192.0.2.1")
	if err != nil || got.ID != k.ID {
		t.Fatalf("CheckKey = %v, %v", got, err)
	}
	for name, c := range map[string]struct{ owner, key string }{
		"another owner's ID": {b.ID, key},
		"unknown key":        {a.ID, strings.Repeat("f", 64)},
		"too short":          {a.ID, "abc"},
		"too long":           {a.ID, strings.Repeat("a", 300)},
	} {
		if _, err := e.svc.CheckKey(e.ctx, c.owner, c.key, "192.0.2.1"); app.ErrorCode(err) != app.EUNAUTHORIZED {
			t.Errorf("%s: %v", name, err)
		}
	}

	// Another owner's key ID is not found, and nothing changes.
	wantCode(t, e.svc.RevokeKey(e.ctx, b.ID, k.ID, "192.0.2.1"), app.ENOTFOUND)
	if len(revoked) != 0 || len(e.audit(t, b.ID, app.AuditKeyRevoked)) != 0 {
		t.Fatal("a refused revoke had effects")
	}
	if _, err := e.svc.CheckKey(e.ctx, a.ID, key, "192.0.2.1"); err != nil {
		t.Fatal("key stopped working after another owner's revoke")
	}

	if err := e.svc.RevokeKey(e.ctx, a.ID, k.ID, "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	if len(revoked) != 1 || revoked[0] != [2]string{a.ID, k.Hash} {
		t.Errorf("OnKeyRevoked calls: %v", revoked)
	}
	if e.svc.KeyValid(e.ctx, a.ID, k.Hash) {
		t.Error("KeyValid true for a revoked key")
	}
	_, err = e.svc.CheckKey(e.ctx, a.ID, key, "198.51.100.4")
	wantCode(t, err, app.EUNAUTHORIZED)
	use := e.audit(t, a.ID, app.AuditKeyRevokedUse)
	if len(use) != 1 || use[0].IP != "198.51.100.4" || !strings.Contains(use[0].Message, "fleet") || strings.Contains(use[0].Message, key) {
		t.Errorf("used-after-revoke audit: %+v", use)
	}
	if r := e.audit(t, a.ID, app.AuditKeyRevoked); len(r) != 1 || !strings.Contains(r[0].Message, "…"+key[60:]) {
		t.Errorf("revoke audit: %+v", r)
	}
}

func TestKeyUsageIsBatched(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.addOwner(t, "a@example.com", false)
	key, k, _ := e.svc.CreateKey(e.ctx, a.ID, "fleet", "")
	_, _, _ = e.svc.CreateKey(e.ctx, a.ID, "idle", "")
	e.clock.Add(time.Minute)
	for range 20 {
		if _, err := e.svc.CheckKey(e.ctx, a.ID, key, "192.0.2.1"); err != nil {
			t.Fatal(err)
		}
	}
	lastUsed := func(id int64) time.Time {
		keys, _ := e.svc.Keys(e.ctx, a.ID)
		for _, k := range keys {
			if k.ID == id {
				return k.LastUsedAt
			}
		}
		t.Fatalf("key %d not listed", id)
		return time.Time{}
	}
	if !lastUsed(k.ID).IsZero() {
		t.Fatal("last-used written on every check instead of batched")
	}
	if err := e.svc.FlushUsage(e.ctx); err != nil {
		t.Fatal(err)
	}
	if got := lastUsed(k.ID); !got.Equal(t0.Add(time.Minute)) {
		t.Errorf("after flush, last used = %v, want %v", got, t0.Add(time.Minute))
	}
	keys, _ := e.svc.Keys(e.ctx, a.ID)
	for _, kk := range keys {
		if kk.Alias == "idle" && !kk.LastUsedAt.IsZero() {
			t.Error("an unused key got a last-used time")
		}
	}
	if err := e.svc.FlushUsage(e.ctx); err != nil {
		t.Errorf("empty flush: %v", err)
	}
}

func TestKeyRateLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.svc.KeyLimit = auth.NewLimiter(3, time.Minute)
	e.svc.KeyLimit.Now = e.clock.Now
	a := e.addOwner(t, "a@example.com", false)
	key, _, _ := e.svc.CreateKey(e.ctx, a.ID, "fleet", "")
	for range 3 {
		_, _ = e.svc.CheckKey(e.ctx, a.ID, strings.Repeat("e", 64), "203.0.113.1")
	}
	_, err := e.svc.CheckKey(e.ctx, a.ID, key, "203.0.113.1")
	wantCode(t, err, app.ETOOMANY)
	if _, err := e.svc.CheckKey(e.ctx, a.ID, key, "203.0.113.2"); err != nil {
		t.Errorf("another address refused: %v", err)
	}
}
