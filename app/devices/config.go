package devices

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"thinx/app"
	"thinx/app/audit"
	"thinx/app/store"
)

// Outcomes of a configuration push, per device.
const (
	MsgDelivered = "delivered"
	MsgQueued    = "queued until the device connects"
)

// PushConfig sends a configuration to devices: {"configuration":{"KEY":
// "value"}} with values from the owner environment, each device's
// environment and typed values, in that order of precedence. Every message
// is queued first; devices online now get it at once, the others when
// they connect.
func (s *Service) PushConfig(ctx context.Context, ownerID string, udids []string, req app.ConfigRequest, ip string) (app.BulkResult, error) {
	if err := checkConfigRequest(udids, req); err != nil {
		return app.BulkResult{}, err
	}
	var items []app.BulkItem
	var queued []*app.ConfigPush
	err := s.DB.Update(ctx, func(tx *store.Tx) error {
		var err error
		items, queued, err = s.queueConfig(tx, ownerID, udids, req, ip)
		return err
	})
	if err != nil {
		return app.BulkResult{}, err
	}
	delivered := s.deliverOnline(ctx, ownerID, queued)
	res := app.BulkResult{Items: items}
	for i := range res.Items {
		it := &res.Items[i]
		if it.OK && delivered[it.UDID] {
			it.Message = MsgDelivered
		}
		if it.OK {
			res.OK++
		} else {
			res.Failed++
		}
	}
	return res, nil
}

func checkConfigRequest(udids []string, req app.ConfigRequest) error {
	if len(udids) == 0 || len(udids) > app.MaxBulkDevices {
		return app.Errorf(app.EINVALID, "Choose between 1 and %d devices.", app.MaxBulkDevices)
	}
	if len(req.OwnerEnv)+len(req.DeviceEnv)+len(req.Values) == 0 {
		return app.Errorf(app.EINVALID, "Choose at least one variable to push.")
	}
	vars := make([]app.EnvVar, 0, len(req.Values))
	for k, v := range req.Values {
		vars = append(vars, app.EnvVar{Name: k, Value: v})
	}
	for _, n := range append(slices.Clone(req.OwnerEnv), req.DeviceEnv...) {
		if err := app.ValidateEnv([]app.EnvVar{{Name: n}}); err != nil {
			return err
		}
	}
	return app.ValidateEnv(vars)
}

// queueConfig builds and stores one message per device, in the caller's
// transaction. Devices that are not the owner's, or lack a named variable,
// fail alone.
func (s *Service) queueConfig(tx *store.Tx, ownerID string, udids []string, req app.ConfigRequest, ip string) ([]app.BulkItem, []*app.ConfigPush, error) {
	ownerEnv, err := tx.OwnerEnv(ownerID)
	if err != nil {
		return nil, nil, err
	}
	items := make([]app.BulkItem, 0, len(udids))
	var queued []*app.ConfigPush
	for _, udid := range udids {
		p, err := s.configFor(tx, ownerID, udid, ownerEnv, req)
		if err == nil {
			err = tx.QueueConfigPush(ownerID, p)
		}
		if err != nil {
			if app.ErrorCode(err) == app.EINTERNAL {
				return nil, nil, err
			}
			items = append(items, app.BulkItem{UDID: udid, Message: app.ErrorMessage(err)})
			continue
		}
		queued = append(queued, p)
		items = append(items, app.BulkItem{UDID: udid, OK: true, Message: MsgQueued})
	}
	keys := configKeys(req)
	msg := fmt.Sprintf("Configuration (%s) pushed to %d device(s).", strings.Join(keys, ", "), len(queued))
	return items, queued, audit.Record(tx, ownerID, ownerID, app.AuditConfigPushed, ip, msg)
}

func (s *Service) configFor(tx *store.Tx, ownerID, udid string, ownerEnv []app.EnvVar, req app.ConfigRequest) (*app.ConfigPush, error) {
	if _, err := tx.Device(ownerID, udid); err != nil {
		return nil, err
	}
	cfg := map[string]string{}
	if err := pick(cfg, ownerEnv, req.OwnerEnv, "owner environment"); err != nil {
		return nil, err
	}
	if len(req.DeviceEnv) > 0 {
		devEnv, err := tx.DeviceEnv(udid)
		if err != nil {
			return nil, err
		}
		if err := pick(cfg, devEnv, req.DeviceEnv, "device environment"); err != nil {
			return nil, err
		}
	}
	for k, v := range req.Values {
		cfg[k] = v
	}
	payload := configPayload(cfg)
	if len(payload) > app.MaxConfigBytes {
		return nil, app.Errorf(app.EINVALID, "The configuration is %d bytes; at most %d fit in one message.", len(payload), app.MaxConfigBytes)
	}
	return &app.ConfigPush{UDID: udid, Keys: sortedKeys(cfg), Payload: payload}, nil
}

// pick copies the named variables from env into cfg.
func pick(cfg map[string]string, env []app.EnvVar, names []string, where string) error {
	for _, n := range names {
		i := slices.IndexFunc(env, func(v app.EnvVar) bool { return v.Name == n })
		if i < 0 {
			return app.Errorf(app.EINVALID, "%s is not set in the %s.", n, where)
		}
		cfg[n] = env[i].Value
	}
	return nil
}

// configPayload is {"configuration":{…}} with sorted keys. Values are
// escaped like the registration reply, so no "}}" ends it early for the
// device's parser.
func configPayload(cfg map[string]string) []byte {
	b := []byte(`{"configuration":{`)
	for i, k := range sortedKeys(cfg) {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, k)
		b = append(b, ':')
		b = appendString(b, cfg[k])
	}
	return append(b, "}}"...)
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func configKeys(req app.ConfigRequest) []string {
	all := map[string]string{}
	for _, n := range append(slices.Clone(req.OwnerEnv), req.DeviceEnv...) {
		all[n] = ""
	}
	for k := range req.Values {
		all[k] = ""
	}
	return sortedKeys(all)
}
