package devices

import (
	"context"

	"thinx/app"
	"thinx/app/store"
)

// deviceTopic is where the server talks to a device.
func deviceTopic(ownerID, udid string) string { return "/" + ownerID + "/" + udid }

// SetOnline records a broker connect or disconnect of an owner's device.
// The write shares the check-in group commit: after a broker restart every
// device reconnects at once. Waiting configuration pushes go out when the
// device subscribes to its topic (DeviceListening), not here: a message
// published before that subscription would reach nobody.
func (s *Service) SetOnline(ctx context.Context, ownerID, udid string, online bool) error {
	var d *app.Device
	err := s.write(ctx, func(tx *store.Tx) error {
		var err error
		d, err = s.stmts.SetDeviceOnline(tx, ownerID, udid, online)
		return err
	}, nil)
	if err != nil {
		return err
	}
	s.publish("online", d)
	return nil
}

// DeviceListening is called by the broker when a device has subscribed to
// its own topic: the pushes that waited for it are delivered now.
func (s *Service) DeviceListening(ctx context.Context, ownerID, udid string) error {
	return s.DeviceConnected(ctx, ownerID, udid)
}

// DeviceConnected delivers, in order, the configuration pushes that waited
// for the device. A message the broker refuses stays pending, and so do
// the ones after it, to keep their order.
func (s *Service) DeviceConnected(ctx context.Context, ownerID, udid string) error {
	if s.Publisher == nil {
		return nil
	}
	if waiting, err := s.DB.HasPendingConfig(ctx, ownerID, udid); err != nil || !waiting {
		return err
	}
	var claimed []*app.ConfigPush
	err := s.DB.Update(ctx, func(tx *store.Tx) error {
		var err error
		claimed, err = tx.ClaimConfigPushes(ownerID, udid, nil)
		return err
	})
	if err != nil || len(claimed) == 0 {
		return err
	}
	for i, p := range claimed {
		if err := s.Publisher.Publish(deviceTopic(ownerID, udid), p.Payload, 1); err != nil {
			s.unclaim(ctx, claimed[i:])
			return err
		}
	}
	return nil
}

// deliverOnline publishes freshly queued messages to the devices that are
// online, and reports which devices got theirs.
func (s *Service) deliverOnline(ctx context.Context, ownerID string, queued []*app.ConfigPush) map[string]bool {
	if s.Publisher == nil {
		return nil
	}
	var ids []int64
	for _, p := range queued {
		if s.Publisher.Online(p.UDID) {
			ids = append(ids, p.ID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	var claimed []*app.ConfigPush
	err := s.DB.Update(ctx, func(tx *store.Tx) error {
		var err error
		claimed, err = tx.ClaimConfigPushes(ownerID, "", ids)
		return err
	})
	if err != nil {
		s.Log.Error("claim configuration pushes", "err", err)
		return nil
	}
	delivered := map[string]bool{}
	var failed []*app.ConfigPush
	for _, p := range claimed {
		if err := s.Publisher.Publish(deviceTopic(ownerID, p.UDID), p.Payload, 1); err != nil {
			s.Log.Warn("publish configuration", "udid", p.UDID, "err", err)
			failed = append(failed, p)
			continue
		}
		delivered[p.UDID] = true
	}
	s.unclaim(ctx, failed)
	return delivered
}

// unclaim puts messages that could not be published back in the queue.
func (s *Service) unclaim(ctx context.Context, pushes []*app.ConfigPush) {
	if len(pushes) == 0 {
		return
	}
	ids := make([]int64, len(pushes))
	for i, p := range pushes {
		ids[i] = p.ID
	}
	err := s.DB.Update(context.WithoutCancel(ctx), func(tx *store.Tx) error { return tx.UnclaimConfigPushes(ids) })
	if err != nil {
		s.Log.Error("requeue configuration pushes", "err", err)
	}
}

// ConfigPushes lists the latest configuration messages of an owner's
// device (names only, never values).
func (s *Service) ConfigPushes(ctx context.Context, ownerID, udid string) ([]*app.ConfigPush, error) {
	if _, err := s.DB.Device(ctx, ownerID, udid); err != nil {
		return nil, err
	}
	pushes, err := s.DB.ConfigPushes(ctx, ownerID, udid, 50)
	for _, p := range pushes {
		p.Payload = nil // values may be secrets
	}
	return pushes, err
}
