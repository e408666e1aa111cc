package broker

import (
	"bytes"
	"hash/fnv"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"thinx/app/events"
	"thinx/app/store"
)

// EventKind is the events.Event Kind of live MQTT traffic; Subject is the
// device UDID (empty for shared and mesh topics) and Data a Message.
const EventKind = "mqtt"

// eventPayloadCap bounds the payload copied into a console event.
const eventPayloadCap = 1 << 10

// Message is one message seen in an owner's topic tree, as streamed to the
// console.
type Message struct {
	Topic    string
	Payload  string // UTF-8 text, cut at 1 KiB; empty when Binary
	Binary   bool
	Size     int
	Client   string // the sender's client ID; empty for the server
	QoS      byte
	Retained bool
	At       time.Time
}

// tap watches every message in an owner's tree: it records history, streams
// it to the console and hands status messages to the sink. Sink calls run
// on workers, one queue per shard of devices, so a device's messages keep
// their order and the broker's read loops never wait on the database.
type tap struct {
	s       *Server
	mu      sync.RWMutex // guards closed against sends on closed queues
	closed  bool
	shards  []chan job
	wg      sync.WaitGroup
	dropped atomic.Int64
	warned  atomic.Int64 // unix second of the last "queue full" warning
}

type job struct {
	owner, udid string
	payload     []byte // nil for a connection change
	online      bool
	key, ip     string // of the publishing session, for MQTT check-ins
}

const (
	tapShards     = 4
	tapQueueDepth = 2048
)

func newTap(s *Server) *tap {
	t := &tap{s: s}
	if s.deps.Sink == nil {
		return t
	}
	for range tapShards {
		ch := make(chan job, tapQueueDepth)
		t.shards = append(t.shards, ch)
		t.wg.Add(1)
		go func() {
			defer t.wg.Done()
			for j := range ch {
				t.handle(j)
			}
		}()
	}
	return t
}

// message is called for every published message and every last will.
func (t *tap) message(cl *mqtt.Client, pk packets.Packet) {
	owner, second, rest, ok := topicParts(pk.TopicName)
	if !ok {
		return
	}
	udid := ""
	if isUDID(second) {
		udid = second
	}
	client := ""
	if cl.ID != mqtt.InlineClientId {
		client = originalClientID(cl.ID)
	}
	now := time.Now()
	t.s.hist.add(store.MQTTMessage{OwnerID: owner, UDID: udid, Topic: pk.TopicName, Payload: pk.Payload,
		Size: len(pk.Payload), Client: client, QoS: pk.FixedHeader.Qos, Retained: pk.FixedHeader.Retain, At: now})
	if bus := t.s.deps.Events; bus != nil && bus.Subscribers(owner) > 0 {
		m := Message{Topic: pk.TopicName, Size: len(pk.Payload), Client: client, QoS: pk.FixedHeader.Qos,
			Retained: pk.FixedHeader.Retain, At: now}
		m.Payload, m.Binary = text(pk.Payload, eventPayloadCap)
		bus.Publish(events.Event{OwnerID: owner, Kind: EventKind, Subject: udid, Data: m})
	}
	if udid == "" || rest != "status" {
		return
	}
	j := job{owner: owner, udid: udid, payload: pk.Payload}
	if ss := t.s.sess.get(cl); ss != nil {
		j.key, j.ip = ss.key, ss.ip
	}
	t.enqueue(j)
}

// connection is called when a device session goes live or ends.
func (t *tap) connection(ss *session, online bool) {
	if ss.kind != KindDevice {
		return
	}
	if !online && len(t.s.sess.ofLogin(ss.login, func(o *session) bool { return o != ss && !o.cl.Closed() })) > 0 {
		return // a reconnect took this session over; the device stays online
	}
	t.enqueue(job{owner: ss.owner, udid: ss.udid, online: online, ip: ss.ip})
}

func (t *tap) enqueue(j job) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if t.closed || len(t.shards) == 0 {
		return
	}
	h := fnv.New32a()
	h.Write([]byte(j.udid))
	select {
	case t.shards[h.Sum32()%uint32(len(t.shards))] <- j:
	default:
		t.dropped.Add(1)
		if now := time.Now().Unix(); t.warned.Swap(now) < now-10 {
			t.s.log.Warn("mqtt: status queue full, messages dropped", "dropped_total", t.dropped.Load())
		}
	}
}

// close lets the workers finish what is queued.
func (t *tap) close() {
	t.mu.Lock()
	if !t.closed {
		t.closed = true
		for _, ch := range t.shards {
			close(ch)
		}
	}
	t.mu.Unlock()
	t.wg.Wait()
}

// text returns payload as UTF-8 text cut at limit bytes (on a rune
// boundary), or binary = true.
func text(payload []byte, limit int) (string, bool) {
	if !utf8.Valid(payload) || bytes.IndexByte(payload, 0) >= 0 {
		return "", true
	}
	if len(payload) > limit {
		payload = payload[:limit]
		for len(payload) > 0 && !utf8.Valid(payload) {
			payload = payload[:len(payload)-1]
		}
	}
	return string(payload), false
}

// tapHook feeds the tap.
type tapHook struct {
	mqtt.HookBase
	t *tap
}

func (h *tapHook) ID() string { return "thinx-tap" }

var tapEvents = newHookSet(mqtt.OnPublished, mqtt.OnWillSent)

func (h *tapHook) Provides(b byte) bool { return tapEvents.has(b) }

func (h *tapHook) OnPublished(cl *mqtt.Client, pk packets.Packet) { h.t.message(cl, pk) }

// OnWillSent sees last wills, which do not pass OnPublished.
func (h *tapHook) OnWillSent(cl *mqtt.Client, pk packets.Packet) { h.t.message(cl, pk) }
