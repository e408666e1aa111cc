package store

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// MQTTMessage is one message of an owner's MQTT history.
type MQTTMessage struct {
	ID       int64
	OwnerID  string
	UDID     string // the device whose topic it was, empty for shared and mesh topics
	Topic    string
	Payload  []byte // cut at the broker's history cap; Size is the full length
	Size     int
	Client   string // the sender's client ID, empty for the server itself
	QoS      byte
	Retained bool
	At       time.Time
}

// InsertMQTTHistory stores a batch of messages in one transaction. A message
// of an owner that no longer exists is skipped rather than failing the batch.
func (db *DB) InsertMQTTHistory(ctx context.Context, msgs []MQTTMessage) error {
	if len(msgs) == 0 {
		return nil
	}
	return db.Update(ctx, func(tx *Tx) error {
		st, err := tx.tx.PrepareContext(tx.ctx, `INSERT INTO mqtt_history
			(owner_id, udid, topic, payload, size, client, qos, retained, at)
			SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9 WHERE EXISTS (SELECT 1 FROM owners WHERE id = ?1)`)
		if err != nil {
			return err
		}
		defer st.Close()
		for _, m := range msgs {
			if m.Payload == nil {
				m.Payload = []byte{}
			}
			if _, err := st.ExecContext(tx.ctx, m.OwnerID, m.UDID, m.Topic, m.Payload, m.Size, m.Client, m.QoS, m.Retained, ms(m.At)); err != nil {
				return fmt.Errorf("insert mqtt history: %w", err)
			}
		}
		return nil
	})
}

// MQTTHistoryFilter selects history messages. Text matches topic or payload,
// case-insensitively for ASCII letters.
type MQTTHistoryFilter struct {
	OwnerID string
	UDID    string // empty: every topic of the owner
	Text    string
	Since   time.Time
	Limit   int
}

// MQTTHistory lists an owner's messages, newest first.
func (db *DB) MQTTHistory(ctx context.Context, f MQTTHistoryFilter) ([]MQTTMessage, error) {
	where := []string{"owner_id = ?"}
	args := []any{f.OwnerID}
	if f.UDID != "" {
		where = append(where, "udid = ?")
		args = append(args, f.UDID)
	}
	if f.Text != "" {
		where = append(where, "(instr(lower(topic), lower(?)) > 0 OR instr(lower(CAST(payload AS TEXT)), lower(?)) > 0)")
		args = append(args, f.Text, f.Text)
	}
	if !f.Since.IsZero() {
		where = append(where, "at >= ?")
		args = append(args, ms(f.Since))
	}
	args = append(args, f.Limit)
	rows, err := db.read.QueryContext(ctx, `SELECT id, owner_id, udid, topic, payload, size, client, qos, retained, at
		FROM mqtt_history WHERE `+strings.Join(where, " AND ")+` ORDER BY id DESC LIMIT ?`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []MQTTMessage
	for rows.Next() {
		var m MQTTMessage
		var at int64
		if err := rows.Scan(&m.ID, &m.OwnerID, &m.UDID, &m.Topic, &m.Payload, &m.Size, &m.Client, &m.QoS, &m.Retained, &at); err != nil {
			return nil, err
		}
		m.At = fromMS(at)
		out = append(out, m)
	}
	return out, rows.Err()
}

// PruneMQTTHistory deletes messages older than before, then the oldest
// messages of any owner holding more than maxPerOwner (0: no count cap).
// It returns how many rows went.
func (db *DB) PruneMQTTHistory(ctx context.Context, before time.Time, maxPerOwner int) (int64, error) {
	var n int64
	err := db.Update(ctx, func(tx *Tx) error {
		res, err := tx.tx.ExecContext(tx.ctx, `DELETE FROM mqtt_history WHERE at < ?`, ms(before))
		if err != nil {
			return err
		}
		n, _ = res.RowsAffected()
		if maxPerOwner <= 0 {
			return nil
		}
		owners, err := overfullHistoryOwners(tx, maxPerOwner)
		if err != nil {
			return err
		}
		for _, o := range owners {
			res, err := tx.tx.ExecContext(tx.ctx, `DELETE FROM mqtt_history WHERE owner_id = ?1 AND id <=
				(SELECT id FROM mqtt_history WHERE owner_id = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)`, o, maxPerOwner)
			if err != nil {
				return err
			}
			d, _ := res.RowsAffected()
			n += d
		}
		return nil
	})
	return n, err
}

func overfullHistoryOwners(tx *Tx, maxPerOwner int) ([]string, error) {
	rows, err := tx.tx.QueryContext(tx.ctx, `SELECT owner_id FROM mqtt_history GROUP BY owner_id HAVING COUNT(*) > ?`, maxPerOwner)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var o string
		if err := rows.Scan(&o); err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, rows.Err()
}
