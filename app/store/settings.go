package store

import (
	"context"
	"crypto/rand"
)

// Setting reads one installation setting.
func (db *DB) Setting(ctx context.Context, key string) ([]byte, error) {
	var v []byte
	err := db.read.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = ?`, key).Scan(&v)
	return v, notFound(err, "Setting")
}

// SetSetting writes one installation setting.
func (tx *Tx) SetSetting(key string, value []byte) error {
	_, err := tx.tx.ExecContext(tx.ctx, `INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`, key, value)
	return err
}

// Secret returns the named random secret of this installation, creating it
// (n random bytes) on first use. Two callers racing get the same value.
func (db *DB) Secret(ctx context.Context, name string, n int) ([]byte, error) {
	if v, err := db.Setting(ctx, "secret."+name); err == nil {
		return v, nil
	}
	var out []byte
	err := db.Update(ctx, func(tx *Tx) error {
		if err := tx.tx.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = ?`, "secret."+name).Scan(&out); err == nil {
			return nil
		}
		out = make([]byte, n)
		rand.Read(out)
		return tx.SetSetting("secret."+name, out)
	})
	return out, err
}
