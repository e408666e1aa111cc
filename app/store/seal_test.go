package store_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"thinx/app"
	"thinx/app/store"
)

// Secret environment values are encrypted at rest with the key kept beside
// the database: the plaintext is in neither the database nor its WAL, reads
// give it back, and a database opened with another key says so.
func TestSecretEnvironmentIsEncryptedAtRest(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	db, err := store.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	o := addOwner(t, db, "maker@example.com")
	const secret = "correct-horse-wifi-password"
	vars := []app.EnvVar{{Name: "THINX_ENV_PASS", Value: secret, Secret: true}, {Name: "ROOM", Value: "plain-room-name"}}
	if err := update(t, db, func(tx *store.Tx) error { return tx.SetOwnerEnv(o.ID, vars) }); err != nil {
		t.Fatal(err)
	}
	got, err := db.OwnerEnv(ctx, o.ID)
	if err != nil || len(got) != 2 || got[1].Value != secret || got[0].Value != "plain-room-name" {
		t.Fatalf("read back: %+v %v", got, err)
	}
	var raw []byte
	for _, f := range []string{store.FileName, store.FileName + "-wal"} {
		b, _ := os.ReadFile(filepath.Join(dir, f))
		raw = append(raw, b...)
	}
	if bytes.Contains(raw, []byte(secret)) {
		t.Error("the secret is in the database file in clear")
	}
	if !bytes.Contains(raw, []byte("plain-room-name")) {
		t.Error("the check cannot see the database contents")
	}
	if st, err := os.Stat(filepath.Join(dir, store.KeyFile)); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", st, err)
	}
	db.Close()

	// Another key: the secret cannot be read, and the error names the file.
	if err := os.WriteFile(filepath.Join(dir, store.KeyFile), bytes.Repeat([]byte{7}, 32), 0o600); err != nil {
		t.Fatal(err)
	}
	db, err = store.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.OwnerEnv(ctx, o.ID); err == nil || !bytes.Contains([]byte(app.ErrorMessage(err)), []byte(store.KeyFile)) {
		t.Errorf("read with another key: %v", err)
	}

	// A truncated key file stops the start with a clear message.
	if err := os.WriteFile(filepath.Join(dir, store.KeyFile), []byte("short"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Open(ctx, dir); err == nil || !bytes.Contains([]byte(err.Error()), []byte("want 32 bytes")) {
		t.Errorf("open with a broken key file: %v", err)
	}
}
