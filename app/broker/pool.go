package broker

import "sync"

// pool runs database lookups (logins, registry look-ups on a cache miss) on
// a few long-lived goroutines. The SQLite driver needs deep stacks; run on
// a connection's own goroutine, a lookup would grow that stack for the
// life of the connection, about 20 KB more per idle device. It also bounds
// how many lookups a reconnect storm runs at once.
type pool struct {
	ch     chan func()
	mu     sync.RWMutex
	closed bool
	wg     sync.WaitGroup
}

func newPool(workers int) *pool {
	p := &pool{ch: make(chan func())}
	for range workers {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			for fn := range p.ch {
				fn()
			}
		}()
	}
	return p
}

// do runs fn on a worker and waits for it; after close it runs fn inline.
// fn must not call do itself.
func (p *pool) do(fn func()) {
	p.mu.RLock()
	if p.closed {
		p.mu.RUnlock()
		fn()
		return
	}
	done := make(chan struct{})
	p.ch <- func() {
		defer close(done)
		fn()
	}
	p.mu.RUnlock()
	<-done
}

func (p *pool) close() {
	p.mu.Lock()
	if !p.closed {
		p.closed = true
		close(p.ch)
	}
	p.mu.Unlock()
	p.wg.Wait()
}
