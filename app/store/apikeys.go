package store

import (
	"context"
	"time"

	"thinx/app"
)

const keyCols = `id, owner_id, alias, hash, last4, created_at, last_used_at, revoked_at`

func scanKey(s scanner) (*app.APIKey, error) {
	var k app.APIKey
	var c, u, r int64
	if err := s.Scan(&k.ID, &k.OwnerID, &k.Alias, &k.Hash, &k.Last4, &c, &u, &r); err != nil {
		return nil, err
	}
	k.CreatedAt, k.LastUsedAt, k.RevokedAt = fromMS(c), fromMS(u), fromMS(r)
	return &k, nil
}

// CreateAPIKey inserts a key (by its hash). A hash already stored anywhere is
// ECONFLICT.
func (tx *Tx) CreateAPIKey(k *app.APIKey) error {
	k.CreatedAt = tx.now
	res, err := tx.tx.ExecContext(tx.ctx, `INSERT INTO api_keys (owner_id, alias, hash, last4, created_at) VALUES (?, ?, ?, ?, ?)`,
		k.OwnerID, k.Alias, k.Hash, k.Last4, ms(tx.now))
	if err != nil {
		if app.ErrorCode(mapErr(err)) == app.ECONFLICT {
			return app.Errorf(app.ECONFLICT, "That API key is already registered.")
		}
		return err
	}
	k.ID, err = res.LastInsertId()
	return err
}

// RevokeAPIKey revokes an owner's key; another owner's key is ENOTFOUND.
func (tx *Tx) RevokeAPIKey(ownerID string, id int64) (*app.APIKey, error) {
	k, err := scanKey(tx.tx.QueryRowContext(tx.ctx, `SELECT `+keyCols+` FROM api_keys WHERE owner_id = ? AND id = ?`, ownerID, id))
	if err != nil {
		return nil, notFound(err, "API key")
	}
	if k.Revoked() {
		return k, nil
	}
	k.RevokedAt = tx.now
	_, err = tx.tx.ExecContext(tx.ctx, `UPDATE api_keys SET revoked_at = ? WHERE id = ?`, ms(tx.now), id)
	return k, err
}

// APIKeys lists an owner's keys, newest first.
func (db *DB) APIKeys(ctx context.Context, ownerID string) ([]*app.APIKey, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT `+keyCols+` FROM api_keys WHERE owner_id = ? ORDER BY id DESC`, ownerID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*app.APIKey
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// APIKeyByHash finds a key of any owner by its hash, revoked or not.
func (db *DB) APIKeyByHash(ctx context.Context, hash string) (*app.APIKey, error) {
	k, err := scanKey(db.read.QueryRowContext(ctx, `SELECT `+keyCols+` FROM api_keys WHERE hash = ?`, hash))
	return k, notFound(err, "API key")
}

// TouchAPIKeys records last-used times in one statement per key; callers
// batch them so a busy device fleet costs one write now and then, not one
// per request.
func (tx *Tx) TouchAPIKeys(used map[int64]time.Time) error {
	for id, at := range used {
		if _, err := tx.tx.ExecContext(tx.ctx, `UPDATE api_keys SET last_used_at = max(last_used_at, ?) WHERE id = ?`, ms(at), id); err != nil {
			return err
		}
	}
	return nil
}
