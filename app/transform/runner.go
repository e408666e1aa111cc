package transform

import (
	"fmt"
	"sync"
	"time"
)

// request asks a runner to apply one script to one status. It is also the
// wire format to worker processes, one JSON object per line. Chains are
// sent one step per request so a crash is always blamed on the right script.
type request struct {
	ID      uint64        `json:"id"`
	Key     string        `json:"key"`           // names the compiled unit
	Src     string        `json:"src,omitempty"` // only when the worker may lack it
	Status  string        `json:"status"`
	Device  Device        `json:"device"`
	Timeout time.Duration `json:"timeout"`
}

// reply answers one request.
type reply struct {
	ID     uint64        `json:"id"`
	Output string        `json:"out,omitempty"`
	Dur    time.Duration `json:"dur,omitempty"`    // time inside the script
	Kind   Kind          `json:"kind,omitempty"`   // why it failed, "" on success
	Msg    string        `json:"msg,omitempty"`    // what to tell the owner
	Need   bool          `json:"need,omitempty"`   // resend with Src; nothing was run
	Retire bool          `json:"retire,omitempty"` // worker asks to be replaced (CPU budget)
}

// runner executes requests with a cache of compiled units. It is used by the
// worker process and by in-process engines; it is not safe for concurrent
// use, callers serialise.
type runner struct {
	cache *lru
	dog   *watchdog
}

func newRunner(cacheSize int) *runner {
	return &runner{cache: newLRU(cacheSize), dog: newWatchdog()}
}

func (r *runner) exec(req *request) *reply {
	rep := &reply{ID: req.ID}
	u := r.cache.get(req.Key)
	if u == nil {
		if req.Src == "" {
			rep.Need = true
			return rep
		}
		var err error
		if u, err = compile(req.Src, compileTimeout); err != nil {
			rep.Kind, rep.Msg = KindInvalid, err.Error()
			return rep
		}
		r.cache.put(req.Key, u)
	}
	rep.Output, rep.Dur, rep.Kind, rep.Msg = r.call(u, req.Status, req.Device, req.Timeout)
	if rep.Kind == KindTimeout || rep.Kind == KindPanic {
		// A stopped interpreter answers "", nil forever after, and one that
		// panicked may hold half-updated globals: rebuild it next time.
		r.cache.remove(req.Key)
	}
	return rep
}

// call runs one transformer under the watchdog and classifies the outcome.
func (r *runner) call(u *unit, status string, dev Device, timeout time.Duration) (out string, dur time.Duration, kind Kind, msg string) {
	dev = dev.clone() // scripts may scribble on Tags and Env; never on the caller's
	var perr any
	var serr error
	start := time.Now()
	r.dog.arm(u, timeout)
	func() {
		defer func() { perr = recover() }()
		out, serr = u.fn(status, dev)
	}()
	fired := r.dog.disarm()
	dur = time.Since(start)
	switch {
	case fired:
		return "", dur, KindTimeout, fmt.Sprintf("transformer timed out after %v", timeout)
	case perr != nil:
		return "", dur, KindPanic, "transformer panicked: " + clip(fmt.Sprint(perr), maxMsg)
	case serr != nil:
		return "", dur, KindScript, "transformer failed: " + clip(serr.Error(), maxMsg)
	case len(out) > MaxStatus:
		return "", dur, KindScript, fmt.Sprintf("transformer output is %d bytes, the limit is %d", len(out), MaxStatus)
	}
	return out, dur, "", ""
}

func (d Device) clone() Device {
	if d.Tags != nil {
		d.Tags = append([]string(nil), d.Tags...)
	}
	if d.Env != nil {
		env := make(map[string]string, len(d.Env))
		for k, v := range d.Env {
			env[k] = v
		}
		d.Env = env
	}
	return d
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// watchdog stops the call in progress when it outlives its deadline. One
// long-lived timer is re-armed per call: a goroutine plus timer per call
// costs about 17 µs, more than a typical transformer.
type watchdog struct {
	mu       sync.Mutex
	u        *unit // call in progress, nil when idle
	deadline time.Time
	fired    bool
	t        *time.Timer
}

func newWatchdog() *watchdog {
	w := &watchdog{}
	w.t = time.AfterFunc(time.Hour, w.check)
	w.t.Stop()
	return w
}

func (w *watchdog) arm(u *unit, d time.Duration) {
	w.mu.Lock()
	w.u, w.deadline, w.fired = u, time.Now().Add(d), false
	w.t.Reset(d)
	w.mu.Unlock()
}

// disarm ends the call and reports whether it was interrupted.
func (w *watchdog) disarm() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.u = nil
	w.t.Stop()
	return w.fired
}

func (w *watchdog) check() {
	w.mu.Lock()
	u := w.u
	if u == nil {
		w.mu.Unlock()
		return
	}
	// A timer armed for an earlier call may fire late: re-check the clock.
	if left := time.Until(w.deadline); left > 0 {
		w.t.Reset(left)
		w.mu.Unlock()
		return
	}
	w.fired = true
	// Poke again shortly in case this interrupt raced with the call and was
	// lost; a worker's parent kills the process if the call still hangs.
	w.t.Reset(10 * time.Millisecond)
	w.mu.Unlock()
	u.interrupt()
}
