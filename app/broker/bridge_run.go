package broker

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// BridgeState is a bridge's live status for the console.
type BridgeState struct {
	ID       int64
	Name     string
	State    string // "connecting", "connected", "reconnecting" or "stopped"
	Error    string // the last connection error, if any
	Since    time.Time
	Sent     uint64 // messages forwarded to the remote broker
	Received uint64 // messages brought back
	Dropped  uint64 // messages not forwarded (remote down, queue full, outside the tree)
}

// bridgeQueue bounds the messages waiting to go out on one bridge.
const bridgeQueue = 1024

// bridgeRun is one running bridge: a client of the remote broker, inline
// subscriptions on the local one, and an inline client that injects what
// comes back (so the forwarder can recognise, and not return, it).
type bridgeRun struct {
	bs     *bridges
	cfg    Bridge
	acc    *access
	client paho.Client
	inline *mqtt.Client
	subIDs map[string]int
	out    chan packets.Packet
	done   chan struct{}
	wg     sync.WaitGroup

	mu                      sync.Mutex
	state, lastErr          string
	since                   time.Time
	sent, received, dropped atomic.Uint64
}

func (r *bridgeRun) setState(state string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.state != state {
		r.state, r.since = state, time.Now()
	}
	if err != nil {
		r.lastErr = err.Error()
	} else if state == "connected" {
		r.lastErr = ""
	}
}

func (r *bridgeRun) status() BridgeState {
	r.mu.Lock()
	defer r.mu.Unlock()
	return BridgeState{ID: r.cfg.ID, Name: r.cfg.Name, State: r.state, Error: r.lastErr, Since: r.since,
		Sent: r.sent.Load(), Received: r.received.Load(), Dropped: r.dropped.Load()}
}

// start subscribes locally and connects to the remote broker in the
// background, retrying with a growing delay (1 s up to a minute) until the
// first connection; after that the client reconnects by itself, also with
// a growing delay.
func (r *bridgeRun) start(password string) error {
	tlsCfg, err := r.tlsConfig()
	if err != nil {
		return err
	}
	id := r.cfg.ClientID
	if id == "" {
		id = fmt.Sprintf("thinx-bridge-%d", r.cfg.ID)
	}
	o := paho.NewClientOptions().AddBroker(r.cfg.URL).SetClientID(id).SetUsername(r.cfg.Username).
		SetPassword(password).SetCleanSession(true).SetAutoReconnect(true).SetConnectRetry(false).
		SetMaxReconnectInterval(time.Minute).SetConnectTimeout(10 * time.Second).SetKeepAlive(30 * time.Second).
		SetOrderMatters(false).SetTLSConfig(tlsCfg).
		SetOnConnectHandler(r.connected).
		SetConnectionLostHandler(func(_ paho.Client, err error) { r.setState("reconnecting", err) })
	r.client = paho.NewClient(o)
	r.inline = r.bs.s.mq.NewClient(nil, mqtt.LocalListener, fmt.Sprintf("bridge-%d", r.cfg.ID), true)
	for _, f := range r.cfg.Forward {
		sid := int(r.bs.nextSub.Add(1))
		if err := r.bs.s.mq.Subscribe(f, sid, r.local); err != nil {
			r.unsubscribe()
			return fmt.Errorf("bridge %q: subscribe %s: %w", r.cfg.Name, f, err)
		}
		r.subIDs[f] = sid
	}
	r.setState("connecting", nil)
	r.wg.Add(2)
	go r.connectLoop()
	go r.forwardLoop()
	return nil
}

func (r *bridgeRun) tlsConfig() (*tls.Config, error) {
	c := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: r.cfg.Insecure} // #nosec G402 -- the owner's explicit choice for a self-signed remote
	if r.cfg.CACert != "" {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM([]byte(r.cfg.CACert)) {
			return nil, fmt.Errorf("bridge %q: CA certificate is not PEM", r.cfg.Name)
		}
		c.RootCAs = pool
	}
	return c, nil
}

func (r *bridgeRun) connectLoop() {
	defer r.wg.Done()
	delay := time.Second
	for {
		t := r.client.Connect()
		t.Wait()
		if t.Error() == nil {
			return
		}
		r.setState("connecting", t.Error())
		select {
		case <-r.done:
			return
		case <-time.After(delay):
		}
		delay = min(2*delay, time.Minute)
	}
}

// connected (re)subscribes to the remote filters on every connection: the
// session is clean, so the remote broker forgets them in between.
func (r *bridgeRun) connected(c paho.Client) {
	r.setState("connected", nil)
	for _, f := range r.cfg.Subscribe {
		c.Subscribe(f, r.cfg.QoS, r.remote)
	}
}

// local receives a matching local message, in the publisher's goroutine:
// it must not block.
func (r *bridgeRun) local(_ *mqtt.Client, _ packets.Subscription, pk packets.Packet) {
	if pk.Origin == r.inline.ID {
		return // it came from this bridge
	}
	select {
	case r.out <- pk:
	default:
		r.dropped.Add(1)
	}
}

func (r *bridgeRun) forwardLoop() {
	defer r.wg.Done()
	for {
		select {
		case <-r.done:
			return
		case pk := <-r.out:
			if !r.client.IsConnectionOpen() {
				r.dropped.Add(1)
				continue
			}
			r.client.Publish(r.cfg.RemotePrefix+pk.TopicName, r.cfg.QoS, pk.FixedHeader.Retain, pk.Payload)
			r.sent.Add(1)
		}
	}
}

// remote brings a remote message into the owner's tree.
func (r *bridgeRun) remote(_ paho.Client, m paho.Message) {
	topic, ok := strings.CutPrefix(m.Topic(), r.cfg.RemotePrefix)
	if !ok || !r.acc.allows(topic, true, r.bs.s.opts.MaxTopicLength) || !mqtt.IsValidFilter(topic, true) {
		r.dropped.Add(1)
		return
	}
	pk := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: m.Qos(), Retain: m.Retained()},
		TopicName: topic, Payload: m.Payload()}
	if pk.FixedHeader.Qos > 0 {
		pk.PacketID = 1 // never used for an inline client, but must be valid
	}
	if err := r.bs.s.mq.InjectPacket(r.inline, pk); err != nil {
		r.dropped.Add(1)
		return
	}
	r.received.Add(1)
}

func (r *bridgeRun) unsubscribe() {
	for f, sid := range r.subIDs {
		_ = r.bs.s.mq.Unsubscribe(f, sid)
	}
}

// stop ends the bridge.
func (r *bridgeRun) stop() {
	close(r.done)
	r.unsubscribe()
	r.client.Disconnect(250)
	r.wg.Wait()
	r.setState("stopped", nil)
}

// bridges runs the enabled bridges.
type bridges struct {
	s       *Server
	mu      sync.Mutex
	runs    map[int64]*bridgeRun
	nextSub atomic.Int64
}

func newBridges(s *Server) *bridges {
	return &bridges{s: s, runs: map[int64]*bridgeRun{}}
}
