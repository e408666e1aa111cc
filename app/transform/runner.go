package transform

import (
	"fmt"
	"runtime"
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
	var panicMsg, errMsg string
	start := time.Now()
	runtime.LockOSThread() // the watchdog reads this thread's CPU clock
	r.dog.arm(u, timeout)
	func() {
		defer func() {
			if p := recover(); p != nil {
				// Formatting may call the script's own String or Error
				// method: keep it under the watchdog too.
				panicMsg = clip(fmt.Sprint(p), maxMsg)
				if panicMsg == "" {
					panicMsg = "(empty panic value)"
				}
			}
		}()
		var err error
		if out, err = u.fn(status, dev); err != nil {
			if errMsg = clip(err.Error(), maxMsg); errMsg == "" {
				errMsg = "(empty error)"
			}
		}
	}()
	fired := r.dog.disarm()
	runtime.UnlockOSThread()
	dur = time.Since(start)
	switch {
	case fired:
		return "", dur, KindTimeout, fmt.Sprintf("transformer timed out after %v", timeout)
	case panicMsg != "":
		return "", dur, KindPanic, "transformer panicked: " + panicMsg
	case errMsg != "":
		return "", dur, KindScript, "transformer failed: " + errMsg
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

// watchdog stops the call in progress once it has used its CPU budget. One
// long-lived timer is re-armed per call: a goroutine plus timer per call
// costs about 17 µs, more than a typical transformer.
//
// The budget is CPU time, not wall time: on a machine busy with firmware
// builds an innocent 20 µs script can wait 100 ms for a CPU, and must not
// be stopped (and eventually quarantined) for it. A script that spins
// burns CPU and is stopped after its budget; maxStretch bounds the wall
// time either way.
type watchdog struct {
	mu       sync.Mutex
	u        *unit // call in progress, nil when idle
	budget   time.Duration
	deadline time.Time // next wall-clock check
	hard     time.Time // wall-clock limit whatever the CPU use
	clock    cpuClock  // CPU clock of the calling thread
	cpu0     time.Duration
	fired    bool
	t        *time.Timer
}

// maxStretch is how many times its budget a call may take in wall time
// while starved of CPU.
const maxStretch = 10

func newWatchdog() *watchdog {
	w := &watchdog{}
	w.t = time.AfterFunc(time.Hour, w.check)
	w.t.Stop()
	return w
}

// arm starts watching a call made on the calling thread, which must stay
// locked to it (runtime.LockOSThread) until disarm.
func (w *watchdog) arm(u *unit, d time.Duration) {
	clock := threadCPUClock()
	cpu0, _ := clock.now()
	now := time.Now()
	w.mu.Lock()
	w.u, w.budget, w.clock, w.cpu0, w.fired = u, d, clock, cpu0, false
	w.deadline, w.hard = now.Add(d), now.Add(maxStretch*d)
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
	now := time.Now()
	if left := w.deadline.Sub(now); left > 0 && !w.fired {
		w.t.Reset(left)
		w.mu.Unlock()
		return
	}
	if cpu, ok := w.clock.now(); ok && !w.fired && now.Before(w.hard) {
		if left := w.budget - (cpu - w.cpu0); left > 0 {
			// Starved, not spinning: look again when the rest of the
			// budget could have been used.
			w.deadline = now.Add(max(left, time.Millisecond))
			w.t.Reset(max(left, time.Millisecond))
			w.mu.Unlock()
			return
		}
	}
	w.fired = true
	// Poke again shortly in case this interrupt raced with the call and was
	// lost; a worker's parent kills the process if the call still hangs.
	w.t.Reset(10 * time.Millisecond)
	w.mu.Unlock()
	u.interrupt()
}
