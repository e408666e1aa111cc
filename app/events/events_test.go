package events_test

import (
	"sync"
	"testing"
	"time"

	"thinx/app/events"
)

func TestPublishReachesOnlyTheOwner(t *testing.T) {
	t.Parallel()
	b := events.NewBus()
	a1, a2, other := b.Subscribe("a", 4), b.Subscribe("a", 4), b.Subscribe("b", 4)
	defer a1.Close()
	defer a2.Close()
	defer other.Close()
	if b.Subscribers("a") != 2 || b.Subscribers("b") != 1 || b.Subscribers("c") != 0 {
		t.Fatalf("subscribers %d %d", b.Subscribers("a"), b.Subscribers("b"))
	}
	b.Publish(events.Event{OwnerID: "a", Kind: "checkin", Subject: "dev1"})
	for _, s := range []*events.Subscription{a1, a2} {
		select {
		case e := <-s.C:
			if e.Subject != "dev1" {
				t.Errorf("got %+v", e)
			}
		case <-time.After(time.Second):
			t.Fatal("event not delivered")
		}
	}
	select {
	case e := <-other.C:
		t.Errorf("another owner received %+v", e)
	default:
	}
}

// TestSlowSubscriberIsDropped: a full buffer never blocks the publisher;
// the slow subscriber's channel closes instead.
func TestSlowSubscriberIsDropped(t *testing.T) {
	t.Parallel()
	b := events.NewBus()
	slow, fast := b.Subscribe("a", 1), b.Subscribe("a", 100)
	defer fast.Close()
	done := make(chan struct{})
	go func() {
		for i := range 50 {
			b.Publish(events.Event{OwnerID: "a", Subject: string(rune('a' + i%26))})
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Publish blocked on a slow subscriber")
	}
	n := 0
	for range slow.C { // drains the one buffered event, then sees the close
		n++
	}
	if !slow.Dropped || n != 1 {
		t.Errorf("slow subscriber: dropped=%v, %d events", slow.Dropped, n)
	}
	if len(fast.C) != 50 || fast.Dropped {
		t.Errorf("fast subscriber has %d events, dropped=%v", len(fast.C), fast.Dropped)
	}
	if b.Subscribers("a") != 1 {
		t.Errorf("%d subscribers left, want 1", b.Subscribers("a"))
	}
	slow.Close() // closing a dropped subscription again is safe
}

func TestConcurrentPublishAndClose(t *testing.T) {
	t.Parallel()
	b := events.NewBus()
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(2)
		s := b.Subscribe("a", 2)
		go func() {
			defer wg.Done()
			for range 200 {
				b.Publish(events.Event{OwnerID: "a"})
			}
		}()
		go func() { defer wg.Done(); s.Close(); s.Close() }()
	}
	wg.Wait()
	if n := b.Subscribers("a"); n != 0 {
		t.Errorf("%d subscribers after all closed", n)
	}
}
