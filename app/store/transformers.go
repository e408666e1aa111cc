package store

import (
	"context"

	"thinx/app"
)

const transformerCols = `t.id, t.owner_id, t.alias, t.version, t.source, t.quarantined_at, t.quarantine_reason, t.last_error,
	t.last_error_at, t.runs, t.failures, t.created_at, t.updated_at,
	(SELECT COUNT(*) FROM device_transformers dt WHERE dt.transformer_id = t.id)`

func scanTransformer(s scanner) (*app.Transformer, error) {
	var t app.Transformer
	var q, le, c, u int64
	err := s.Scan(&t.ID, &t.OwnerID, &t.Alias, &t.Version, &t.Source, &q, &t.QuarantineReason, &t.LastError, &le,
		&t.Runs, &t.Failures, &c, &u, &t.Devices)
	if err != nil {
		return nil, err
	}
	t.QuarantinedAt, t.LastErrorAt, t.CreatedAt, t.UpdatedAt = fromMS(q), fromMS(le), fromMS(c), fromMS(u)
	return &t, nil
}

func transformerByID(ctx context.Context, q querier, ownerID, id string) (*app.Transformer, error) {
	t, err := scanTransformer(q.QueryRowContext(ctx, `SELECT `+transformerCols+` FROM transformers t WHERE t.owner_id = ? AND t.id = ?`, ownerID, id))
	return t, notFound(err, "Transformer")
}

// Transformer returns one of the owner's transformers.
func (db *DB) Transformer(ctx context.Context, ownerID, id string) (*app.Transformer, error) {
	return transformerByID(ctx, db.read, ownerID, id)
}

// Transformer reads one of the owner's transformers inside the transaction.
func (tx *Tx) Transformer(ownerID, id string) (*app.Transformer, error) {
	return transformerByID(tx.ctx, tx.tx, ownerID, id)
}

// Transformers lists the owner's transformers by name.
func (db *DB) Transformers(ctx context.Context, ownerID string) ([]*app.Transformer, error) {
	return db.transformers(ctx, `SELECT `+transformerCols+` FROM transformers t WHERE t.owner_id = ? ORDER BY t.alias COLLATE NOCASE, t.id`, ownerID)
}

func (db *DB) transformers(ctx context.Context, query string, args ...any) ([]*app.Transformer, error) {
	rows, err := db.read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*app.Transformer
	for rows.Next() {
		t, err := scanTransformer(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// TransformerVersions lists the saved versions of one of the owner's
// transformers, newest first.
func (db *DB) TransformerVersions(ctx context.Context, ownerID, id string) ([]app.TransformerVersion, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT v.version, v.source, v.created_at FROM transformer_versions v
		JOIN transformers t ON t.id = v.transformer_id WHERE t.owner_id = ? AND t.id = ? ORDER BY v.version DESC`, ownerID, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []app.TransformerVersion
	for rows.Next() {
		var v app.TransformerVersion
		var c int64
		if err := rows.Scan(&v.Version, &v.Source, &c); err != nil {
			return nil, err
		}
		v.CreatedAt = fromMS(c)
		out = append(out, v)
	}
	return out, rows.Err()
}

// SaveTransformer creates t (version 1) when it is new, or stores its
// source as the next version. Saving lifts a quarantine: the owner edited it.
func (tx *Tx) SaveTransformer(t *app.Transformer, isNew bool) error {
	if err := t.Validate(); err != nil {
		return err
	}
	now := ms(tx.now)
	if isNew {
		t.Version = 1
		if _, err := tx.tx.ExecContext(tx.ctx, `INSERT INTO transformers (id, owner_id, alias, version, source, created_at, updated_at)
			VALUES (?, ?, ?, 1, ?, ?, ?)`, t.ID, t.OwnerID, t.Alias, t.Source, now, now); err != nil {
			return err
		}
	} else {
		cur, err := tx.Transformer(t.OwnerID, t.ID)
		if err != nil {
			return err
		}
		t.Version = cur.Version
		if cur.Source != t.Source {
			t.Version++
		}
		if err := tx.exec1("Transformer", `UPDATE transformers SET alias = ?, version = ?, source = ?, quarantined_at = 0,
			quarantine_reason = '', failures = 0, updated_at = ? WHERE owner_id = ? AND id = ?`,
			t.Alias, t.Version, t.Source, now, t.OwnerID, t.ID); err != nil {
			return err
		}
		if t.Version == cur.Version {
			return nil
		}
	}
	_, err := tx.tx.ExecContext(tx.ctx, `INSERT INTO transformer_versions (transformer_id, version, source, created_at) VALUES (?, ?, ?, ?)`,
		t.ID, t.Version, t.Source, now)
	return err
}

// DeleteTransformer removes one of the owner's transformers; devices that
// ran it simply stop running it.
func (tx *Tx) DeleteTransformer(ownerID, id string) error {
	return tx.exec1("Transformer", `DELETE FROM transformers WHERE owner_id = ? AND id = ?`, ownerID, id)
}

// QuarantineTransformer disables a transformer until it is edited.
func (tx *Tx) QuarantineTransformer(ownerID, id string, version int, reason string) error {
	return tx.exec1("Transformer", `UPDATE transformers SET quarantined_at = ?, quarantine_reason = ? WHERE owner_id = ? AND id = ? AND version = ?`,
		ms(tx.now), reason, ownerID, id, version)
}

// TransformerStats adds run and failure counts and the last error, in one
// statement per transformer; callers batch them.
func (tx *Tx) TransformerStats(id string, runs, failures int64, lastError string) error {
	q := `UPDATE transformers SET runs = runs + ?, failures = failures + ? WHERE id = ?`
	args := []any{runs, failures, id}
	if lastError != "" {
		q = `UPDATE transformers SET runs = runs + ?, failures = failures + ?, last_error = ?, last_error_at = ? WHERE id = ?`
		args = []any{runs, failures, lastError, ms(tx.now), id}
	}
	_, err := tx.tx.ExecContext(tx.ctx, q, args...)
	return err
}

// SetDeviceTransformers replaces the ordered chain of a device. The device
// and every transformer must be the owner's.
func (tx *Tx) SetDeviceTransformers(ownerID, udid string, ids []string) error {
	var n int
	if err := tx.tx.QueryRowContext(tx.ctx, `SELECT COUNT(*) FROM devices WHERE owner_id = ? AND udid = ?`, ownerID, udid).Scan(&n); err != nil {
		return err
	} else if n == 0 {
		return app.Errorf(app.ENOTFOUND, "Device not found.")
	}
	if _, err := tx.tx.ExecContext(tx.ctx, `DELETE FROM device_transformers WHERE udid = ?`, udid); err != nil {
		return err
	}
	seen := map[string]bool{}
	for i, id := range ids {
		if seen[id] {
			return app.Errorf(app.EINVALID, "A transformer is listed twice.")
		}
		seen[id] = true
		if _, err := tx.Transformer(ownerID, id); err != nil {
			return err
		}
		if _, err := tx.tx.ExecContext(tx.ctx, `INSERT INTO device_transformers (udid, transformer_id, position) VALUES (?, ?, ?)`, udid, id, i); err != nil {
			return err
		}
	}
	return nil
}

// DeviceTransformers returns a device's chain in order, quarantined ones
// included (the caller skips them and says so).
func (db *DB) DeviceTransformers(ctx context.Context, ownerID, udid string) ([]*app.Transformer, error) {
	return db.transformers(ctx, `SELECT `+transformerCols+` FROM transformers t
		JOIN device_transformers d ON d.transformer_id = t.id
		WHERE t.owner_id = ? AND d.udid = ? ORDER BY d.position`, ownerID, udid)
}

// TransformerDevices lists the UDIDs and aliases of the owner's devices
// running a transformer.
func (db *DB) TransformerDevices(ctx context.Context, ownerID, id string) ([][2]string, error) {
	return db.pairs(ctx, `SELECT d.udid, d.alias FROM devices d JOIN device_transformers x ON x.udid = d.udid
		WHERE d.owner_id = ? AND x.transformer_id = ? ORDER BY d.alias COLLATE NOCASE`, ownerID, id)
}

// pairs reads a two-column text query.
func (db *DB) pairs(ctx context.Context, query string, args ...any) ([][2]string, error) {
	rows, err := db.read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out [][2]string
	for rows.Next() {
		var a, b string
		if err := rows.Scan(&a, &b); err != nil {
			return nil, err
		}
		out = append(out, [2]string{a, b})
	}
	return out, rows.Err()
}

// DeviceEnvPublic returns a device's environment without its secrets, as
// transformers see it.
func (db *DB) DeviceEnvPublic(ctx context.Context, udid string) (map[string]string, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT name, value FROM device_env WHERE udid = ? AND secret = 0`, udid)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var n, v string
		if err := rows.Scan(&n, &v); err != nil {
			return nil, err
		}
		out[n] = v
	}
	return out, rows.Err()
}

// DeviceChoices lists up to limit of the owner's devices (UDID, alias) by
// name, for pickers.
func (db *DB) DeviceChoices(ctx context.Context, ownerID string, limit int) ([][2]string, error) {
	return db.pairs(ctx, `SELECT udid, alias FROM devices WHERE owner_id = ? ORDER BY alias COLLATE NOCASE, udid LIMIT ?`, ownerID, limit)
}
