package store

import (
	"context"
	"time"

	"thinx/app"
)

// CreateSession inserts a session row.
func (tx *Tx) CreateSession(s *app.Session) error {
	s.CreatedAt, s.SeenAt = tx.now, tx.now
	_, err := tx.tx.ExecContext(tx.ctx, `INSERT INTO sessions (id, owner_id, created_at, seen_at, expires_at, ip, user_agent) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		s.ID, s.OwnerID, ms(tx.now), ms(tx.now), ms(s.ExpiresAt), s.IP, s.UserAgent)
	return err
}

// Session returns an unexpired session by ID.
func (db *DB) Session(ctx context.Context, id string) (*app.Session, error) {
	var s app.Session
	var c, seen, exp int64
	err := db.read.QueryRowContext(ctx, `SELECT id, owner_id, created_at, seen_at, expires_at, ip, user_agent FROM sessions WHERE id = ? AND expires_at > ?`,
		id, ms(db.Now())).Scan(&s.ID, &s.OwnerID, &c, &seen, &exp, &s.IP, &s.UserAgent)
	if err != nil {
		return nil, notFound(err, "Session")
	}
	s.CreatedAt, s.SeenAt, s.ExpiresAt = fromMS(c), fromMS(seen), fromMS(exp)
	return &s, nil
}

// TouchSession moves a session's last-seen time and expiry forward.
func (tx *Tx) TouchSession(id string, expires time.Time) error {
	_, err := tx.tx.ExecContext(tx.ctx, `UPDATE sessions SET seen_at = ?, expires_at = ? WHERE id = ?`, ms(tx.now), ms(expires), id)
	return err
}

// DeleteSession ends one session.
func (tx *Tx) DeleteSession(id string) error {
	_, err := tx.tx.ExecContext(tx.ctx, `DELETE FROM sessions WHERE id = ?`, id)
	return err
}

// DeleteOwnerSessions ends every session of an owner except keep (which may
// be empty) and returns how many ended.
func (tx *Tx) DeleteOwnerSessions(ownerID, keep string) (int64, error) {
	res, err := tx.tx.ExecContext(tx.ctx, `DELETE FROM sessions WHERE owner_id = ? AND id <> ?`, ownerID, keep)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// DeleteExpiredSessions removes sessions past their expiry.
func (tx *Tx) DeleteExpiredSessions() (int64, error) {
	res, err := tx.tx.ExecContext(tx.ctx, `DELETE FROM sessions WHERE expires_at <= ?`, ms(tx.now))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// SessionCount counts an owner's live sessions.
func (db *DB) SessionCount(ctx context.Context, ownerID string) (int, error) {
	var n int
	err := db.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM sessions WHERE owner_id = ? AND expires_at > ?`, ownerID, ms(db.Now())).Scan(&n)
	return n, err
}
