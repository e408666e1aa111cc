package store

import (
	"cmp"
	"context"
	"encoding/json"
	"slices"

	"thinx/app"
)

// SetPushToken stores the token a device registered for notifications.
func (tx *Tx) SetPushToken(udid, token string) error {
	_, err := tx.tx.ExecContext(tx.ctx, `INSERT INTO push_tokens (udid, token, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (udid) DO UPDATE SET token = excluded.token, updated_at = excluded.updated_at`, udid, token, ms(tx.now))
	return err
}

// PushToken returns a device's push token, or ENOTFOUND.
func (db *DB) PushToken(ctx context.Context, udid string) (string, error) {
	var t string
	err := db.read.QueryRowContext(ctx, `SELECT token FROM push_tokens WHERE udid = ?`, udid).Scan(&t)
	return t, notFound(err, "Push token")
}

// QueueConfigPush stores a configuration message for a device. Its values
// may be secrets, so the message is kept encrypted with the data
// directory's key, like the environment it came from.
func (tx *Tx) QueueConfigPush(ownerID string, p *app.ConfigPush) error {
	keys, _ := json.Marshal(p.Keys)
	p.CreatedAt = tx.now
	res, err := tx.tx.ExecContext(tx.ctx, `INSERT INTO config_pushes (owner_id, udid, keys, payload, created_at) VALUES (?, ?, ?, ?, ?)`,
		ownerID, p.UDID, string(keys), tx.seal.seal(string(p.Payload)), ms(tx.now))
	if err != nil {
		return err
	}
	p.ID, err = res.LastInsertId()
	return err
}

// HasPendingConfig reports whether configuration messages wait for a
// device, so a connect without any costs no write.
func (db *DB) HasPendingConfig(ctx context.Context, ownerID, udid string) (bool, error) {
	var n int
	err := db.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM config_pushes WHERE udid = ? AND delivered_at = 0 AND owner_id = ?`,
		udid, ownerID).Scan(&n)
	return n > 0, err
}

// ConfigPushes returns a device's latest configuration messages, newest
// first, delivered or not.
func (db *DB) ConfigPushes(ctx context.Context, ownerID, udid string, limit int) ([]*app.ConfigPush, error) {
	return db.configPushes(ctx, `WHERE owner_id = ? AND udid = ? ORDER BY id DESC LIMIT ?`, ownerID, udid, limit)
}

func (db *DB) configPushes(ctx context.Context, where string, args ...any) ([]*app.ConfigPush, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT id, udid, keys, payload, created_at, delivered_at FROM config_pushes `+where, args...)
	seal := db.seal
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*app.ConfigPush
	for rows.Next() {
		var p app.ConfigPush
		var keys string
		var created, delivered int64
		if err := rows.Scan(&p.ID, &p.UDID, &keys, &p.Payload, &created, &delivered); err != nil {
			return nil, err
		}
		if p.Payload, err = seal.openBytes(p.Payload); err != nil {
			return nil, err
		}
		_ = json.Unmarshal([]byte(keys), &p.Keys)
		p.CreatedAt, p.DeliveredAt = fromMS(created), fromMS(delivered)
		out = append(out, &p)
	}
	return out, rows.Err()
}

// ClaimConfigPushes marks undelivered messages as delivered and returns
// those it marked, oldest first: a message is published only by whoever
// claimed it, so a device never gets the same one twice. With udid empty,
// ids name the messages; otherwise every pending message of the device is
// claimed.
func (tx *Tx) ClaimConfigPushes(ownerID, udid string, ids []int64) ([]*app.ConfigPush, error) {
	var out []*app.ConfigPush
	claim := func(where string, args ...any) error {
		rows, err := tx.tx.QueryContext(tx.ctx, `UPDATE config_pushes SET delivered_at = ? WHERE delivered_at = 0 AND owner_id = ? AND `+where+`
			RETURNING id, udid, payload`, append([]any{ms(tx.now), ownerID}, args...)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			p := &app.ConfigPush{DeliveredAt: tx.now}
			if err := rows.Scan(&p.ID, &p.UDID, &p.Payload); err != nil {
				return err
			}
			if p.Payload, err = tx.seal.openBytes(p.Payload); err != nil {
				return err
			}
			out = append(out, p)
		}
		return rows.Err()
	}
	if udid != "" {
		if err := claim("udid = ?", udid); err != nil {
			return nil, err
		}
	}
	for _, id := range ids {
		if err := claim("id = ?", id); err != nil {
			return nil, err
		}
	}
	slices.SortFunc(out, func(a, b *app.ConfigPush) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// UnclaimConfigPushes returns messages that could not be published to the
// pending queue.
func (tx *Tx) UnclaimConfigPushes(ids []int64) error {
	for _, id := range ids {
		if _, err := tx.tx.ExecContext(tx.ctx, `UPDATE config_pushes SET delivered_at = 0 WHERE id = ?`, id); err != nil {
			return err
		}
	}
	return nil
}
