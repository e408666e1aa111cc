package devices

import (
	"context"
	"fmt"
	"slices"

	"thinx/app"
	"thinx/app/audit"
	"thinx/app/store"
)

// Bulk applies one action to many of an owner's devices and reports per
// device. A device that is not the owner's fails alone, as "not found".
func (s *Service) Bulk(ctx context.Context, ownerID string, a app.BulkAction, ip string) (app.BulkResult, error) {
	a.UDIDs = slices.Compact(slices.Sorted(slices.Values(a.UDIDs)))
	if len(a.UDIDs) == 0 || len(a.UDIDs) > app.MaxBulkDevices {
		return app.BulkResult{}, app.Errorf(app.EINVALID, "Choose between 1 and %d devices.", app.MaxBulkDevices)
	}
	switch a.Kind {
	case app.BulkConfig:
		return s.PushConfig(ctx, ownerID, a.UDIDs, a.Config, ip)
	case app.BulkTags:
		if err := app.ValidateTags(a.Tags); err != nil {
			return app.BulkResult{}, err
		}
	case app.BulkAutoUpdate, app.BulkDelete, app.BulkMesh:
	default:
		return app.BulkResult{}, app.Errorf(app.EINVALID, "Unknown bulk action %q.", a.Kind)
	}
	var res app.BulkResult
	var deleted []*app.Device
	err := s.DB.Update(ctx, func(tx *store.Tx) error {
		if a.Kind == app.BulkMesh {
			if _, err := tx.Mesh(ownerID, a.MeshID); err != nil {
				return err
			}
		}
		res, deleted = app.BulkResult{}, nil
		for _, u := range a.UDIDs {
			var d *app.Device
			err := tx.Savepoint(func() error {
				var err error
				d, err = s.bulkOne(tx, ownerID, u, a, ip)
				return err
			})
			if err != nil && app.ErrorCode(err) == app.EINTERNAL {
				return err
			}
			addResult(&res, u, err)
			if err == nil && a.Kind == app.BulkDelete {
				deleted = append(deleted, d)
			}
		}
		msg := fmt.Sprintf("Bulk %s on %d device(s): %d done, %d failed.", a.Kind, len(a.UDIDs), res.OK, res.Failed)
		return audit.Record(tx, ownerID, ownerID, app.AuditDeviceChanged, ip, msg)
	})
	for _, d := range deleted {
		s.revoked(ownerID, d.UDID)
		s.publish("revoked", d)
	}
	return res, err
}

func (s *Service) bulkOne(tx *store.Tx, ownerID, udid string, a app.BulkAction, ip string) (*app.Device, error) {
	if a.Kind == app.BulkDelete {
		return s.deleteDevice(tx, ownerID, udid, ip)
	}
	if a.Kind == app.BulkMesh {
		return nil, tx.AttachMesh(ownerID, a.MeshID, udid)
	}
	d, err := tx.Device(ownerID, udid)
	if err != nil {
		return nil, err
	}
	switch a.Kind {
	case app.BulkTags:
		d.Tags = slices.Clone(a.Tags)
	case app.BulkAutoUpdate:
		d.AutoUpdate = a.AutoUpdate
	}
	return d, tx.SaveDevice(d)
}

// addResult records the outcome for one device.
func addResult(r *app.BulkResult, udid string, err error) {
	if err != nil {
		r.Failed++
		r.Items = append(r.Items, app.BulkItem{UDID: udid, Message: app.ErrorMessage(err)})
		return
	}
	r.OK++
	r.Items = append(r.Items, app.BulkItem{UDID: udid, OK: true, Message: "done"})
}
