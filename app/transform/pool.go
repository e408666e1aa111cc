package transform

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// backend runs requests: a worker process, or with Options.InProcess a
// runner inside this process.
type backend interface {
	run(ctx context.Context, req *request) (*reply, error)
	stalled(now time.Time) bool // avoid it for new calls
	load() int                  // calls queued or running
	shutdown(wait time.Duration)
}

// local runs requests in this process, one at a time.
type local struct {
	mu      sync.Mutex
	r       *runner
	waiting atomic.Int32
	since   atomic.Int64 // start of the running call, unix ns; 0 when idle
}

func (l *local) run(ctx context.Context, req *request) (*reply, error) {
	l.waiting.Add(1)
	l.mu.Lock()
	l.waiting.Add(-1)
	defer l.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if l.r == nil {
		return nil, &Error{Kind: KindUnavailable, Msg: ErrClosed.Error()}
	}
	l.since.Store(time.Now().UnixNano())
	defer l.since.Store(0)
	return l.r.exec(req), nil
}

func (l *local) stalled(now time.Time) bool {
	s := l.since.Load()
	return s != 0 && now.UnixNano()-s > int64(stallAfter)
}

func (l *local) load() int                { return int(l.waiting.Load()) + int(min(1, l.since.Load())) }
func (l *local) shutdown(d time.Duration) { l.mu.Lock(); l.r = nil; l.mu.Unlock() }

// slot is one place in the pool. It holds the current backend, replaces a
// worker that died or retired, and starts the replacement in the
// background so the next call finds it warm.
type slot struct {
	start    func(s *slot) (backend, error)
	mu       sync.Mutex
	b        backend
	starting *startAttempt // non-nil while a backend is being started
	closed   bool
}

type startAttempt struct {
	done chan struct{}
	err  error
}

// peek returns the running backend, or nil while none is. It never waits
// for a start, so callers can route around a slot that is restarting.
func (s *slot) peek() backend {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b
}

// get returns the running backend, starting one if needed; concurrent
// callers share one start.
func (s *slot) get() (backend, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, &Error{Kind: KindUnavailable, Msg: ErrClosed.Error()}
	}
	if b := s.b; b != nil {
		s.mu.Unlock()
		return b, nil
	}
	if a := s.starting; a != nil {
		s.mu.Unlock()
		<-a.done
		if a.err != nil {
			return nil, a.err
		}
		return s.get()
	}
	a := &startAttempt{done: make(chan struct{})}
	s.starting = a
	s.mu.Unlock()

	b, err := s.start(s)
	s.mu.Lock()
	s.starting = nil
	if err != nil {
		a.err = &Error{Kind: KindUnavailable, Msg: err.Error()}
	} else if s.closed {
		a.err = &Error{Kind: KindUnavailable, Msg: ErrClosed.Error()}
		go b.shutdown(0)
		b = nil
	} else {
		s.b = b
	}
	s.mu.Unlock()
	close(a.done)
	return b, a.err
}

// replace forgets old if it is still current and warms up its successor.
func (s *slot) replace(old backend) {
	s.mu.Lock()
	gone := s.b == old
	if gone {
		s.b = nil
	}
	closed := s.closed
	s.mu.Unlock()
	if gone && !closed {
		go func() { _, _ = s.get() }()
	}
}

// close stops the slot and returns its backend, if any, to shut down.
func (s *slot) close() backend {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	b := s.b
	s.b = nil
	return b
}
