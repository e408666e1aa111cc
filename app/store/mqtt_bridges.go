package store

import (
	"context"
	"encoding/json"
	"time"

	"thinx/app"
)

// MQTTBridge is a stored bridge to an external MQTT broker. The password is
// kept sealed; the broker package seals and opens it.
type MQTTBridge struct {
	ID           int64
	OwnerID      string
	Name         string
	URL          string
	ClientID     string
	Username     string
	PasswordEnc  []byte
	CACert       string
	Insecure     bool
	Forward      []string
	Subscribe    []string
	RemotePrefix string
	QoS          byte
	Enabled      bool
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

const bridgeCols = `id, owner_id, name, url, client_id, username, password_enc, ca_cert, insecure, forward, subscribe,
	remote_prefix, qos, enabled, created_at, updated_at`

func scanBridge(s scanner) (*MQTTBridge, error) {
	var b MQTTBridge
	var fwd, sub string
	var c, u int64
	if err := s.Scan(&b.ID, &b.OwnerID, &b.Name, &b.URL, &b.ClientID, &b.Username, &b.PasswordEnc, &b.CACert, &b.Insecure,
		&fwd, &sub, &b.RemotePrefix, &b.QoS, &b.Enabled, &c, &u); err != nil {
		return nil, err
	}
	_ = json.Unmarshal([]byte(fwd), &b.Forward)
	_ = json.Unmarshal([]byte(sub), &b.Subscribe)
	b.CreatedAt, b.UpdatedAt = fromMS(c), fromMS(u)
	return &b, nil
}

// MQTTBridges lists an owner's bridges, or every bridge when ownerID is
// empty (the broker's start-up).
func (db *DB) MQTTBridges(ctx context.Context, ownerID string) ([]*MQTTBridge, error) {
	q, args := `SELECT `+bridgeCols+` FROM mqtt_bridges ORDER BY id`, []any{}
	if ownerID != "" {
		q, args = `SELECT `+bridgeCols+` FROM mqtt_bridges WHERE owner_id = ? ORDER BY id`, []any{ownerID}
	}
	rows, err := db.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*MQTTBridge
	for rows.Next() {
		b, err := scanBridge(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

// MQTTBridge reads one of an owner's bridges inside the transaction; another
// owner's bridge is ENOTFOUND.
func (tx *Tx) MQTTBridge(ownerID string, id int64) (*MQTTBridge, error) {
	b, err := scanBridge(tx.tx.QueryRowContext(tx.ctx, `SELECT `+bridgeCols+` FROM mqtt_bridges WHERE owner_id = ? AND id = ?`, ownerID, id))
	return b, notFound(err, "Bridge")
}

// SaveMQTTBridge inserts b (ID 0) or updates the owner's bridge b.ID. A
// second bridge of the same name is ECONFLICT.
func (tx *Tx) SaveMQTTBridge(b *MQTTBridge) error {
	fwd, _ := json.Marshal(nonNil(b.Forward))
	sub, _ := json.Marshal(nonNil(b.Subscribe))
	b.UpdatedAt = tx.now
	if b.ID == 0 {
		b.CreatedAt = tx.now
		res, err := tx.tx.ExecContext(tx.ctx, `INSERT INTO mqtt_bridges (owner_id, name, url, client_id, username, password_enc,
			ca_cert, insecure, forward, subscribe, remote_prefix, qos, enabled, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, b.OwnerID, b.Name, b.URL, b.ClientID, b.Username, b.PasswordEnc,
			b.CACert, b.Insecure, string(fwd), string(sub), b.RemotePrefix, b.QoS, b.Enabled, ms(tx.now), ms(tx.now))
		if err != nil {
			return bridgeConflict(err)
		}
		b.ID, err = res.LastInsertId()
		return err
	}
	err := tx.exec1("Bridge", `UPDATE mqtt_bridges SET name = ?, url = ?, client_id = ?, username = ?, password_enc = ?,
		ca_cert = ?, insecure = ?, forward = ?, subscribe = ?, remote_prefix = ?, qos = ?, enabled = ?, updated_at = ?
		WHERE owner_id = ? AND id = ?`, b.Name, b.URL, b.ClientID, b.Username, b.PasswordEnc, b.CACert, b.Insecure,
		string(fwd), string(sub), b.RemotePrefix, b.QoS, b.Enabled, ms(tx.now), b.OwnerID, b.ID)
	return bridgeConflict(err)
}

// DeleteMQTTBridge removes an owner's bridge; another owner's is ENOTFOUND.
func (tx *Tx) DeleteMQTTBridge(ownerID string, id int64) error {
	return tx.exec1("Bridge", `DELETE FROM mqtt_bridges WHERE owner_id = ? AND id = ?`, ownerID, id)
}

func bridgeConflict(err error) error {
	if err != nil && app.ErrorCode(mapErr(err)) == app.ECONFLICT {
		return app.Errorf(app.ECONFLICT, "A bridge with that name already exists.")
	}
	return err
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// SetMQTTBridgePassword replaces the stored password of bridge id.
func (tx *Tx) SetMQTTBridgePassword(id int64, enc []byte) error {
	return tx.exec1("Bridge", `UPDATE mqtt_bridges SET password_enc = ? WHERE id = ?`, enc, id)
}

// DeleteSetting removes an installation setting; a missing one is no error.
func (tx *Tx) DeleteSetting(key string) error {
	_, err := tx.tx.ExecContext(tx.ctx, `DELETE FROM settings WHERE key = ?`, key)
	return err
}
