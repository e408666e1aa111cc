package devices

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"thinx/app"
	"thinx/app/store"
)

// op is one queued write: a check-in or a status. apply runs inside the
// batch transaction; stat is what it adds to the daily counters once it
// succeeded. apply must be safe to run again (it reads what it needs in
// the transaction) and must return a clean error (see cleanError) only
// before it has written anything.
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
	stmts  *store.Prepared
	log    *slog.Logger
	max    int
	linger time.Duration
	queue  chan *op

	mu      sync.RWMutex
	closed  bool
	stopped chan struct{}
}

func newBatcher(db *store.DB, stmts *store.Prepared, log *slog.Logger, size int, linger time.Duration) *batcher {
	return &batcher{db: db, stmts: stmts, log: log, max: size, linger: linger, queue: make(chan *op, 4*size), stopped: make(chan struct{})}
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
		commit(b.db, b.stmts, b.log, batch)
	}
}

// fill adds whatever else is queued. While check-ins keep arriving it
// waits a little for more (a fifth of linger between arrivals, linger in
// all), so a busy fleet shares commits and a lone device barely waits.
func (b *batcher) fill(batch []*op) []*op {
	if b.linger <= 0 {
		return b.drain(batch)
	}
	deadline := time.Now().Add(b.linger)
	gap := time.NewTimer(b.linger / 5)
	defer gap.Stop()
	for len(batch) < b.max {
		select {
		case o, ok := <-b.queue:
			if !ok {
				return batch
			}
			batch = append(batch, o)
			if left := time.Until(deadline); left > 0 {
				gap.Reset(min(b.linger/5, left))
				continue
			}
			return b.drain(batch)
		case <-gap.C:
			return b.drain(batch)
		}
	}
	return batch
}

// drain takes what is queued without waiting.
func (b *batcher) drain(batch []*op) []*op {
	for len(batch) < b.max {
		select {
		case o, ok := <-b.queue:
			if !ok {
				return batch
			}
			batch = append(batch, o)
		default:
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

// cleanError reports whether an op failed before writing anything: a
// refused check-in, a retry, a missing device. Such an op needs no
// rollback, so the batch goes on without savepoints.
func cleanError(err error) bool {
	var r *refusal
	var retry *retryError
	switch {
	case errors.As(err, &r), errors.As(err, &retry):
		return true
	}
	code := app.ErrorCode(err)
	return code == app.EUNAUTHORIZED || code == app.ENOTFOUND
}

// errUnclean rolls a batch back so it can run again op by op.
var errUnclean = errors.New("an op failed after writing")

// commit applies a batch in one transaction and wakes every waiting caller.
// Ops run straight; if one fails after writing, the whole transaction is
// rolled back and the batch runs again with a savepoint per op, so that op
// fails alone.
func commit(db *store.DB, stmts *store.Prepared, log *slog.Logger, batch []*op) {
	err := applyBatch(db, stmts, batch, false)
	if errors.Is(err, errUnclean) {
		err = applyBatch(db, stmts, batch, true)
	}
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

func applyBatch(db *store.DB, stmts *store.Prepared, batch []*op, savepoints bool) error {
	return db.Update(context.Background(), func(tx *store.Tx) error {
		stats := map[store.StatKey]*app.DailyStat{}
		for _, o := range batch {
			if savepoints {
				o.err = stmts.Savepoint(tx, func() error { return o.apply(tx) })
			} else if o.err = o.apply(tx); o.err != nil && !cleanError(o.err) {
				return errUnclean
			}
			if o.err == nil && o.stat != nil && o.stat.key.OwnerID != "" {
				addStat(stats, o.stat)
			}
		}
		return stmts.AddDailyStats(tx, stats)
	})
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

// write commits an op through the batcher, or on its own when the service
// was not started (tools and tests that never call Start).
func (s *Service) write(ctx context.Context, apply func(tx *store.Tx) error, stat *statDelta) error {
	o := &op{apply: apply, stat: stat, done: make(chan struct{})}
	if s.batch == nil {
		commit(s.DB, s.stmts, s.Log, []*op{o})
		return o.err
	}
	return s.batch.enqueue(ctx, o)
}
