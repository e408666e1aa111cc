package broker

import (
	"context"
	"strings"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// Listener is what a sink implements to learn that a device subscribed to
// its own topic, /<owner>/<udid>. Messages the server holds for a device
// (configuration pushes made while it was away) are sent then, not at
// connect: they are not retained, so a message published between the
// CONNACK and the device's SUBSCRIBE would reach nobody.
type Listener interface {
	DeviceListening(ctx context.Context, ownerID, udid string) error
}

// listenHook tells the sink when a device starts listening.
type listenHook struct {
	mqtt.HookBase
	s *Server
}

// ID names the hook.
func (h *listenHook) ID() string { return "thinx-listen" }

// Provides reports the one event the hook handles.
func (h *listenHook) Provides(b byte) bool { return b == mqtt.OnSubscribed }

// OnSubscribed runs after the subscriptions are in place and before the
// SUBACK is written, so whatever the sink publishes now is delivered.
func (h *listenHook) OnSubscribed(cl *mqtt.Client, pk packets.Packet, codes []byte) {
	l, ok := h.s.deps.Sink.(Listener)
	ss := h.s.sess.get(cl)
	if !ok || ss == nil || ss.udid == "" {
		return
	}
	own := "/" + ss.owner + "/" + ss.udid
	for i, sub := range pk.Filters {
		if i < len(codes) && codes[i] < 0x80 && filterMatches(sub.Filter, own) {
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
				defer cancel()
				if err := l.DeviceListening(ctx, ss.owner, ss.udid); err != nil {
					h.s.log.Warn("mqtt: deliver held messages", "udid", ss.udid, "err", err)
				}
			}()
			return
		}
	}
}

// filterMatches reports whether an MQTT topic filter (with + and #)
// matches a topic name.
func filterMatches(filter, topic string) bool {
	f, t := strings.Split(filter, "/"), strings.Split(topic, "/")
	for i, p := range f {
		switch {
		case p == "#":
			return true
		case i >= len(t):
			return false
		case p != "+" && p != t[i]:
			return false
		}
	}
	return len(f) == len(t)
}
