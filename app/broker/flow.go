package broker

import (
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// flow slows publishers down while a subscriber they feed cannot keep up.
// The embedded server acknowledges a QoS 1 publish before delivering it and
// drops a delivery (QoS 1 included) when the subscriber's outbound queue is
// full, so a fan-in of fast publishers into one subscriber loses messages.
//
// The first time a publisher's message finds a subscriber half full (queue
// or unacknowledged messages), or is dropped for it, the pair is linked; a
// publisher not yet linked looks its topic's subscribers up while some
// subscriber is full. From then on, before each publish, the publisher
// checks its linked subscribers and, while one is that full, waits in its
// own read loop (which stops reading its socket, so TCP pushes back) until
// the subscriber is down to a quarter, or maxWait passes. The check costs
// one map look-up per publish for linked publishers, and one atomic load
// for everyone else while no subscriber is full. Links end when either
// side disconnects. The half of the queue above the mark absorbs the
// publishes already under way when it is crossed.
type flow struct {
	qHigh, qLow   int // outbound queue
	inHigh, inLow int // unacknowledged QoS messages
	maxWait       time.Duration

	mq      *mqtt.Server
	linked  atomic.Int32 // len(links)
	watched atomic.Int32 // len(waits)
	nfull   atomic.Int32 // len(fulls)
	mu      sync.Mutex
	links   map[string]map[*mqtt.Client]struct{} // publisher client ID → subscribers it must not overrun
	waits   map[*mqtt.Client]struct{}            // subscribers publishers wait for
	fulls   map[*mqtt.Client]struct{}            // subscribers seen past the high-water mark, until clear
	wake    chan struct{}                        // closed and replaced when one of them drains
}

func newFlow(mq *mqtt.Server, queue, inflight int) *flow {
	return &flow{mq: mq, qHigh: max(queue/2, 1), qLow: queue / 4, inHigh: max(inflight/2, 1), inLow: inflight / 4,
		maxWait: 500 * time.Millisecond, links: map[string]map[*mqtt.Client]struct{}{},
		waits: map[*mqtt.Client]struct{}{}, fulls: map[*mqtt.Client]struct{}{}, wake: make(chan struct{})}
}

// full reports whether sub is past a high-water mark.
func (f *flow) full(sub *mqtt.Client) bool {
	return queueLen(sub) >= f.qHigh || sub.State.Inflight.Len() >= f.inHigh
}

// clear reports whether sub is back under both low-water marks.
func (f *flow) clear(sub *mqtt.Client) bool {
	return queueLen(sub) <= f.qLow && sub.State.Inflight.Len() <= f.inLow
}

// fed links origin to sub when a message from origin found sub full, or was
// dropped for it.
func (f *flow) fed(sub *mqtt.Client, origin string, dropped bool) {
	if sub.Net.Inline || origin == sub.ID || sub.Closed() || (!dropped && !f.full(sub)) {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.link(origin, sub)
}

// link records that origin must not overrun sub (under f.mu).
func (f *flow) link(origin string, sub *mqtt.Client) {
	if _, ok := f.fulls[sub]; !ok {
		f.fulls[sub] = struct{}{}
		f.nfull.Add(1)
	}
	if f.links[origin] == nil {
		f.links[origin] = map[*mqtt.Client]struct{}{}
		f.linked.Add(1)
	}
	f.links[origin][sub] = struct{}{}
}

// discover links an unlinked publisher to the full subscribers of topic.
func (f *flow) discover(pub *mqtt.Client, topic string) {
	subs := f.mq.Topics.Subscribers(topic)
	f.mu.Lock()
	defer f.mu.Unlock()
	for id := range subs.Subscriptions {
		if sub, ok := f.mq.Clients.Get(id); ok {
			if _, full := f.fulls[sub]; full && sub != pub {
				f.link(pub.ID, sub)
			}
		}
	}
}

// wait blocks the publisher pub while a subscriber linked to it is full,
// until that subscriber drains or maxWait passes.
func (f *flow) wait(pub *mqtt.Client, topic string) {
	if f.nfull.Load() > 0 {
		f.mu.Lock()
		_, known := f.links[pub.ID]
		f.mu.Unlock()
		if !known {
			f.discover(pub, topic)
		}
	}
	if f.linked.Load() == 0 {
		return
	}
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		f.mu.Lock()
		var blocker *mqtt.Client
		for sub := range f.links[pub.ID] {
			if !sub.Closed() && f.full(sub) {
				blocker = sub
				break
			}
		}
		if blocker == nil {
			f.mu.Unlock()
			return
		}
		if _, ok := f.waits[blocker]; !ok {
			f.waits[blocker] = struct{}{}
			f.watched.Add(1)
		}
		wake := f.wake
		f.mu.Unlock()
		if timer == nil {
			// The acknowledgements of what pub sent before go out now,
			// not after the wait.
			pauseConn(pub.Net.Conn)
			timer = time.NewTimer(f.maxWait)
		}
		select {
		case <-wake:
		case <-timer.C:
			return
		}
	}
}

// drained wakes the publishers waiting for sub once it is under the
// low-water marks (or gone).
func (f *flow) drained(sub *mqtt.Client, gone bool) {
	if f.watched.Load() == 0 && f.nfull.Load() == 0 {
		return
	}
	if !gone && !f.clear(sub) {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.fulls[sub]; ok {
		delete(f.fulls, sub)
		f.nfull.Add(-1)
	}
	if _, ok := f.waits[sub]; ok {
		delete(f.waits, sub)
		f.watched.Add(-1)
		close(f.wake)
		f.wake = make(chan struct{})
	}
}

// left forgets a client that disconnected, as publisher and as subscriber.
func (f *flow) left(cl *mqtt.Client) {
	f.drained(cl, true)
	if f.linked.Load() == 0 {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for origin, set := range f.links {
		delete(set, cl)
		if origin == cl.ID || len(set) == 0 {
			delete(f.links, origin)
			f.linked.Add(-1)
		}
	}
}

// flowHook feeds the flow control from the server's events.
type flowHook struct {
	mqtt.HookBase
	f *flow
}

func (h *flowHook) ID() string { return "thinx-flow" }

var flowEvents = newHookSet(mqtt.OnPublish, mqtt.OnQosPublish, mqtt.OnPublishDropped, mqtt.OnPacketSent,
	mqtt.OnQosComplete, mqtt.OnQosDropped, mqtt.OnDisconnect)

func (h *flowHook) Provides(b byte) bool { return flowEvents.has(b) }

func (h *flowHook) OnPublish(cl *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	h.f.wait(cl, pk.TopicName)
	return pk, nil
}

func (h *flowHook) OnQosPublish(cl *mqtt.Client, pk packets.Packet, _ int64, _ int) {
	if pk.FixedHeader.Type == packets.Publish {
		h.f.fed(cl, pk.Origin, false)
	}
}

func (h *flowHook) OnPublishDropped(cl *mqtt.Client, pk packets.Packet) { h.f.fed(cl, pk.Origin, true) }

func (h *flowHook) OnPacketSent(cl *mqtt.Client, _ packets.Packet, _ []byte) { h.f.drained(cl, false) }
func (h *flowHook) OnQosComplete(cl *mqtt.Client, _ packets.Packet)          { h.f.drained(cl, false) }
func (h *flowHook) OnQosDropped(cl *mqtt.Client, _ packets.Packet)           { h.f.drained(cl, false) }
func (h *flowHook) OnDisconnect(cl *mqtt.Client, _ error, _ bool)            { h.f.left(cl) }
