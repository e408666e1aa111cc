package store

import (
	"context"
	"encoding/json"

	"thinx/app"
)

const deviceCols = `udid, owner_id, mac, alias, description, category, icon, tags, platform, firmware, version,
	commit_id, checksum, env_hash, fcid, status, status_text, level, status_error, lat, lon, rssi, ip, auto_update,
	timezone_abbr, timezone_offset, online, online_at, checkins, error_day, key_hash, prev_owner_id,
	transfer_key_hash, created_at, updated_at, last_checkin`

func scanDevice(s scanner) (*app.Device, error) {
	var d app.Device
	var tags string
	var onlineAt, created, updated, last int64
	err := s.Scan(&d.UDID, &d.OwnerID, &d.MAC, &d.Alias, &d.Description, &d.Category, &d.Icon, &tags, &d.Platform,
		&d.Firmware, &d.Version, &d.Commit, &d.Checksum, &d.EnvHash, &d.FCID, &d.Status, &d.StatusText, &d.Level,
		&d.StatusError, &d.Lat, &d.Lon, &d.RSSI, &d.IP, &d.AutoUpdate, &d.TimezoneAbbr, &d.TimezoneOffset, &d.Online,
		&onlineAt, &d.Checkins, &d.ErrorDay, &d.KeyHash, &d.PrevOwnerID, &d.TransferKeyHash, &created, &updated, &last)
	if err != nil {
		return nil, err
	}
	if tags != "[]" && tags != "" {
		_ = json.Unmarshal([]byte(tags), &d.Tags)
	}
	d.OnlineAt, d.CreatedAt, d.UpdatedAt, d.LastCheckin = fromMS(onlineAt), fromMS(created), fromMS(updated), fromMS(last)
	return &d, nil
}

func deviceWhere(ctx context.Context, q querier, where string, args ...any) (*app.Device, error) {
	d, err := scanDevice(q.QueryRowContext(ctx, `SELECT `+deviceCols+` FROM devices WHERE `+where, args...))
	return d, notFound(err, "Device")
}

// Device returns an owner's device. Another owner's device is ENOTFOUND,
// the same as one that does not exist.
func (db *DB) Device(ctx context.Context, ownerID, udid string) (*app.Device, error) {
	return deviceWhere(ctx, db.read, "udid = ? AND owner_id = ?", udid, ownerID)
}

// DeviceByUDID returns a device of any owner. Only the device protocol and
// the broker use it: they learn the owner from the device.
func (db *DB) DeviceByUDID(ctx context.Context, udid string) (*app.Device, error) {
	return deviceWhere(ctx, db.read, "udid = ?", udid)
}

const (
	qDeviceByUDID = `SELECT ` + deviceCols + ` FROM devices WHERE udid = ?`
	qOwnerDevice  = `SELECT ` + deviceCols + ` FROM devices WHERE udid = ? AND owner_id = ?`
)

// DeviceByUDID reads a device of any owner inside the transaction.
func (tx *Tx) DeviceByUDID(udid string) (*app.Device, error) {
	return (*Prepared)(nil).DeviceByUDID(tx, udid)
}

// DeviceByUDID reads a device of any owner inside the transaction.
func (p *Prepared) DeviceByUDID(tx *Tx, udid string) (*app.Device, error) {
	d, err := scanDevice(tx.queryRow(p, qDeviceByUDID, udid))
	return d, notFound(err, "Device")
}

// Device reads an owner's device inside the transaction.
func (tx *Tx) Device(ownerID, udid string) (*app.Device, error) {
	return (*Prepared)(nil).Device(tx, ownerID, udid)
}

// Device reads an owner's device inside the transaction.
func (p *Prepared) Device(tx *Tx, ownerID, udid string) (*app.Device, error) {
	d, err := scanDevice(tx.queryRow(p, qOwnerDevice, udid, ownerID))
	return d, notFound(err, "Device")
}

func tagsJSON(tags []string) string {
	if len(tags) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(tags)
	return string(b)
}

// CreateDevice inserts a device; an existing UDID is ECONFLICT.
func (tx *Tx) CreateDevice(d *app.Device) error {
	_, err := tx.tx.ExecContext(tx.ctx, `INSERT INTO devices (`+deviceCols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		d.UDID, d.OwnerID, d.MAC, d.Alias, d.Description, d.Category, d.Icon, tagsJSON(d.Tags), d.Platform,
		d.Firmware, d.Version, d.Commit, d.Checksum, d.EnvHash, d.FCID, d.Status, d.StatusText, d.Level,
		d.StatusError, d.Lat, d.Lon, d.RSSI, d.IP, d.AutoUpdate, d.TimezoneAbbr, d.TimezoneOffset, d.Online,
		ms(d.OnlineAt), d.Checkins, d.ErrorDay, d.KeyHash, d.PrevOwnerID, d.TransferKeyHash, ms(d.CreatedAt),
		ms(d.UpdatedAt), ms(d.LastCheckin))
	if err != nil {
		return mapErr(err)
	}
	return tx.setTags(d.OwnerID, d.UDID, d.Tags)
}

// A check-in rewrites the device row. The columns with an index (alias,
// platform, level) are written by a second statement only when they
// change, so a routine check-in does not touch those indexes.
const (
	qSaveCheckin = `UPDATE devices SET mac = ?, firmware = ?, version = ?, commit_id = ?, checksum = ?, env_hash = ?,
	fcid = ?, status = ?, status_text = ?, status_error = ?, lat = ?, lon = ?, rssi = ?, ip = ?, timezone_abbr = ?,
	timezone_offset = ?, checkins = ?, error_day = ?, key_hash = ?, updated_at = ?, last_checkin = ?
	WHERE udid = ? AND owner_id = ?`
	qSaveIndexed = `UPDATE devices SET alias = ?, platform = ?, level = ? WHERE udid = ? AND owner_id = ?`
)

// SaveCheckin writes what a check-in changes; prev is the device as read
// before it. The owner is part of the condition so a device moved by a
// concurrent transfer is not overwritten.
func (tx *Tx) SaveCheckin(d, prev *app.Device) error {
	return (*Prepared)(nil).SaveCheckin(tx, d, prev)
}

// SaveCheckin writes what a check-in changes.
func (p *Prepared) SaveCheckin(tx *Tx, d, prev *app.Device) error {
	err := tx.exec1p(p, "Device", qSaveCheckin,
		d.MAC, d.Firmware, d.Version, d.Commit, d.Checksum, d.EnvHash, d.FCID, d.Status, d.StatusText, d.StatusError,
		d.Lat, d.Lon, d.RSSI, d.IP, d.TimezoneAbbr, d.TimezoneOffset, d.Checkins, d.ErrorDay, d.KeyHash,
		ms(d.UpdatedAt), ms(d.LastCheckin), d.UDID, d.OwnerID)
	if err != nil || prev != nil && prev.Alias == d.Alias && prev.Platform == d.Platform && prev.Level == d.Level {
		return err
	}
	_, err = tx.exec(p, qSaveIndexed, d.Alias, d.Platform, d.Level, d.UDID, d.OwnerID)
	return err
}

// SaveDevice writes the fields an owner edits.
func (tx *Tx) SaveDevice(d *app.Device) error {
	d.UpdatedAt = tx.now
	err := tx.exec1("Device", `UPDATE devices SET alias = ?, description = ?, category = ?, icon = ?, tags = ?,
		auto_update = ?, timezone_abbr = ?, timezone_offset = ?, lat = ?, lon = ?, updated_at = ?
		WHERE udid = ? AND owner_id = ?`,
		d.Alias, d.Description, d.Category, d.Icon, tagsJSON(d.Tags), d.AutoUpdate, d.TimezoneAbbr,
		d.TimezoneOffset, d.Lat, d.Lon, ms(tx.now), d.UDID, d.OwnerID)
	if err != nil {
		return err
	}
	return tx.setTags(d.OwnerID, d.UDID, d.Tags)
}

const qSaveStatus = `UPDATE devices SET status = ?, status_text = ?, level = ?, status_error = ?,
	error_day = ?, updated_at = ? WHERE udid = ? AND owner_id = ?`

// SaveStatus writes a status that arrived outside a check-in (MQTT).
func (tx *Tx) SaveStatus(d *app.Device) error { return (*Prepared)(nil).SaveStatus(tx, d) }

// SaveStatus writes a status that arrived outside a check-in (MQTT).
func (p *Prepared) SaveStatus(tx *Tx, d *app.Device) error {
	return tx.exec1p(p, "Device", qSaveStatus, d.Status, d.StatusText, d.Level, d.StatusError, d.ErrorDay, ms(tx.now), d.UDID, d.OwnerID)
}

const qSetOnline = `UPDATE devices SET online = ?, online_at = ? WHERE udid = ? AND owner_id = ?`

// SetDeviceOnline records a broker connect or disconnect and returns the
// device.
func (tx *Tx) SetDeviceOnline(ownerID, udid string, online bool) (*app.Device, error) {
	return (*Prepared)(nil).SetDeviceOnline(tx, ownerID, udid, online)
}

// SetDeviceOnline records a broker connect or disconnect.
func (p *Prepared) SetDeviceOnline(tx *Tx, ownerID, udid string, online bool) (*app.Device, error) {
	if err := tx.exec1p(p, "Device", qSetOnline, online, ms(tx.now), udid, ownerID); err != nil {
		return nil, err
	}
	return p.Device(tx, ownerID, udid)
}

func (tx *Tx) setTags(ownerID, udid string, tags []string) error {
	if _, err := tx.tx.ExecContext(tx.ctx, `DELETE FROM device_tags WHERE udid = ?`, udid); err != nil {
		return err
	}
	for _, t := range tags {
		if _, err := tx.tx.ExecContext(tx.ctx, `INSERT INTO device_tags (udid, owner_id, tag) VALUES (?, ?, ?)`, udid, ownerID, t); err != nil {
			return err
		}
	}
	return nil
}

// DeleteDevice removes an owner's device with everything that hangs off it
// and leaves a tombstone, so the UDID cannot check in again.
func (tx *Tx) DeleteDevice(ownerID, udid string) error {
	if err := tx.exec1("Device", `DELETE FROM devices WHERE udid = ? AND owner_id = ?`, udid, ownerID); err != nil {
		return err
	}
	if _, err := tx.tx.ExecContext(tx.ctx, `DELETE FROM transfer_devices WHERE udid = ? AND state = 'pending'`, udid); err != nil {
		return err
	}
	_, err := tx.tx.ExecContext(tx.ctx, `INSERT OR REPLACE INTO device_tombstones (udid, owner_id, revoked_at) VALUES (?, ?, ?)`,
		udid, ownerID, ms(tx.now))
	return err
}

// Tombstone reports the owner of a revoked UDID, or ENOTFOUND.
func (tx *Tx) Tombstone(udid string) (string, error) {
	var owner string
	err := tx.tx.QueryRowContext(tx.ctx, `SELECT owner_id FROM device_tombstones WHERE udid = ?`, udid).Scan(&owner)
	return owner, notFound(err, "Tombstone")
}

// DeviceMeshes lists the mesh IDs a device belongs to.
func (db *DB) DeviceMeshes(ctx context.Context, ownerID, udid string) ([]string, error) {
	return deviceMeshes(ctx, db.read, ownerID, udid)
}

func deviceMeshes(ctx context.Context, q querier, ownerID, udid string) ([]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT mesh_id FROM mesh_devices WHERE owner_id = ? AND udid = ? ORDER BY mesh_id`, ownerID, udid)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// DeviceOwner returns the owner and meshes of any device, for the broker's
// access checks.
func (db *DB) DeviceOwner(ctx context.Context, udid string) (string, []string, error) {
	var owner string
	err := db.read.QueryRowContext(ctx, `SELECT owner_id FROM devices WHERE udid = ?`, udid).Scan(&owner)
	if err != nil {
		return "", nil, notFound(err, "Device")
	}
	meshes, err := deviceMeshes(ctx, db.read, owner, udid)
	return owner, meshes, err
}

// ResetOnline marks every device offline. At start the broker has no
// sessions yet, so flags left from before a crash would be wrong.
func (db *DB) ResetOnline(ctx context.Context) error {
	return db.Update(ctx, func(tx *Tx) error {
		_, err := tx.tx.ExecContext(tx.ctx, `UPDATE devices SET online = 0 WHERE online = 1`)
		return err
	})
}
