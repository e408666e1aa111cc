package store

import (
	"context"

	"thinx/app"
)

const notificationCols = `id, owner_id, udid, title, body, type, response_type, created_at, answered_at, response`

func scanNotification(s scanner) (*app.Notification, error) {
	var n app.Notification
	var created, answered int64
	if err := s.Scan(&n.ID, &n.OwnerID, &n.UDID, &n.Title, &n.Body, &n.Type, &n.ResponseType, &created, &answered, &n.Response); err != nil {
		return nil, err
	}
	n.CreatedAt, n.AnsweredAt = fromMS(created), fromMS(answered)
	return &n, nil
}

// InsertNotification stores a device's question.
func (tx *Tx) InsertNotification(n *app.Notification) error {
	n.CreatedAt = tx.now
	res, err := tx.tx.ExecContext(tx.ctx, `INSERT INTO notifications (owner_id, udid, title, body, type, response_type, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, n.OwnerID, n.UDID, n.Title, n.Body, n.Type, n.ResponseType, ms(tx.now))
	if err != nil {
		return err
	}
	n.ID, err = res.LastInsertId()
	return err
}

// Notification reads one of an owner's notifications inside the transaction.
func (tx *Tx) Notification(ownerID string, id int64) (*app.Notification, error) {
	n, err := scanNotification(tx.tx.QueryRowContext(tx.ctx, `SELECT `+notificationCols+` FROM notifications WHERE owner_id = ? AND id = ?`, ownerID, id))
	return n, notFound(err, "Notification")
}

// AnswerNotification records the owner's answer.
func (tx *Tx) AnswerNotification(ownerID string, id int64, response string) error {
	return tx.exec1("Notification", `UPDATE notifications SET answered_at = ?, response = ? WHERE owner_id = ? AND id = ?`,
		ms(tx.now), response, ownerID, id)
}

// Notifications lists an owner's latest notifications, newest first;
// unanswered only when open is set.
func (db *DB) Notifications(ctx context.Context, ownerID string, open bool, limit int) ([]*app.Notification, error) {
	cond := ""
	if open {
		cond = " AND answered_at = 0"
	}
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	rows, err := db.read.QueryContext(ctx, `SELECT `+notificationCols+` FROM notifications WHERE owner_id = ?`+cond+` ORDER BY id DESC LIMIT ?`, ownerID, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*app.Notification
	for rows.Next() {
		n, err := scanNotification(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}
