// Package events is an in-process publish/subscribe bus that carries device
// status, check-ins and log lines to console streams. A slow subscriber is
// dropped, never waited for: the publisher is a device check-in or the
// broker, and neither may stall because a browser tab is slow.
package events

import (
	"sync"
)

// Event is one thing that happened, scoped to an owner.
type Event struct {
	OwnerID string
	Kind    string // e.g. "checkin", "status", "build.log"
	Subject string // device UDID, build ID …
	Data    any
}

// Bus fans events out to subscribers of an owner.
type Bus struct {
	mu   sync.Mutex
	subs map[string]map[*Subscription]struct{}
}

// Subscription receives an owner's events on C until it is closed or dropped.
type Subscription struct {
	C       <-chan Event
	c       chan Event
	owner   string
	bus     *Bus
	once    sync.Once
	Dropped bool
}

// NewBus returns an empty bus.
func NewBus() *Bus { return &Bus{subs: map[string]map[*Subscription]struct{}{}} }

// Subscribe registers for an owner's events with a buffer of size n.
func (b *Bus) Subscribe(ownerID string, n int) *Subscription {
	c := make(chan Event, n)
	s := &Subscription{C: c, c: c, owner: ownerID, bus: b}
	b.mu.Lock()
	if b.subs[ownerID] == nil {
		b.subs[ownerID] = map[*Subscription]struct{}{}
	}
	b.subs[ownerID][s] = struct{}{}
	b.mu.Unlock()
	return s
}

// Close unsubscribes; C is closed. Safe to call twice.
func (s *Subscription) Close() {
	s.once.Do(func() {
		s.bus.mu.Lock()
		delete(s.bus.subs[s.owner], s)
		if len(s.bus.subs[s.owner]) == 0 {
			delete(s.bus.subs, s.owner)
		}
		s.bus.mu.Unlock()
		close(s.c)
	})
}

// Publish delivers e to the owner's subscribers without blocking; a
// subscriber whose buffer is full is dropped (its C closes).
func (b *Bus) Publish(e Event) {
	b.mu.Lock()
	var slow []*Subscription
	for s := range b.subs[e.OwnerID] {
		select {
		case s.c <- e:
		default:
			slow = append(slow, s)
		}
	}
	b.mu.Unlock()
	for _, s := range slow {
		s.Dropped = true
		s.Close()
	}
}

// Subscribers counts live subscriptions of an owner.
func (b *Bus) Subscribers(ownerID string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.subs[ownerID])
}
