package broker

import (
	"crypto/tls"
	"log/slog"
	"math"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
)

// Options configure the broker. The zero value of a field means its
// default; an empty listener address turns that listener off.
type Options struct {
	TCPAddr   string      // plain MQTT, e.g. ":1883"
	TLSAddr   string      // MQTT over TLS, e.g. ":8883"; needs TLSConfig
	TLSConfig *tls.Config // the same certificate source as HTTPS
	WSAddr    string      // MQTT over WebSocket on a port of its own, e.g. ":1884"

	// MaxPacketSize bounds every packet a client may send. The broker
	// allocates a packet's announced length before reading it, so without a
	// bound one unauthenticated CONNECT could reserve 256 MiB. THiNX devices
	// send status lines and check-ins well under 1 KiB.
	MaxPacketSize uint32
	// MaxConnections caps open sockets, authenticated or not; past it new
	// sockets are closed at once. Each connection costs about 20-30 KB.
	MaxConnections int
	// ConnectTimeout is how long a socket may take to send its CONNECT
	// (including the TLS handshake) before it is closed, so half-open
	// sockets cannot pile up.
	ConnectTimeout time.Duration
	// MinKeepalive and MaxKeepalive bound the keepalive a client asks for,
	// in seconds. A client asking 0 (no keepalive) gets MaxKeepalive, so a
	// dead peer is always noticed; MQTT 5 clients are told the value.
	MinKeepalive uint16
	MaxKeepalive uint16
	// WritesPending is the per-client outbound queue length. Every
	// connection allocates it up front (8 bytes a slot): the broker's
	// default of 8192 costs 64 KiB per device once traffic has touched it.
	// Publishers are slowed down before a subscriber's queue fills (see
	// flow.go), so a short queue loses no throughput.
	WritesPending int32
	// MaxInflight bounds the unacknowledged QoS 1/2 messages kept for one
	// client, online or off; beyond it messages to that client are dropped.
	MaxInflight uint16
	// ReceiveMaximum bounds the QoS 1/2 messages a client may have in flight
	// towards the broker.
	ReceiveMaximum uint16
	// MaxTopicLength bounds topic names and filters; THiNX topics are
	// "/<64 hex>/<36 char UDID>/status", about 110 bytes.
	MaxTopicLength int
	// SessionExpiry is how long a persistent session of a disconnected
	// client is kept, so abandoned client IDs do not hold memory forever.
	SessionExpiry time.Duration
	// FlushInterval is how long state changes and history rows wait to be
	// written together in one transaction.
	FlushInterval time.Duration
	// RecheckInterval is how often live sessions are checked against the
	// registry and the keys, a safety net behind DisconnectKey and
	// DisconnectDevice.
	RecheckInterval time.Duration
	// History configures the per-owner message history.
	History HistoryOptions

	Log *slog.Logger
}

// HistoryOptions configure the searchable message history.
type HistoryOptions struct {
	Off         bool          // keep no history
	Retention   time.Duration // default 24 h
	MaxPayload  int           // bytes of a payload kept, default 2 KiB
	MaxPerOwner int           // newest rows kept per owner, default 100,000
	// MaxRate caps the messages recorded per owner and second (default
	// 2,000). SQLite has one writer, shared
	// with check-ins and the registry: a flood of messages must not take it
	// over. Messages beyond the cap are still delivered, just not recorded.
	MaxRate int
}

func (o *Options) defaults() {
	set := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	if o.MaxPacketSize == 0 {
		o.MaxPacketSize = 64 << 10
	}
	if o.MaxConnections <= 0 {
		o.MaxConnections = 20000
	}
	set(&o.ConnectTimeout, 10*time.Second)
	if o.MinKeepalive == 0 {
		o.MinKeepalive = 5
	}
	if o.MaxKeepalive == 0 {
		o.MaxKeepalive = 3600
	}
	if o.WritesPending <= 0 {
		o.WritesPending = 128
	}
	if o.MaxInflight == 0 {
		o.MaxInflight = 1024
	}
	if o.ReceiveMaximum == 0 {
		o.ReceiveMaximum = 256
	}
	if o.MaxTopicLength <= 0 {
		o.MaxTopicLength = 256
	}
	set(&o.SessionExpiry, 7*24*time.Hour)
	set(&o.FlushInterval, 5*time.Millisecond)
	set(&o.RecheckInterval, time.Minute)
	set(&o.History.Retention, 24*time.Hour)
	if o.History.MaxPayload <= 0 {
		o.History.MaxPayload = 2 << 10
	}
	if o.History.MaxPerOwner <= 0 {
		o.History.MaxPerOwner = 100000
	}
	if o.History.MaxRate <= 0 {
		o.History.MaxRate = 2000
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
}

// capabilities turns the options into the embedded server's limits.
func (o *Options) capabilities() *mqtt.Capabilities {
	c := mqtt.NewDefaultServerCapabilities()
	c.MaximumPacketSize = o.MaxPacketSize
	c.MaximumClients = int64(o.MaxConnections)
	c.MaximumClientWritesPending = o.WritesPending
	c.MaximumInflight = o.MaxInflight
	c.ReceiveMaximum = o.ReceiveMaximum
	c.MaximumSessionExpiryInterval = uint32(min(o.SessionExpiry/time.Second, math.MaxUint32))
	// Retained messages are a device's last known state and must not vanish
	// after a day, which the server's default enforced expiry would do.
	// Queued messages stay bounded by MaxInflight and SessionExpiry.
	c.MaximumMessageExpiryInterval = 0
	// Topic aliases cost a map per client and no THiNX library uses them.
	c.TopicAliasMaximum = 0
	// Shared subscriptions would let a device take a share of messages meant
	// for another client of its owner; nothing in THiNX needs them, and the
	// ACL refuses "$share/" filters.
	c.SharedSubAvailable = 0
	return c
}
