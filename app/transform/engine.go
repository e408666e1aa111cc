package transform

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Engine runs transformers in a pool of sandboxed workers. It is safe for
// concurrent use.
type Engine struct {
	opts   Options
	slots  []*slot
	nextID atomic.Uint64
	closed atomic.Bool

	mu    sync.Mutex
	fails map[string]int // consecutive failures by script version; only failing ones
}

// NewEngine starts the worker processes (or in-process runners) and returns
// once all are ready. With worker processes, the program must call
// MaybeWorker at the top of main.
func NewEngine(opts Options) (*Engine, error) {
	o := opts.withDefaults()
	e := &Engine{opts: o, fails: map[string]int{}}
	for range o.Workers {
		e.slots = append(e.slots, &slot{start: e.startBackend})
	}
	// Start all workers now, in parallel: the first transforms are then
	// fast and a broken setup fails here rather than on a device's status.
	errs := make(chan error, len(e.slots))
	for _, s := range e.slots {
		go func() { _, err := s.get(); errs <- err }()
	}
	for range e.slots {
		if err := <-errs; err != nil {
			e.Close()
			return nil, err
		}
	}
	return e, nil
}

func (e *Engine) startBackend(s *slot) (backend, error) {
	if e.opts.InProcess {
		return &local{r: newRunner(e.opts.CacheSize)}, nil
	}
	gone := func(p *proc) { s.replace(p) }
	return startProc(e.opts, gone, gone)
}

// Run applies one script to status on behalf of owner. Calls of one owner
// go to the same worker, so its compiled scripts stay warm, unless that
// worker is busy, in which case another takes the call.
//
// On failure the error is an *Error whose message can be shown to the owner,
// and the Result still reports Failures and Quarantined.
func (e *Engine) Run(ctx context.Context, owner string, s Script, status string, dev Device) (Result, error) {
	if e.closed.Load() {
		return Result{}, &Error{Kind: KindUnavailable, Script: s.String(), Msg: ErrClosed.Error()}
	}
	if len(status) > MaxStatus {
		return Result{}, &Error{Kind: KindInvalid, Script: s.String(), Msg: fmt.Sprintf("status is %d bytes, the limit is %d", len(status), MaxStatus)}
	}
	key := scriptKey(s)
	if n, q := e.failures(key); q {
		return Result{Failures: n, Quarantined: true}, &Error{Kind: KindQuarantined, Script: s.String(),
			Msg: fmt.Sprintf("transformer %s is quarantined after %d consecutive failures", s, n)}
	}
	req := &request{Key: key, Src: s.Source, Status: status, Device: dev, Timeout: e.opts.Timeout}
	rep, err := e.dispatch(ctx, owner, req)
	if err != nil {
		return Result{}, err // not the script's fault: no failure counted
	}
	res := Result{Output: rep.Output, Duration: rep.Dur}
	if rep.Kind == "" {
		e.succeeded(key)
		return res, nil
	}
	res.Output = ""
	res.Failures, res.Quarantined = e.failed(key)
	return res, &Error{Kind: rep.Kind, Script: s.String(), Msg: rep.Msg}
}

// RunChain feeds status through the scripts in order, each one's output
// being the next one's input. It stops at the first failure: ChainResult
// then says which script failed, and the error is that script's.
func (e *Engine) RunChain(ctx context.Context, owner string, chain []Script, status string, dev Device) (ChainResult, error) {
	cr := ChainResult{Output: status, Failed: -1}
	for i, s := range chain {
		r, err := e.Run(ctx, owner, s, cr.Output, dev)
		cr.Steps = append(cr.Steps, r)
		cr.Duration += r.Duration
		if err != nil {
			cr.Output, cr.Failed = "", i
			return cr, err
		}
		cr.Output = r.Output
	}
	return cr, nil
}

// dispatch sends req to a backend. A call lost with a worker that another
// script crashed is sent again, a bounded number of times.
func (e *Engine) dispatch(ctx context.Context, owner string, req *request) (*reply, error) {
	for range 3 {
		b, err := e.pick(owner)
		if err != nil {
			return nil, err
		}
		req.ID = e.nextID.Add(1)
		rep, err := b.run(ctx, req)
		if err == errRetry {
			continue
		}
		if err != nil && ctx.Err() != nil {
			return nil, &Error{Kind: KindUnavailable, Msg: "transform canceled: " + err.Error()}
		}
		return rep, err
	}
	return nil, &Error{Kind: KindUnavailable, Msg: "transformer workers keep restarting; try again"}
}

// pick chooses the worker for a call. The owner's own worker (by hash) is
// preferred so its compiled scripts stay warm, but only while it is idle or
// no less loaded than the others; a stalled worker (running a slow script,
// restarting, retiring) is avoided altogether. This is what keeps one
// owner's runaway script from delaying other owners.
func (e *Engine) pick(owner string) (backend, error) {
	h := fnv.New32a()
	_, _ = h.Write([]byte(owner))
	pref := e.slots[h.Sum32()%uint32(len(e.slots))]
	now := time.Now()
	best, bestLoad := pref.peek(), 0
	if best != nil {
		if bestLoad = best.load(); bestLoad == 0 && !best.stalled(now) {
			return best, nil
		}
		if best.stalled(now) {
			best = nil
		}
	}
	for _, s := range e.slots {
		if s == pref {
			continue
		}
		if b := s.peek(); b != nil && !b.stalled(now) {
			if l := b.load(); best == nil || l < bestLoad {
				best, bestLoad = b, l
			}
		}
	}
	if best != nil {
		return best, nil
	}
	return pref.get()
}

// Release lifts the quarantine of one script version and clears its
// failure count, e.g. after an owner asked to retry it.
func (e *Engine) Release(s Script) {
	e.mu.Lock()
	delete(e.fails, scriptKey(s))
	e.mu.Unlock()
}

func (e *Engine) failures(key string) (int, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := e.fails[key]
	return n, n >= e.opts.QuarantineAfter
}

func (e *Engine) failed(key string) (int, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.fails[key]++
	n := e.fails[key]
	return n, n >= e.opts.QuarantineAfter
}

func (e *Engine) succeeded(key string) {
	e.mu.Lock()
	if _, ok := e.fails[key]; ok {
		delete(e.fails, key)
	}
	e.mu.Unlock()
}

// Close stops the workers, letting each finish the calls it has queued for
// up to a second. Calls made after Close fail with ErrClosed.
func (e *Engine) Close() error {
	if e.closed.Swap(true) {
		return nil
	}
	var wg sync.WaitGroup
	for _, s := range e.slots {
		if b := s.close(); b != nil {
			wg.Go(func() { b.shutdown(time.Second) })
		}
	}
	wg.Wait()
	return nil
}

// scriptKey names a compiled unit. The source hash guards against an ID and
// version reused for different source, which would otherwise run stale code.
func scriptKey(s Script) string {
	sum := sha256.Sum256([]byte(s.Source))
	return s.ID + "@" + strconv.Itoa(s.Version) + "#" + hex.EncodeToString(sum[:8])
}
