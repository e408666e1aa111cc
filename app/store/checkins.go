package store

import (
	"context"
	"fmt"
	"time"

	"thinx/app"
)

const (
	qSavepoint     = `SAVEPOINT item`
	qRollbackTo    = `ROLLBACK TO item`
	qRelease       = `RELEASE item`
	qInsertCheckin = `INSERT INTO checkins (udid, at, firmware, version, status, rssi, ip) VALUES (?, ?, ?, ?, ?, ?, ?)`
	qTrimCheckins  = `DELETE FROM checkins WHERE udid = ? AND id < (
		SELECT id FROM checkins WHERE udid = ? ORDER BY id DESC LIMIT 1 OFFSET ?)`
	qAddDailyStats = `INSERT INTO daily_stats (owner_id, day, checkins, new_devices, active, errors, updated)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (owner_id, day) DO UPDATE SET checkins = checkins + excluded.checkins,
			new_devices = new_devices + excluded.new_devices, active = active + excluded.active,
			errors = errors + excluded.errors, updated = updated + excluded.updated`
)

// Savepoint runs fn inside a savepoint of the transaction: when fn fails,
// only its own changes are rolled back. Group commit uses it so one bad
// check-in never costs the others in the same batch.
func (tx *Tx) Savepoint(fn func() error) error { return (*Prepared)(nil).Savepoint(tx, fn) }

// Savepoint runs fn inside a savepoint of the transaction.
func (p *Prepared) Savepoint(tx *Tx, fn func() error) error {
	if _, err := tx.exec(p, qSavepoint); err != nil {
		return err
	}
	if err := fn(); err != nil {
		if _, rbErr := tx.exec(p, qRollbackTo); rbErr != nil {
			return fmt.Errorf("roll back savepoint: %w (after %w)", rbErr, err)
		}
		_, _ = tx.exec(p, qRelease)
		return mapErr(err)
	}
	_, err := tx.exec(p, qRelease)
	return err
}

// InsertCheckin records one check-in.
func (tx *Tx) InsertCheckin(c *app.Checkin) error { return (*Prepared)(nil).InsertCheckin(tx, c) }

// InsertCheckin records one check-in.
func (p *Prepared) InsertCheckin(tx *Tx, c *app.Checkin) error {
	res, err := tx.exec(p, qInsertCheckin, c.UDID, ms(c.At), c.Firmware, c.Version, c.Status, c.RSSI, c.IP)
	if err != nil {
		return err
	}
	c.ID, err = res.LastInsertId()
	return err
}

// TrimCheckins deletes a device's check-ins beyond the newest keep. The
// daily counters already hold them, so nothing is lost from the figures.
func (tx *Tx) TrimCheckins(udid string, keep int) error {
	return (*Prepared)(nil).TrimCheckins(tx, udid, keep)
}

// TrimCheckins deletes a device's check-ins beyond the newest keep.
func (p *Prepared) TrimCheckins(tx *Tx, udid string, keep int) error {
	_, err := tx.exec(p, qTrimCheckins, udid, udid, keep-1)
	return err
}

// Checkins returns an owner's device's latest check-ins, newest first.
func (db *DB) Checkins(ctx context.Context, ownerID, udid string, limit int) ([]*app.Checkin, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	rows, err := db.read.QueryContext(ctx, `SELECT c.id, c.udid, c.at, c.firmware, c.version, c.status, c.rssi, c.ip
		FROM checkins c JOIN devices d ON d.udid = c.udid
		WHERE c.udid = ? AND d.owner_id = ? ORDER BY c.id DESC LIMIT ?`, udid, ownerID, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*app.Checkin
	for rows.Next() {
		var c app.Checkin
		var at int64
		if err := rows.Scan(&c.ID, &c.UDID, &at, &c.Firmware, &c.Version, &c.Status, &c.RSSI, &c.IP); err != nil {
			return nil, err
		}
		c.At = fromMS(at)
		out = append(out, &c)
	}
	return out, rows.Err()
}

// Day is a UTC day number, the key of the daily counters.
func Day(t time.Time) int64 { return t.UTC().Unix() / 86400 }

// DayTime is the start of a day number.
func DayTime(day int64) time.Time { return time.Unix(day*86400, 0).UTC() }

// StatKey names one row of the daily counters.
type StatKey struct {
	OwnerID string
	Day     int64
}

// AddDailyStats adds the counts of a batch to the daily counters in one
// statement per owner and day.
func (tx *Tx) AddDailyStats(add map[StatKey]*app.DailyStat) error {
	return (*Prepared)(nil).AddDailyStats(tx, add)
}

// AddDailyStats adds the counts of a batch to the daily counters.
func (p *Prepared) AddDailyStats(tx *Tx, add map[StatKey]*app.DailyStat) error {
	for k, s := range add {
		if _, err := tx.exec(p, qAddDailyStats, k.OwnerID, k.Day, s.Checkins, s.NewDevices, s.Active, s.Errors, s.Updated); err != nil {
			return err
		}
	}
	return nil
}

// DailyStats returns an owner's counters for the days from first to last
// inclusive, one entry per day, zeros where nothing happened.
func (db *DB) DailyStats(ctx context.Context, ownerID string, first, last int64) ([]app.DailyStat, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT day, checkins, new_devices, active, errors, updated FROM daily_stats
		WHERE owner_id = ? AND day BETWEEN ? AND ? ORDER BY day`, ownerID, first, last)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	byDay := map[int64]app.DailyStat{}
	for rows.Next() {
		var day int64
		var s app.DailyStat
		if err := rows.Scan(&day, &s.Checkins, &s.NewDevices, &s.Active, &s.Errors, &s.Updated); err != nil {
			return nil, err
		}
		byDay[day] = s
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]app.DailyStat, 0, last-first+1)
	for d := first; d <= last; d++ {
		s := byDay[d]
		s.Day = DayTime(d)
		out = append(out, s)
	}
	return out, nil
}
