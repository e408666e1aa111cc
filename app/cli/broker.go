package cli

import (
	"context"
	"fmt"

	"thinx/app"
	"thinx/app/broker"
	"thinx/app/config"
	"thinx/app/devices"
)

// brokerSink hands what devices say over MQTT to the device registry; only
// the notification type differs between the two packages.
type brokerSink struct{ *devices.Service }

// Notification converts the broker's notification to the registry's.
func (b brokerSink) Notification(ctx context.Context, ownerID, udid string, n broker.Notification) error {
	return b.Service.Notification(ctx, ownerID, udid, app.Notification{Title: n.Title, Body: n.Body, Type: n.Type, ResponseType: n.ResponseType})
}

// listenAddr is the address for a listener, or "" when it is off.
func listenAddr(a string) string {
	if !config.Enabled(a) {
		return ""
	}
	return a
}

// wireBroker makes the embedded MQTT broker over the device registry and
// connects the registry's pushes and revocations to it; startBroker then
// opens its listeners, once the registry runs.
func (d *daemon) wireBroker(dev *devices.Service) error {
	opts := broker.Options{TCPAddr: listenAddr(d.cfg.MQTT), TLSAddr: listenAddr(d.cfg.MQTTS), TLSConfig: d.tls,
		WSAddr: listenAddr(d.cfg.MQTTWS), Log: d.log.With("component", "mqtt"),
		History: broker.HistoryOptions{Off: d.cfg.MQTTHistory == 0, Retention: d.cfg.MQTTHistory, MaxPerOwner: d.cfg.MQTTHistoryRows}}
	brk, err := broker.New(opts, broker.Deps{DB: d.db, Keys: d.auth, Owners: broker.StoreOwners{DB: d.db, Log: d.log},
		Registry: dev, Sink: brokerSink{dev}, Events: d.events})
	if err != nil {
		return err
	}
	// Closed before the registry (closers run last-added first): messages
	// still arriving must find the registry open.
	d.closers = append(d.closers, brk.Close)
	dev.Publisher = brk
	dev.OnDeviceRevoked = func(ownerID, udid string) {
		brk.Invalidate(udid)
		brk.DisconnectDevice(udid)
	}
	// A revoked key stops working at once: over HTTP (the registry caches
	// verified keys for a second) and over MQTT (live sessions end).
	d.auth.OnKeyRevoked = func(ownerID, keyHash string) {
		dev.ForgetKey(ownerID, keyHash)
		brk.DisconnectKey(ownerID, keyHash)
	}
	// Access rules are cached in the broker: changes of an owner's state
	// or of mesh membership are read again at once.
	d.auth.OnOwnerChanged = brk.InvalidateOwner
	dev.OnMeshesChanged = brk.InvalidateOwner
	d.broker = brk
	d.web.Broker = brk
	return nil
}

func (d *daemon) startBroker() error {
	if err := d.broker.Start(d.jobCtx); err != nil {
		return fmt.Errorf("mqtt: %w", err)
	}
	for _, l := range []string{"tcp", "tls", "ws"} {
		if a := d.broker.Addr(l); a != "" {
			d.log.Info("listening", "listener", "mqtt-"+l, "addr", a)
		}
	}
	return nil
}
