package devices

import (
	"context"
	"strings"

	"thinx/app"
	"thinx/app/audit"
	"thinx/app/store"
)

// List returns one page of an owner's devices matching f and the number of
// all matches.
func (s *Service) List(ctx context.Context, ownerID string, f app.DeviceFilter) ([]*app.Device, int, error) {
	switch f.Level {
	case "", app.LevelError, app.LevelWarning, app.LevelInfo:
	default:
		return nil, 0, app.Errorf(app.EINVALID, "Unknown status filter %q.", f.Level)
	}
	return s.DB.Devices(ctx, ownerID, f, s.now().Add(-s.StaleAfter))
}

// Get returns an owner's device with its meshes and environment (secret
// values masked). Another owner's device is ENOTFOUND.
func (s *Service) Get(ctx context.Context, ownerID, udid string) (*app.Device, error) {
	d, err := s.DB.Device(ctx, ownerID, udid)
	if err != nil {
		return nil, err
	}
	if d.Meshes, err = s.DB.DeviceMeshes(ctx, ownerID, udid); err != nil {
		return nil, err
	}
	env, err := s.DB.DeviceEnv(ctx, udid)
	d.Env = maskEnv(env)
	return d, err
}

// Stale reports whether a device has missed its check-ins.
func (s *Service) Stale(d *app.Device) bool {
	return d.LastCheckin.Before(s.now().Add(-s.StaleAfter))
}

// Checkins returns the latest check-ins of an owner's device, newest first.
func (s *Service) Checkins(ctx context.Context, ownerID, udid string, limit int) ([]*app.Checkin, error) {
	if _, err := s.DB.Device(ctx, ownerID, udid); err != nil {
		return nil, err
	}
	return s.DB.Checkins(ctx, ownerID, udid, limit)
}

// Update changes the editable fields of an owner's device.
func (s *Service) Update(ctx context.Context, ownerID, udid string, u app.DeviceUpdate, ip string) (*app.Device, error) {
	if err := u.Validate(); err != nil {
		return nil, err
	}
	var d *app.Device
	err := s.DB.Update(ctx, func(tx *store.Tx) error {
		var err error
		if d, err = tx.Device(ownerID, udid); err != nil {
			return err
		}
		changed := applyUpdate(d, u)
		if err := tx.SaveDevice(d); err != nil {
			return err
		}
		if u.Env != nil {
			old, err := tx.DeviceEnv(udid)
			if err != nil {
				return err
			}
			vars, err := mergeEnv(old, *u.Env)
			if err != nil {
				return err
			}
			if err := tx.SetDeviceEnv(udid, vars); err != nil {
				return err
			}
			changed = append(changed, "environment")
		}
		return audit.Record(tx, ownerID, ownerID, app.AuditDeviceChanged, ip,
			"Device "+d.Alias+" ("+d.UDID+") changed: "+strings.Join(changed, ", ")+".")
	})
	if err != nil {
		return nil, err
	}
	s.publish("changed", d)
	return d, nil
}

// applyUpdate copies the set fields of u onto d and names them.
func applyUpdate(d *app.Device, u app.DeviceUpdate) []string {
	var changed []string
	str := func(dst *string, v *string, name string) {
		if v != nil && *v != *dst {
			*dst = *v
			changed = append(changed, name)
		}
	}
	str(&d.Alias, u.Alias, "name")
	str(&d.Description, u.Description, "description")
	str(&d.Category, u.Category, "category")
	str(&d.Icon, u.Icon, "icon")
	str(&d.TimezoneAbbr, u.TimezoneAbbr, "time zone")
	if u.Tags != nil {
		d.Tags = *u.Tags
		changed = append(changed, "tags")
	}
	if u.AutoUpdate != nil && *u.AutoUpdate != d.AutoUpdate {
		d.AutoUpdate = *u.AutoUpdate
		changed = append(changed, "auto update")
	}
	if u.TimezoneOffset != nil {
		d.TimezoneOffset = *u.TimezoneOffset
	}
	if u.Lat != nil && u.Lon != nil {
		d.Lat, d.Lon = *u.Lat, *u.Lon
		changed = append(changed, "location")
	}
	if len(changed) == 0 {
		changed = []string{"nothing"}
	}
	return changed
}

// Delete revokes an owner's device: it is removed with its history, its
// UDID is refused from now on, and the broker ends its session.
func (s *Service) Delete(ctx context.Context, ownerID, udid, ip string) error {
	var d *app.Device
	err := s.DB.Update(ctx, func(tx *store.Tx) error {
		var err error
		d, err = s.deleteDevice(tx, ownerID, udid, ip)
		return err
	})
	if err != nil {
		return err
	}
	s.revoked(ownerID, udid)
	s.publish("revoked", d)
	return nil
}

func (s *Service) deleteDevice(tx *store.Tx, ownerID, udid, ip string) (*app.Device, error) {
	d, err := tx.Device(ownerID, udid)
	if err != nil {
		return nil, err
	}
	if err := tx.DeleteDevice(ownerID, udid); err != nil {
		return nil, err
	}
	return d, audit.Record(tx, ownerID, ownerID, app.AuditDeviceRevoked, ip, "Device "+d.Alias+" ("+d.UDID+") revoked.")
}

// maskEnv hides secret values for display.
func maskEnv(vars []app.EnvVar) []app.EnvVar {
	out := make([]app.EnvVar, len(vars))
	for i, v := range vars {
		out[i] = app.EnvVar{Name: v.Name, Value: v.Value, Secret: v.Secret, Set: true}
		if v.Secret {
			out[i].Value = ""
		}
	}
	return out
}

// mergeEnv takes a new environment from a form: a secret sent without a
// value keeps the stored one.
func mergeEnv(old, next []app.EnvVar) ([]app.EnvVar, error) {
	stored := map[string]app.EnvVar{}
	for _, v := range old {
		stored[v.Name] = v
	}
	out := make([]app.EnvVar, 0, len(next))
	for _, v := range next {
		if v.Secret && v.Value == "" {
			prev, ok := stored[v.Name]
			if !ok || prev.Value == "" {
				return nil, app.Errorf(app.EINVALID, "Secret %s needs a value.", v.Name)
			}
			v.Value = prev.Value
		}
		out = append(out, app.EnvVar{Name: v.Name, Value: v.Value, Secret: v.Secret, Set: true})
	}
	return out, nil
}

// OwnerEnv returns the owner-level environment, secret values masked.
func (s *Service) OwnerEnv(ctx context.Context, ownerID string) ([]app.EnvVar, error) {
	vars, err := s.DB.OwnerEnv(ctx, ownerID)
	return maskEnv(vars), err
}

// SecretNames are the names of the owner's secret variables and of the
// device's (one of the owner's): the values a configuration message shown
// in the console must mask.
func (s *Service) SecretNames(ctx context.Context, ownerID, udid string) (map[string]bool, error) {
	return s.DB.SecretEnvNames(ctx, ownerID, udid)
}

// SetOwnerEnv replaces the owner-level environment.
func (s *Service) SetOwnerEnv(ctx context.Context, ownerID string, vars []app.EnvVar, ip string) error {
	if err := app.ValidateEnv(vars); err != nil {
		return err
	}
	return s.DB.Update(ctx, func(tx *store.Tx) error {
		old, err := tx.OwnerEnv(ownerID)
		if err != nil {
			return err
		}
		merged, err := mergeEnv(old, vars)
		if err != nil {
			return err
		}
		if err := tx.SetOwnerEnv(ownerID, merged); err != nil {
			return err
		}
		return audit.Record(tx, ownerID, ownerID, app.AuditEnvChanged, ip, "Owner environment changed.")
	})
}
