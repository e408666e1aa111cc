package broker

import (
	"bytes"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// flow slows publishers down while a subscriber of their topic has a full
// queue. The embedded server acknowledges a QoS 1 publish before delivering
// it and drops a delivery (QoS 1 included) when the subscriber's outbound
// queue is full, so a fan-in of fast publishers into one subscriber loses
// messages. A subscriber's unacknowledged QoS messages are an upper bound
// of its queue, so a publisher waits (in its own read loop, which stops
// reading its socket: TCP pushes back) while a subscriber has more than
// high of them, until it falls under low or maxWait passes. QoS 0
// deliveries have no acknowledgement to count and are not covered.
type flow struct {
	mq        *mqtt.Server
	high, low int
	maxWait   time.Duration

	congested atomic.Int32 // len(set), read without the lock on every publish
	mu        sync.Mutex
	set       map[*mqtt.Client]struct{}
	wake      chan struct{} // closed and replaced whenever a client drains
}

func newFlow(mq *mqtt.Server, queue int) *flow {
	high := max(queue/2, 1)
	return &flow{mq: mq, high: high, low: high / 2, maxWait: 500 * time.Millisecond,
		set: map[*mqtt.Client]struct{}{}, wake: make(chan struct{})}
}

// sent is called after a QoS message was queued for cl.
func (f *flow) sent(cl *mqtt.Client) {
	if cl.Net.Inline || cl.State.Inflight.Len() < f.high || cl.Closed() {
		return
	}
	f.mu.Lock()
	if _, ok := f.set[cl]; !ok {
		f.set[cl] = struct{}{}
		f.congested.Add(1)
	}
	f.mu.Unlock()
}

// drained is called when cl acknowledged, dropped or lost messages.
func (f *flow) drained(cl *mqtt.Client, gone bool) {
	if f.congested.Load() == 0 || (!gone && cl.State.Inflight.Len() > f.low) {
		return
	}
	f.mu.Lock()
	if _, ok := f.set[cl]; ok {
		delete(f.set, cl)
		f.congested.Add(-1)
		close(f.wake)
		f.wake = make(chan struct{})
	}
	f.mu.Unlock()
}

// wait blocks the publisher pub while a connected subscriber of topic
// (other than pub itself, which must keep reading its own acks) is
// congested, for at most maxWait.
func (f *flow) wait(pub *mqtt.Client, topic string) {
	if f.congested.Load() == 0 {
		return
	}
	subs := f.mq.Topics.Subscribers(topic)
	timer := time.NewTimer(f.maxWait)
	defer timer.Stop()
	for {
		f.mu.Lock()
		blocked, wake := false, f.wake
		for id := range subs.Subscriptions {
			cl, ok := f.mq.Clients.Get(id)
			if !ok || cl == pub || cl.Closed() {
				continue
			}
			if _, ok := f.set[cl]; ok {
				blocked = true
				break
			}
		}
		f.mu.Unlock()
		if !blocked {
			return
		}
		select {
		case <-wake:
		case <-timer.C:
			return
		}
	}
}

// flowHook feeds the flow control from the server's QoS events.
type flowHook struct {
	mqtt.HookBase
	f *flow
}

func (h *flowHook) ID() string { return "thinx-flow" }

func (h *flowHook) Provides(b byte) bool {
	return bytes.Contains([]byte{mqtt.OnPublish, mqtt.OnQosPublish, mqtt.OnQosComplete, mqtt.OnQosDropped,
		mqtt.OnDisconnect}, []byte{b})
}

func (h *flowHook) OnPublish(cl *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	h.f.wait(cl, pk.TopicName)
	return pk, nil
}

func (h *flowHook) OnQosPublish(cl *mqtt.Client, _ packets.Packet, _ int64, _ int) { h.f.sent(cl) }
func (h *flowHook) OnQosComplete(cl *mqtt.Client, _ packets.Packet)                { h.f.drained(cl, false) }
func (h *flowHook) OnQosDropped(cl *mqtt.Client, _ packets.Packet)                 { h.f.drained(cl, false) }
func (h *flowHook) OnDisconnect(cl *mqtt.Client, _ error, _ bool)                  { h.f.drained(cl, true) }
