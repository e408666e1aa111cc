package store

import (
	"context"

	"thinx/app"
)

// Environment variables of devices and owners. Secret values are
// encrypted at rest and decrypted on read (builds and configuration pushes
// need them); masking for display is the service's job.

func scanEnv(ctx context.Context, q querier, seal *sealer, query string, arg any) ([]app.EnvVar, error) {
	rows, err := q.QueryContext(ctx, query, arg)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []app.EnvVar
	for rows.Next() {
		var v app.EnvVar
		if err := rows.Scan(&v.Name, &v.Value, &v.Secret); err != nil {
			return nil, err
		}
		if v.Secret {
			var err error
			if v.Value, err = seal.open(v.Value); err != nil {
				return nil, err
			}
		}
		v.Set = true
		out = append(out, v)
	}
	return out, rows.Err()
}

// DeviceEnv returns a device's environment with secret values.
func (db *DB) DeviceEnv(ctx context.Context, udid string) ([]app.EnvVar, error) {
	return scanEnv(ctx, db.read, db.seal, `SELECT name, value, secret FROM device_env WHERE udid = ? ORDER BY name`, udid)
}

// DeviceEnv reads a device's environment inside the transaction.
func (tx *Tx) DeviceEnv(udid string) ([]app.EnvVar, error) {
	return scanEnv(tx.ctx, tx.tx, tx.seal, `SELECT name, value, secret FROM device_env WHERE udid = ? ORDER BY name`, udid)
}

// SetDeviceEnv replaces a device's environment.
func (tx *Tx) SetDeviceEnv(udid string, vars []app.EnvVar) error {
	if _, err := tx.tx.ExecContext(tx.ctx, `DELETE FROM device_env WHERE udid = ?`, udid); err != nil {
		return err
	}
	for _, v := range vars {
		if _, err := tx.tx.ExecContext(tx.ctx, `INSERT INTO device_env (udid, name, value, secret, updated_at) VALUES (?, ?, ?, ?, ?)`,
			udid, v.Name, tx.stored(v), v.Secret, ms(tx.now)); err != nil {
			return err
		}
	}
	return nil
}

// OwnerEnv returns an owner's environment with secret values.
func (db *DB) OwnerEnv(ctx context.Context, ownerID string) ([]app.EnvVar, error) {
	return scanEnv(ctx, db.read, db.seal, `SELECT name, value, secret FROM owner_env WHERE owner_id = ? ORDER BY name`, ownerID)
}

// OwnerEnv reads an owner's environment inside the transaction.
func (tx *Tx) OwnerEnv(ownerID string) ([]app.EnvVar, error) {
	return scanEnv(tx.ctx, tx.tx, tx.seal, `SELECT name, value, secret FROM owner_env WHERE owner_id = ? ORDER BY name`, ownerID)
}

// SetOwnerEnv replaces an owner's environment.
func (tx *Tx) SetOwnerEnv(ownerID string, vars []app.EnvVar) error {
	if _, err := tx.tx.ExecContext(tx.ctx, `DELETE FROM owner_env WHERE owner_id = ?`, ownerID); err != nil {
		return err
	}
	for _, v := range vars {
		if _, err := tx.tx.ExecContext(tx.ctx, `INSERT INTO owner_env (owner_id, name, value, secret, updated_at) VALUES (?, ?, ?, ?, ?)`,
			ownerID, v.Name, tx.stored(v), v.Secret, ms(tx.now)); err != nil {
			return err
		}
	}
	return nil
}

// stored is the value as written: sealed when secret.
func (tx *Tx) stored(v app.EnvVar) string {
	if v.Secret {
		return tx.seal.seal(v.Value)
	}
	return v.Value
}

// SecretEnvNames returns the names of an owner's secret variables and, when
// udid names one of the owner's devices, of that device's: what a
// configuration message must not show. No value is decrypted.
func (db *DB) SecretEnvNames(ctx context.Context, ownerID, udid string) (map[string]bool, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT name FROM owner_env WHERE owner_id = ? AND secret
		UNION SELECT name FROM device_env WHERE udid = ? AND secret AND udid IN (SELECT udid FROM devices WHERE owner_id = ?)`,
		ownerID, udid, ownerID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	names := map[string]bool{}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		names[n] = true
	}
	return names, rows.Err()
}
