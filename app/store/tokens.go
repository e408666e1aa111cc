package store

import (
	"time"

	"thinx/app"
)

// CreateToken stores a one-time link token (by hash). Earlier unused tokens
// of the same kind for the owner stop working, so only the newest link does.
func (tx *Tx) CreateToken(hash, ownerID, kind string, expires time.Time) error {
	if _, err := tx.tx.ExecContext(tx.ctx, `DELETE FROM tokens WHERE owner_id = ? AND kind = ? AND used_at = 0`, ownerID, kind); err != nil {
		return err
	}
	_, err := tx.tx.ExecContext(tx.ctx, `INSERT INTO tokens (hash, owner_id, kind, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`,
		hash, ownerID, kind, ms(tx.now), ms(expires))
	return err
}

// UseToken marks a valid, unused, unexpired token as used and returns its
// owner. Anything else is one and the same EINVALID, so a link reveals
// nothing about why it failed.
func (tx *Tx) UseToken(hash, kind string) (string, error) {
	var owner string
	err := tx.tx.QueryRowContext(tx.ctx, `UPDATE tokens SET used_at = ? WHERE hash = ? AND kind = ? AND used_at = 0 AND expires_at > ? RETURNING owner_id`,
		ms(tx.now), hash, kind, ms(tx.now)).Scan(&owner)
	if err != nil {
		return "", app.Errorf(app.EINVALID, "This link is invalid or has expired. Ask for a new one.")
	}
	return owner, nil
}

// TokenValid reports whether a token could still be used, without using it.
func (tx *Tx) TokenValid(hash, kind string) bool {
	var n int
	_ = tx.tx.QueryRowContext(tx.ctx, `SELECT COUNT(*) FROM tokens WHERE hash = ? AND kind = ? AND used_at = 0 AND expires_at > ?`, hash, kind, ms(tx.now)).Scan(&n)
	return n > 0
}

// DeleteExpiredTokens removes tokens that can no longer be used.
func (tx *Tx) DeleteExpiredTokens() (int64, error) {
	res, err := tx.tx.ExecContext(tx.ctx, `DELETE FROM tokens WHERE expires_at <= ? OR used_at > 0`, ms(tx.now))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
