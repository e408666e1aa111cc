package broker

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"thinx/app/store"
)

// batcher queues changes to the broker's stored state and writes them in
// one transaction every few milliseconds. A change that is superseded
// before it is written (an in-flight message acknowledged a millisecond
// after it was sent, a retained message replaced) is never written at all;
// values are encoded only when the batch is written.
type batcher struct {
	db       *store.DB
	log      *slog.Logger
	interval time.Duration

	mu      sync.Mutex
	ops     []op
	index   map[opKey]int                  // position of the live op of a key in ops
	stored  map[string]map[string]struct{} // in-flight keys in the database, per client
	known   map[string]struct{}            // clients that have, or are about to have, rows
	kick    chan struct{}
	flushMu sync.Mutex // one flush at a time keeps batches in order
	done    chan struct{}
	stopped chan struct{}
}

type opKey struct {
	kind   store.MQTTKind
	client string
	key    string
}

// op is one queued change; a nil encode deletes, dead ops were superseded.
type op struct {
	k      opKey
	encode func() ([]byte, error)
	dead   bool
}

func newBatcher(db *store.DB, log *slog.Logger, interval time.Duration) *batcher {
	b := &batcher{db: db, log: log, interval: interval, index: map[opKey]int{},
		stored: map[string]map[string]struct{}{}, known: map[string]struct{}{}, kick: make(chan struct{}, 1),
		done: make(chan struct{}), stopped: make(chan struct{})}
	go b.loop()
	return b
}

// put queues an upsert.
func (b *batcher) put(kind store.MQTTKind, client, key string, encode func() ([]byte, error)) {
	b.mu.Lock()
	switch kind {
	case store.MQTTClient:
		b.known[key] = struct{}{}
	case store.MQTTSubscription, store.MQTTInflight:
		b.known[client] = struct{}{}
	}
	b.queue(op{k: opKey{kind, client, key}, encode: encode})
	b.mu.Unlock()
}

// del queues a delete. An in-flight message that never reached the
// database needs none.
func (b *batcher) del(kind store.MQTTKind, client, key string) {
	k := opKey{kind, client, key}
	b.mu.Lock()
	defer b.mu.Unlock()
	if kind == store.MQTTInflight {
		if _, ok := b.stored[client][key]; !ok {
			if i, ok := b.index[k]; ok {
				b.ops[i].dead = true
				delete(b.index, k)
			}
			return
		}
	}
	b.queue(op{k: k})
}

// deleteSession queues the removal of a client with its subscriptions and
// in-flight messages, superseding everything queued for it. A client that
// never stored anything (the common clean session) costs nothing.
func (b *batcher) deleteSession(client string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.known[client]; !ok {
		return
	}
	delete(b.known, client)
	for i := range b.ops {
		if k := b.ops[i].k; k.client == client && !b.ops[i].dead {
			b.ops[i].dead = true
			delete(b.index, k)
		}
	}
	b.queue(op{k: opKey{kind: store.MQTTSession, client: client}})
}

func (b *batcher) queue(o op) {
	if i, ok := b.index[o.k]; ok {
		b.ops[i].dead = true
	}
	if o.k.kind != store.MQTTSession {
		b.index[o.k] = len(b.ops)
	}
	b.ops = append(b.ops, o)
	if len(b.ops) == 1 {
		select {
		case b.kick <- struct{}{}:
		default:
		}
	}
}

// loop writes a batch an interval after its first change arrived.
func (b *batcher) loop() {
	defer close(b.stopped)
	for {
		select {
		case <-b.done:
			return
		case <-b.kick:
		}
		select {
		case <-b.done:
			return
		case <-time.After(b.interval):
		}
		if err := b.flush(context.Background()); err != nil {
			b.log.Error("mqtt: write broker state", "err", err)
		}
	}
}

// flush writes everything queued so far.
func (b *batcher) flush(ctx context.Context) error {
	b.flushMu.Lock()
	defer b.flushMu.Unlock()
	b.mu.Lock()
	ops := b.ops
	b.ops, b.index = nil, map[opKey]int{}
	for _, o := range ops {
		if !o.dead {
			b.track(o)
		}
	}
	b.mu.Unlock()
	writes := make([]store.MQTTWrite, 0, len(ops))
	for _, o := range ops {
		if o.dead {
			continue
		}
		w := store.MQTTWrite{Kind: o.k.kind, Client: o.k.client, Key: o.k.key}
		if o.encode != nil {
			data, err := o.encode()
			if err != nil {
				b.log.Error("mqtt: encode broker state", "kind", o.k.kind, "err", err)
				continue
			}
			w.Data = data
		}
		writes = append(writes, w)
	}
	return b.db.WriteMQTT(ctx, writes)
}

// track keeps the set of stored in-flight keys in step with the writes
// about to be made (under b.mu), so a later delete knows whether the
// database holds a row.
func (b *batcher) track(o op) {
	switch {
	case o.k.kind == store.MQTTSession:
		delete(b.stored, o.k.client)
	case o.k.kind != store.MQTTInflight:
	case o.encode != nil:
		if b.stored[o.k.client] == nil {
			b.stored[o.k.client] = map[string]struct{}{}
		}
		b.stored[o.k.client][o.k.key] = struct{}{}
	default:
		delete(b.stored[o.k.client], o.k.key)
		if len(b.stored[o.k.client]) == 0 {
			delete(b.stored, o.k.client)
		}
	}
}

// loaded records rows read at start-up: a client (key empty) or one of its
// in-flight messages.
func (b *batcher) loaded(client, key string) {
	b.mu.Lock()
	b.known[client] = struct{}{}
	if key != "" {
		b.track(op{k: opKey{store.MQTTInflight, client, key}, encode: func() ([]byte, error) { return nil, nil }})
	}
	b.mu.Unlock()
}

// close stops the loop and writes what is left.
func (b *batcher) close() error {
	select {
	case <-b.done:
		return nil
	default:
	}
	close(b.done)
	<-b.stopped
	return b.flush(context.Background())
}
