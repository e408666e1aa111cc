package broker

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"thinx/app"
	"thinx/app/store"
)

// history records the messages of each owner's tree: a bounded queue
// drained by one writer in batches, and a pruning job that keeps the
// retention and the per-owner cap. A full queue drops rows (and counts
// them) rather than slowing the broker down.
type history struct {
	db       *store.DB
	log      *slog.Logger
	opts     HistoryOptions
	interval time.Duration

	ch      chan store.MQTTMessage
	done    chan struct{}
	stopped chan struct{}
	dropped atomic.Int64 // queue full
	capped  atomic.Int64 // over an owner's rate

	mu      sync.Mutex
	buckets map[string]*bucket
}

// bucket is one owner's token bucket for recorded messages.
type bucket struct {
	tokens float64
	last   time.Time
}

const (
	historyQueue = 8192
	historyBatch = 1000
)

func newHistory(db *store.DB, log *slog.Logger, opts HistoryOptions, interval time.Duration) *history {
	// Rows wait longer than broker state: nobody waits for them, and bigger
	// batches cost the single database writer less per row.
	h := &history{db: db, log: log, opts: opts, interval: max(interval, 200*time.Millisecond),
		ch: make(chan store.MQTTMessage, historyQueue), done: make(chan struct{}), stopped: make(chan struct{}),
		buckets: map[string]*bucket{}}
	go h.loop()
	return h
}

// add queues a message, its payload cut at the configured cap.
func (h *history) add(m store.MQTTMessage) {
	if h.opts.Off || !h.allow(m.OwnerID, m.At) {
		return
	}
	if len(m.Payload) > h.opts.MaxPayload {
		m.Payload = m.Payload[:h.opts.MaxPayload]
	}
	select {
	case h.ch <- m:
	default:
		h.dropped.Add(1)
	}
}

// allow takes a token from the owner's bucket, which refills at MaxRate a
// second and holds one second's worth.
func (h *history) allow(owner string, now time.Time) bool {
	rate := float64(h.opts.MaxRate)
	h.mu.Lock()
	defer h.mu.Unlock()
	b := h.buckets[owner]
	if b == nil {
		b = &bucket{tokens: rate, last: now}
		h.buckets[owner] = b
	}
	b.tokens = min(rate, b.tokens+rate*now.Sub(b.last).Seconds())
	b.last = now
	if b.tokens < 1 {
		h.capped.Add(1)
		return false
	}
	b.tokens--
	return true
}

func (h *history) loop() {
	defer close(h.stopped)
	batch := make([]store.MQTTMessage, 0, historyBatch)
	for {
		select {
		case m := <-h.ch:
			batch = append(batch, m)
		case <-h.done:
			// Close runs after the broker stopped, so nothing adds any more.
			for len(h.ch) > 0 {
				batch = append(batch, <-h.ch)
			}
			h.write(batch)
			return
		}
		timer := time.NewTimer(h.interval)
	fill:
		for len(batch) < historyBatch {
			select {
			case m := <-h.ch:
				batch = append(batch, m)
			case <-timer.C:
				break fill
			case <-h.done:
				break fill
			}
		}
		timer.Stop()
		h.write(batch)
		batch = batch[:0]
	}
}

func (h *history) write(batch []store.MQTTMessage) {
	if len(batch) == 0 {
		return
	}
	ctx := context.Background()
	h.redact(ctx, batch)
	if err := h.db.InsertMQTTHistory(ctx, batch); err != nil {
		h.log.Error("mqtt: write history", "rows", len(batch), "err", err)
	}
}

// redact masks the values of secret variables in configuration pushes
// before they are stored: a push carries them in clear to the device, but
// secrets are kept encrypted at rest, and the history is not where to find
// them. A push whose secret names cannot be read is stored with every value
// masked.
func (h *history) redact(ctx context.Context, batch []store.MQTTMessage) {
	var names map[string]map[string]bool // "owner/udid" → secret names
	for i := range batch {
		m := &batch[i]
		if !app.IsConfigurationMessage(m.Payload) {
			continue
		}
		key := m.OwnerID + "/" + m.UDID
		secrets := func() (map[string]bool, error) {
			if n, ok := names[key]; ok {
				return n, nil
			}
			n, err := h.db.SecretEnvNames(ctx, m.OwnerID, m.UDID)
			if err == nil {
				if names == nil {
					names = map[string]map[string]bool{}
				}
				names[key] = n
			}
			return n, err
		}
		whole := len(m.Payload) >= m.Size
		m.Payload = []byte(app.HideSecretValues(string(m.Payload), secrets))
		if whole {
			m.Size = len(m.Payload)
		}
	}
}

// close writes what is queued and stops the writer.
func (h *history) close() {
	select {
	case <-h.done:
	default:
		close(h.done)
	}
	<-h.stopped
}

// pruneLoop trims the history every ten minutes until ctx ends.
func (h *history) pruneLoop(ctx context.Context) {
	t := time.NewTicker(10 * time.Minute)
	defer t.Stop()
	for {
		n, err := h.db.PruneMQTTHistory(ctx, time.Now().Add(-h.opts.Retention), h.opts.MaxPerOwner)
		if err != nil && ctx.Err() == nil {
			h.log.Error("mqtt: prune history", "err", err)
		} else if n > 0 {
			h.log.Debug("mqtt: pruned history", "deleted", n)
		}
		if d := h.dropped.Swap(0); d > 0 {
			h.log.Warn("mqtt: history queue was full, messages not recorded", "dropped", d)
		}
		if c := h.capped.Swap(0); c > 0 {
			h.log.Info("mqtt: history rate cap reached, messages not recorded", "skipped", c)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// HistoryKept is how long the history keeps messages; 0 when it is off.
func (s *Server) HistoryKept() time.Duration {
	if s.opts.History.Off {
		return 0
	}
	return s.opts.History.Retention
}

// HistoryEntry is one recorded message.
type HistoryEntry = store.MQTTMessage

// History lists an owner's recorded messages, newest first: those of one
// device when udid is set, those whose topic or payload contains search
// when it is set. limit defaults to 100 and is at most 1000. With the
// history off it lists nothing; rows stored before it was turned off go
// with the retention (24 h unless set).
func (s *Server) History(ctx context.Context, ownerID, udid, search string, limit int) ([]HistoryEntry, error) {
	if !app.IsHex64(ownerID) {
		return nil, app.Errorf(app.EINVALID, "Unknown owner.")
	}
	if len(search) > 200 {
		return nil, app.Errorf(app.EINVALID, "The search text must be at most 200 characters.")
	}
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, 1000)
	if s.opts.History.Off {
		return nil, nil
	}
	return s.deps.DB.MQTTHistory(ctx, store.MQTTHistoryFilter{OwnerID: ownerID, UDID: udid, Text: search,
		Since: time.Now().Add(-s.opts.History.Retention), Limit: limit})
}
