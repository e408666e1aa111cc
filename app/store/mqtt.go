package store

import (
	"context"
	"database/sql"
	"fmt"
)

// MQTTKind names one part of the broker's persistent state.
type MQTTKind uint8

// The parts of the broker's state. Rows are addressed by Client and Key:
// a client row by Key (the client ID), a subscription by Client and Key
// (the filter), an in-flight message by Client and Key (the packet ID), a
// retained message by Key (the topic), the server info by nothing.
const (
	MQTTClient MQTTKind = iota + 1
	MQTTSubscription
	MQTTInflight
	MQTTRetained
	MQTTSysInfo
	// MQTTSession is delete-only: a client row with all its subscriptions
	// and in-flight messages, when a session ends or expires.
	MQTTSession
)

// MQTTWrite is one change to the broker's state; a nil Data deletes.
type MQTTWrite struct {
	Kind   MQTTKind
	Client string
	Key    string
	Data   []byte
}

// MQTTRow is one stored piece of broker state.
type MQTTRow struct {
	Client string
	Key    string
	Data   []byte
}

// mqttSQL holds the upsert and delete statement of each kind.
var mqttSQL = map[MQTTKind][2]string{
	MQTTClient: {`INSERT INTO mqtt_clients (id, data, updated_at) VALUES (?2, ?3, ?4)
		ON CONFLICT(id) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at`,
		`DELETE FROM mqtt_clients WHERE id = ?2`},
	MQTTSubscription: {`INSERT INTO mqtt_subscriptions (client, filter, data) VALUES (?1, ?2, ?3)
		ON CONFLICT(client, filter) DO UPDATE SET data = excluded.data`,
		`DELETE FROM mqtt_subscriptions WHERE client = ?1 AND filter = ?2`},
	MQTTInflight: {`INSERT INTO mqtt_inflight (client, packet_id, data) VALUES (?1, ?2, ?3)
		ON CONFLICT(client, packet_id) DO UPDATE SET data = excluded.data`,
		`DELETE FROM mqtt_inflight WHERE client = ?1 AND packet_id = ?2`},
	MQTTRetained: {`INSERT INTO mqtt_retained (topic, data, updated_at) VALUES (?2, ?3, ?4)
		ON CONFLICT(topic) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at`,
		`DELETE FROM mqtt_retained WHERE topic = ?2`},
	MQTTSysInfo: {`INSERT INTO mqtt_sysinfo (id, data) VALUES (1, ?3) ON CONFLICT(id) DO UPDATE SET data = excluded.data`,
		`DELETE FROM mqtt_sysinfo`},
}

// WriteMQTT applies a batch of broker state changes, in order, in one
// transaction. The broker queues changes for a few milliseconds and calls
// this once per batch, so a burst of QoS messages costs one commit.
func (db *DB) WriteMQTT(ctx context.Context, writes []MQTTWrite) error {
	if len(writes) == 0 {
		return nil
	}
	return db.Update(ctx, func(tx *Tx) error { return tx.WriteMQTT(writes) })
}

// WriteMQTT applies broker state changes inside the transaction.
func (tx *Tx) WriteMQTT(writes []MQTTWrite) error {
	stmts := map[string]*sql.Stmt{}
	defer func() {
		for _, st := range stmts {
			st.Close()
		}
	}()
	now := ms(tx.now)
	for _, w := range writes {
		if w.Kind == MQTTSession {
			if err := tx.deleteMQTTSession(w.Client); err != nil {
				return err
			}
			continue
		}
		q, ok := mqttSQL[w.Kind]
		if !ok {
			return fmt.Errorf("mqtt state: unknown kind %d", w.Kind)
		}
		query := q[0]
		if w.Data == nil {
			query = q[1]
		}
		st := stmts[query]
		if st == nil {
			var err error
			if st, err = tx.tx.PrepareContext(tx.ctx, query); err != nil {
				return fmt.Errorf("mqtt state: prepare: %w", err)
			}
			stmts[query] = st
		}
		if _, err := st.ExecContext(tx.ctx, w.Client, w.Key, w.Data, now); err != nil {
			return fmt.Errorf("mqtt state: write: %w", err)
		}
	}
	return nil
}

func (tx *Tx) deleteMQTTSession(client string) error {
	for _, q := range []string{
		`DELETE FROM mqtt_clients WHERE id = ?`,
		`DELETE FROM mqtt_subscriptions WHERE client = ?`,
		`DELETE FROM mqtt_inflight WHERE client = ?`,
	} {
		if _, err := tx.tx.ExecContext(tx.ctx, q, client); err != nil {
			return fmt.Errorf("mqtt state: delete session: %w", err)
		}
	}
	return nil
}

// MQTTRows reads every stored row of one kind, for the broker's start-up.
func (db *DB) MQTTRows(ctx context.Context, kind MQTTKind) ([]MQTTRow, error) {
	var q string
	switch kind {
	case MQTTClient:
		q = `SELECT '', id, data FROM mqtt_clients`
	case MQTTSubscription:
		q = `SELECT client, filter, data FROM mqtt_subscriptions`
	case MQTTInflight:
		q = `SELECT client, packet_id, data FROM mqtt_inflight`
	case MQTTRetained:
		q = `SELECT '', topic, data FROM mqtt_retained`
	case MQTTSysInfo:
		q = `SELECT '', '', data FROM mqtt_sysinfo`
	default:
		return nil, fmt.Errorf("mqtt state: unknown kind %d", kind)
	}
	rows, err := db.read.QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []MQTTRow
	for rows.Next() {
		var r MQTTRow
		if err := rows.Scan(&r.Client, &r.Key, &r.Data); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
