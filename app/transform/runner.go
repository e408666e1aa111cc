package transform

import (
	"fmt"
	"sync"
	"time"
)

// request is one unit of work for a runner: a chain of one or more scripts
// applied to one status. It is also the wire format to worker processes,
// one JSON object per line.
type request struct {
	ID      uint64        `json:"id"`
	Steps   []step        `json:"steps"`
	Status  string        `json:"status"`
	Device  Device        `json:"device"`
	Timeout time.Duration `json:"timeout"` // per step
}

// step names a script by its cache key. Src is sent only when the worker is
// not known to have compiled it already, which keeps the pipe traffic to a
// few hundred bytes per call.
type step struct {
	Key string `json:"key"`
	Src string `json:"src,omitempty"`
}

// reply answers one request.
type reply struct {
	ID     uint64  `json:"id"`
	Output string  `json:"out,omitempty"`
	Durs   []int64 `json:"durs,omitempty"`   // nanoseconds per attempted step
	Failed int     `json:"failed"`           // index of the failing step, -1 if none
	Kind   Kind    `json:"kind,omitempty"`   // why it failed
	Msg    string  `json:"msg,omitempty"`    // what to tell the owner
	Need   []int   `json:"need,omitempty"`   // steps to resend with Src; nothing was run
	Retire bool    `json:"retire,omitempty"` // worker asks to be replaced (CPU budget)
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
	rep := &reply{ID: req.ID, Failed: -1}
	// Check that every step is available before running any, so a chain is
	// never half run and then resent.
	units := make([]*unit, len(req.Steps))
	for i, st := range req.Steps {
		if units[i] = r.cache.get(st.Key); units[i] == nil && st.Src == "" {
			rep.Need = append(rep.Need, i)
		}
	}
	if len(rep.Need) > 0 {
		return rep
	}
	status := req.Status
	for i, st := range req.Steps {
		u := units[i]
		if u == nil {
			var err error
			if u, err = compile(st.Src, compileTimeout); err != nil {
				rep.Failed, rep.Kind, rep.Msg = i, KindInvalid, err.Error()
				return rep
			}
			r.cache.put(st.Key, u)
		}
		out, dur, kind, msg := r.call(u, status, req.Device, req.Timeout)
		rep.Durs = append(rep.Durs, dur.Nanoseconds())
		if kind != "" {
			if kind == KindTimeout || kind == KindPanic {
				// A stopped interpreter answers "", nil forever after, and
				// one that panicked may hold half-updated globals: rebuild.
				r.cache.remove(st.Key)
			}
			rep.Failed, rep.Kind, rep.Msg = i, kind, msg
			return rep
		}
		status = out
	}
	rep.Output = status
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
