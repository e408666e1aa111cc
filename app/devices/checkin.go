package devices

import (
	"context"
	"time"

	"thinx/app"
	"thinx/app/audit"
	"thinx/app/store"
)

// trimEvery spaces out the trimming of a device's history: one DELETE per
// ten check-ins instead of one per check-in.
const trimEvery = 10

// commitCheckin writes a check-in through the group commit and returns the
// device as stored and the owner ID to tell the device.
func (s *Service) commitCheckin(ctx context.Context, ck *checkin) (*app.Device, string, error) {
	delta := &statDelta{}
	var d *app.Device
	var replyOwner string
	err := s.write(ctx, func(tx *store.Tx) error {
		*delta = statDelta{}
		var err error
		d, replyOwner, err = s.applyCheckin(tx, ck, delta)
		return err
	}, delta)
	return d, replyOwner, err
}

// applyCheckin decides, on the device as the transaction sees it, whether
// the check-in is allowed, then creates or updates the device and records
// the check-in.
func (s *Service) applyCheckin(tx *store.Tx, ck *checkin, delta *statDelta) (*app.Device, string, error) {
	reg := ck.reg
	cur, err := s.stmts.DeviceByUDID(tx, ck.udid)
	if err != nil && app.ErrorCode(err) != app.ENOTFOUND {
		return nil, "", err
	}
	if cur == nil {
		return s.createDevice(tx, ck, delta)
	}
	switch {
	case ck.fresh:
		return nil, "", &retryError{}
	case cur.OwnerID == reg.Owner && (ck.keyOwner == reg.Owner || ck.keyOwner == cur.PrevOwnerID && ck.keyHash == cur.TransferKeyHash):
	case cur.PrevOwnerID == reg.Owner && ck.keyOwner == reg.Owner:
		// Transferred: the device learns its new owner from this reply.
	default:
		return nil, "", &refusal{owner: cur.OwnerID, device: cur}
	}
	if cur.OwnerID != ck.tfOwner {
		return nil, "", &retryError{owner: cur.OwnerID}
	}
	d := *cur
	now := tx.Now()
	applyRegistration(&d, ck, now)
	countCheckin(&d, cur, delta, now)
	if err := s.stmts.SaveCheckin(tx, &d, cur); err != nil {
		return nil, "", err
	}
	if err := s.recordCheckin(tx, &d, ck); err != nil {
		return nil, "", err
	}
	return &d, d.OwnerID, nil
}

func (s *Service) createDevice(tx *store.Tx, ck *checkin, delta *statDelta) (*app.Device, string, error) {
	if ck.keyOwner != ck.reg.Owner {
		return nil, "", errAuth // the transferred-key exception needs an existing device
	}
	if owner, err := tx.Tombstone(ck.udid); err == nil {
		return nil, "", &refusal{owner: owner, revoked: true}
	}
	now := tx.Now()
	d := &app.Device{UDID: ck.udid, OwnerID: ck.reg.Owner, CreatedAt: now}
	if d.Alias = app.CleanAlias(string(ck.reg.Alias)); d.Alias == "" {
		d.Alias = friendlyName()
	}
	applyRegistration(d, ck, now)
	countCheckin(d, nil, delta, now)
	if err := tx.CreateDevice(d); err != nil {
		return nil, "", err
	}
	if err := s.recordCheckin(tx, d, ck); err != nil {
		return nil, "", err
	}
	how := "registered"
	if !ck.fresh {
		how = "registered with its existing UDID"
	}
	if err := audit.Record(tx, d.OwnerID, "", app.AuditDeviceCreated, ck.ip, "Device "+d.Alias+" ("+d.UDID+") "+how+"."); err != nil {
		return nil, "", err
	}
	return d, d.OwnerID, nil
}

// applyRegistration copies what the device reported onto the record. Fields
// the device left out keep their stored values.
func applyRegistration(d *app.Device, ck *checkin, now time.Time) {
	r := ck.reg
	setIf(&d.MAC, r.MAC)
	setIf(&d.Platform, r.Platform)
	setIf(&d.Firmware, string(r.Firmware))
	setIf(&d.Version, string(r.Version))
	setIf(&d.Commit, string(r.Commit))
	setIf(&d.Checksum, string(r.Checksum))
	setIf(&d.EnvHash, r.EnvHash)
	setIf(&d.FCID, r.FCID)
	setIf(&d.TimezoneAbbr, r.TimezoneAbbr)
	if r.Status != nil {
		d.Status, d.StatusText, d.StatusError = *r.Status, ck.statusText, ck.statusErr
		d.Level = app.StatusLevel(d.StatusLine())
	}
	// The ESP libraries send "0.00","0.00" when the sketch never set a
	// location; that must not wipe one the owner entered.
	if r.Lat.Set && r.Lon.Set && (r.Lat.V != 0 || r.Lon.V != 0) &&
		r.Lat.V >= -90 && r.Lat.V <= 90 && r.Lon.V >= -180 && r.Lon.V <= 180 {
		d.Lat, d.Lon = r.Lat.V, r.Lon.V
	}
	if r.RSSI.Set {
		d.RSSI = int(r.RSSI.V)
	}
	if r.TimezoneOffset.Set && r.TimezoneOffset.V >= -12 && r.TimezoneOffset.V <= 14 {
		d.TimezoneOffset = r.TimezoneOffset.V
	}
	if d.Alias == "" {
		if d.Alias = app.CleanAlias(string(r.Alias)); d.Alias == "" {
			d.Alias = friendlyName()
		}
	}
	d.IP, d.KeyHash = ck.ip, ck.keyHash
	d.Checkins++
	d.LastCheckin, d.UpdatedAt = now, now
}

func setIf(dst *string, v string) {
	if v != "" {
		*dst = v
	}
}

// countCheckin fills the daily counters for one check-in. cur is the
// device before it (nil for a new one), d after it; d.ErrorDay moves on
// when the device is counted as in error today.
func countCheckin(d, cur *app.Device, delta *statDelta, now time.Time) {
	today := store.Day(now)
	delta.key = store.StatKey{OwnerID: d.OwnerID, Day: today}
	delta.Checkins = 1
	switch {
	case cur == nil:
		delta.NewDevices, delta.Active = 1, 1
	case store.Day(cur.LastCheckin) != today:
		delta.Active = 1
	}
	if cur != nil && cur.Version != "" && d.Version != cur.Version {
		delta.Updated = 1
	}
	if d.Level == app.LevelError && d.ErrorDay != today {
		delta.Errors, d.ErrorDay = 1, today
	}
}

// recordCheckin inserts the check-in row, stores a push token and trims
// the history now and then.
func (s *Service) recordCheckin(tx *store.Tx, d *app.Device, ck *checkin) error {
	r := ck.reg
	c := &app.Checkin{UDID: d.UDID, At: d.LastCheckin, Firmware: d.Firmware, Version: d.Version, Status: d.Status, RSSI: d.RSSI, IP: ck.ip}
	if err := s.stmts.InsertCheckin(tx, c); err != nil {
		return err
	}
	if r.Push != "" {
		if err := tx.SetPushToken(d.UDID, r.Push); err != nil {
			return err
		}
	}
	keep := s.CheckinsKept
	if keep <= 0 {
		keep = DefaultCheckinsKept
	}
	if d.Checkins > int64(keep) && d.Checkins%trimEvery == 0 {
		return s.stmts.TrimCheckins(tx, d.UDID, keep)
	}
	return nil
}
