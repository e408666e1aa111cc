package store

import (
	"context"
	"time"

	"thinx/app"
)

// DeviceCounts fills the device figures of an owner's dashboard in one
// pass over the owner's devices.
func (db *DB) DeviceCounts(ctx context.Context, ownerID string, staleBefore time.Time, d *app.Dashboard) error {
	return db.read.QueryRowContext(ctx, `SELECT COUNT(*),
		COALESCE(SUM(online), 0),
		COALESCE(SUM(level = 'error'), 0),
		COALESCE(SUM(level = 'warning'), 0),
		COALESCE(SUM(last_checkin < ?2), 0),
		(SELECT COUNT(*) FROM notifications WHERE owner_id = ?1 AND answered_at = 0)
		FROM devices WHERE owner_id = ?1`, ownerID, ms(staleBefore)).
		Scan(&d.Devices, &d.Online, &d.Errors, &d.Warnings, &d.Stale, &d.Notifications)
}

// RecentDevices returns the devices that checked in last, newest first.
func (db *DB) RecentDevices(ctx context.Context, ownerID string, n int) ([]*app.Device, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT `+deviceCols+` FROM devices WHERE owner_id = ? AND last_checkin > 0
		ORDER BY last_checkin DESC LIMIT ?`, ownerID, n)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*app.Device
	for rows.Next() {
		d, err := scanDevice(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}
