package store

import (
	"context"

	"golang.org/x/crypto/acme/autocert"

	"thinx/app"
)

// CertCache keeps ACME account keys and certificates in the database, so
// the one file is the whole backup.
type CertCache struct{ DB *DB }

var _ autocert.Cache = CertCache{}

// Get returns a cached item or autocert.ErrCacheMiss.
func (c CertCache) Get(ctx context.Context, name string) ([]byte, error) {
	v, err := c.DB.Setting(ctx, "acme."+name)
	if app.ErrorCode(err) == app.ENOTFOUND {
		return nil, autocert.ErrCacheMiss
	}
	return v, err
}

// Put stores an item.
func (c CertCache) Put(ctx context.Context, name string, data []byte) error {
	return c.DB.Update(ctx, func(tx *Tx) error { return tx.SetSetting("acme."+name, data) })
}

// Delete removes an item.
func (c CertCache) Delete(ctx context.Context, name string) error {
	return c.DB.Update(ctx, func(tx *Tx) error {
		_, err := tx.tx.ExecContext(ctx, `DELETE FROM settings WHERE key = ?`, "acme."+name)
		return err
	})
}
