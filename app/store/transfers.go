package store

import (
	"context"

	"thinx/app"
)

const transferCols = `t.id, t.from_owner_id, t.to_owner_id, f.email, o.email, t.with_env, t.state, t.created_at, t.expires_at, t.closed_at`

const transferFrom = ` FROM transfers t JOIN owners f ON f.id = t.from_owner_id JOIN owners o ON o.id = t.to_owner_id`

func scanTransfer(s scanner) (*app.Transfer, error) {
	var t app.Transfer
	var created, expires, closed int64
	if err := s.Scan(&t.ID, &t.FromOwnerID, &t.ToOwnerID, &t.FromEmail, &t.ToEmail, &t.WithEnv, &t.State, &created, &expires, &closed); err != nil {
		return nil, err
	}
	t.CreatedAt, t.ExpiresAt, t.ClosedAt = fromMS(created), fromMS(expires), fromMS(closed)
	return &t, nil
}

func transferDevices(ctx context.Context, q querier, t *app.Transfer) error {
	rows, err := q.QueryContext(ctx, `SELECT udid, alias, state FROM transfer_devices WHERE transfer_id = ? ORDER BY alias, udid`, t.ID)
	if err != nil {
		return err
	}
	defer rows.Close()
	t.Devices = t.Devices[:0]
	for rows.Next() {
		var d app.TransferDevice
		if err := rows.Scan(&d.UDID, &d.Alias, &d.State); err != nil {
			return err
		}
		t.Devices = append(t.Devices, d)
	}
	return rows.Err()
}

// CreateTransfer stores a transfer with its devices. A device already in a
// pending transfer is ECONFLICT.
func (tx *Tx) CreateTransfer(t *app.Transfer) error {
	t.CreatedAt = tx.now
	if _, err := tx.tx.ExecContext(tx.ctx, `INSERT INTO transfers (id, from_owner_id, to_owner_id, with_env, state, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, t.ID, t.FromOwnerID, t.ToOwnerID, t.WithEnv, t.State, ms(t.CreatedAt), ms(t.ExpiresAt)); err != nil {
		return err
	}
	for _, d := range t.Devices {
		_, err := tx.tx.ExecContext(tx.ctx, `INSERT INTO transfer_devices (transfer_id, udid, alias, state) VALUES (?, ?, ?, ?)`,
			t.ID, d.UDID, d.Alias, d.State)
		if app.ErrorCode(mapErr(err)) == app.ECONFLICT {
			return app.Errorf(app.ECONFLICT, "Device %s is already waiting in another transfer.", d.Alias)
		} else if err != nil {
			return err
		}
	}
	return nil
}

// Transfer reads a transfer with its devices inside the transaction.
func (tx *Tx) Transfer(id string) (*app.Transfer, error) {
	t, err := scanTransfer(tx.tx.QueryRowContext(tx.ctx, `SELECT `+transferCols+transferFrom+` WHERE t.id = ?`, id))
	if err != nil {
		return nil, notFound(err, "Transfer")
	}
	return t, transferDevices(tx.ctx, tx.tx, t)
}

// Transfers lists the latest transfers an owner sent or received.
func (db *DB) Transfers(ctx context.Context, ownerID string) ([]*app.Transfer, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT `+transferCols+transferFrom+`
		WHERE t.from_owner_id = ?1 OR t.to_owner_id = ?1 ORDER BY t.created_at DESC LIMIT 100`, ownerID)
	if err != nil {
		return nil, err
	}
	var out []*app.Transfer
	for rows.Next() {
		t, err := scanTransfer(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, t := range out {
		if err := transferDevices(ctx, db.read, t); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// SetTransferDeviceState records what became of one device of a transfer.
func (tx *Tx) SetTransferDeviceState(id, udid, state string) error {
	_, err := tx.tx.ExecContext(tx.ctx, `UPDATE transfer_devices SET state = ? WHERE transfer_id = ? AND udid = ?`, state, id, udid)
	return err
}

// CloseTransfer ends a transfer in the given state; devices still pending
// in it are declined, so they are free for a new transfer.
func (tx *Tx) CloseTransfer(id, state string) error {
	if _, err := tx.tx.ExecContext(tx.ctx, `UPDATE transfer_devices SET state = 'declined' WHERE transfer_id = ? AND state = 'pending'`, id); err != nil {
		return err
	}
	return tx.exec1("Transfer", `UPDATE transfers SET state = ?, closed_at = ? WHERE id = ?`, state, ms(tx.now), id)
}

// ExpiredTransfers returns the IDs of pending transfers past their expiry.
func (tx *Tx) ExpiredTransfers() ([]string, error) {
	rows, err := tx.tx.QueryContext(tx.ctx, `SELECT id FROM transfers WHERE state = 'pending' AND expires_at <= ?`, ms(tx.now))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// PendingTransfers counts an owner's open transfers, sent or received.
func (db *DB) PendingTransfers(ctx context.Context, ownerID string, now int64) (int, error) {
	var n int
	err := db.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM transfers WHERE (from_owner_id = ?1 OR to_owner_id = ?1)
		AND state = 'pending' AND expires_at > ?2`, ownerID, now).Scan(&n)
	return n, err
}

// MoveDevice hands a device to another owner. What belonged to the old
// owner's world goes: mesh memberships, queued configuration, questions,
// and the environment unless keepEnv. The key the device holds is
// remembered so it keeps working until the device is rebuilt.
func (tx *Tx) MoveDevice(udid, from, to string, keepEnv bool) error {
	if err := tx.exec1("Device", `UPDATE devices SET owner_id = ?, prev_owner_id = ?, transfer_key_hash = key_hash, updated_at = ?
		WHERE udid = ? AND owner_id = ?`, to, from, ms(tx.now), udid, from); err != nil {
		return err
	}
	stmts := []struct {
		q    string
		args []any
	}{
		{`UPDATE device_tags SET owner_id = ? WHERE udid = ?`, []any{to, udid}},
		{`DELETE FROM mesh_devices WHERE udid = ?`, []any{udid}},
		{`DELETE FROM config_pushes WHERE udid = ?`, []any{udid}},
		{`DELETE FROM notifications WHERE udid = ?`, []any{udid}},
	}
	if !keepEnv {
		stmts = append(stmts, stmts[1])
		stmts[len(stmts)-1].q = `DELETE FROM device_env WHERE udid = ?`
	}
	for _, st := range stmts {
		if _, err := tx.tx.ExecContext(tx.ctx, st.q, st.args...); err != nil {
			return err
		}
	}
	return nil
}
