package devices

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"thinx/app"
	"thinx/app/store"
)

// op is one queued write: a check-in or a status. apply runs inside the
// batch transaction, in a savepoint of its own; stat is what it adds to the
// daily counters once it succeeded.
type op struct {
	apply func(tx *store.Tx) error
	stat  *statDelta
	err   error
	done  chan struct{}
}

type statDelta struct {
	key store.StatKey
	app.DailyStat
}

// batcher is a group-commit queue. One goroutine takes every queued op and
// commits them in one transaction, so a burst of check-ins costs one commit
// instead of one each. A caller is answered only after its commit, so an
// acknowledged check-in is never lost.
type batcher struct {
	db     *store.DB
	log    *slog.Logger
	max    int
	linger time.Duration
	queue  chan *op

	mu      sync.RWMutex
	closed  bool
	stopped chan struct{}
}

func newBatcher(db *store.DB, log *slog.Logger, size int, linger time.Duration) *batcher {
	return &batcher{db: db, log: log, max: size, linger: linger, queue: make(chan *op, 4*size), stopped: make(chan struct{})}
}

// errShuttingDown refuses writes once Close has begun.
var errShuttingDown = app.Errorf(app.EINTERNAL, "The server is shutting down.")

// enqueue queues o and waits until it is committed or ctx ends.
func (b *batcher) enqueue(ctx context.Context, o *op) error {
	b.mu.RLock()
	if b.closed {
		b.mu.RUnlock()
		return errShuttingDown
	}
	select {
	case b.queue <- o:
		b.mu.RUnlock()
	case <-ctx.Done():
		b.mu.RUnlock()
		return ctx.Err()
	}
	select {
	case <-o.done:
		return o.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (b *batcher) run() {
	defer close(b.stopped)
	batch := make([]*op, 0, b.max)
	for first := range b.queue {
		batch = b.fill(append(batch[:0], first))
		commit(b.db, b.log, batch)
	}
}

// fill adds whatever else is queued, waiting up to linger for more.
func (b *batcher) fill(batch []*op) []*op {
	var timeout <-chan time.Time
	if b.linger > 0 {
		t := time.NewTimer(b.linger)
		defer t.Stop()
		timeout = t.C
	}
	for len(batch) < b.max {
		select {
		case o, ok := <-b.queue:
			if !ok {
				return batch
			}
			batch = append(batch, o)
			continue
		default:
		}
		if timeout == nil {
			return batch
		}
		select {
		case o, ok := <-b.queue:
			if !ok {
				return batch
			}
			batch = append(batch, o)
		case <-timeout:
			return batch
		}
	}
	return batch
}

// close stops taking ops, commits what is queued and waits for the writer.
func (b *batcher) close() {
	b.mu.Lock()
	if !b.closed {
		b.closed = true
		close(b.queue)
	}
	b.mu.Unlock()
	<-b.stopped
}

// commit applies a batch in one transaction, each op in its own savepoint,
// then wakes every waiting caller.
func commit(db *store.DB, log *slog.Logger, batch []*op) {
	stats := map[store.StatKey]*app.DailyStat{}
	err := db.Update(context.Background(), func(tx *store.Tx) error {
		for _, o := range batch {
			o.err = tx.Savepoint(func() error { return o.apply(tx) })
			if o.err == nil && o.stat != nil && o.stat.key.OwnerID != "" {
				addStat(stats, o.stat)
			}
		}
		return tx.AddDailyStats(stats)
	})
	if err != nil {
		log.Error("commit check-ins", "err", err, "batch", len(batch))
	}
	for _, o := range batch {
		if err != nil && o.err == nil {
			o.err = err
		}
		close(o.done)
	}
}

func addStat(stats map[store.StatKey]*app.DailyStat, d *statDelta) {
	s := stats[d.key]
	if s == nil {
		s = &app.DailyStat{}
		stats[d.key] = s
	}
	s.Checkins += d.Checkins
	s.NewDevices += d.NewDevices
	s.Active += d.Active
	s.Errors += d.Errors
	s.Updated += d.Updated
}

// write commits o through the batcher, or on its own when the service was
// not started (tools and tests that never call Start).
func (s *Service) write(ctx context.Context, apply func(tx *store.Tx) error, stat *statDelta) error {
	o := &op{apply: apply, stat: stat, done: make(chan struct{})}
	if s.batch == nil {
		commit(s.DB, s.Log, []*op{o})
		return o.err
	}
	return s.batch.enqueue(ctx, o)
}
