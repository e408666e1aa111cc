package auth

import (
	"sync"
	"time"
)

// Limiter counts failures per key (an account or an IP address) in a sliding
// window. Success does not reset an IP's count, so an attacker who owns one
// account cannot use it to keep guessing others.
type Limiter struct {
	Max    int
	Window time.Duration
	Now    func() time.Time

	mu   sync.Mutex
	hits map[string][]time.Time
}

// NewLimiter allows max failures per window for each key.
func NewLimiter(max int, window time.Duration) *Limiter {
	return &Limiter{Max: max, Window: window, Now: time.Now, hits: map[string][]time.Time{}}
}

func (l *Limiter) prune(key string, now time.Time) []time.Time {
	h := l.hits[key]
	i := 0
	for i < len(h) && now.Sub(h[i]) >= l.Window {
		i++
	}
	h = h[i:]
	if len(h) == 0 {
		delete(l.hits, key)
	} else {
		l.hits[key] = h
	}
	return h
}

// Blocked reports whether key has used up its failures and, if so, how long
// until the oldest one leaves the window.
func (l *Limiter) Blocked(key string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.Now()
	h := l.prune(key, now)
	if len(h) < l.Max {
		return false, 0
	}
	return true, l.Window - now.Sub(h[0])
}

// Fail records one failure for key.
func (l *Limiter) Fail(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.Now()
	h := l.prune(key, now)
	if len(h) >= l.Max*2 {
		return // enough to stay blocked; keep memory bounded
	}
	l.hits[key] = append(h, now)
	if len(l.hits) > 100000 {
		l.sweep(now)
	}
}

// Reset forgets key (an account after a successful login).
func (l *Limiter) Reset(key string) {
	l.mu.Lock()
	delete(l.hits, key)
	l.mu.Unlock()
}

// sweep drops expired keys; called when the map grows large.
func (l *Limiter) sweep(now time.Time) {
	for k := range l.hits {
		l.prune(k, now)
	}
}
