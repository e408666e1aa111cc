package transform

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strconv"
	"sync"
	"time"
)

// Environment variables of a worker process. The parent passes nothing else:
// workers do not inherit the server's environment, which may hold secrets.
const (
	workerEnv = "THINX_TRANSFORM_WORKER" // "1" makes MaybeWorker take over
	memEnv    = "THINX_TRANSFORM_MEM"    // heap budget in bytes
	cpuEnv    = "THINX_TRANSFORM_CPU"    // CPU budget in seconds
	cacheEnv  = "THINX_TRANSFORM_CACHE"  // compiled units to keep
)

// MaybeWorker turns this process into a transformer worker when it was
// started as one (THINX_TRANSFORM_WORKER=1), and then exits; otherwise it
// returns at once. Call it first thing in main, and in TestMain of packages
// that create an Engine: the engine starts workers by running its own
// executable again.
func MaybeWorker() {
	if !IsWorker() {
		return
	}
	os.Exit(workerMain(os.Stdin, os.Stdout))
}

// IsWorker reports whether this process was started as a worker.
func IsWorker() bool { return os.Getenv(workerEnv) == "1" }

// workerMain reads requests, one JSON object per line, runs them one at a
// time and writes one reply line per request, in order. It returns when
// stdin closes, which is how the parent retires a worker.
func workerMain(in io.Reader, out io.Writer) int {
	mem, _ := strconv.ParseUint(os.Getenv(memEnv), 10, 64)
	cpu, _ := strconv.Atoi(os.Getenv(cpuEnv))
	cache, _ := strconv.Atoi(os.Getenv(cacheEnv))
	o := Options{MemoryLimit: mem, CacheSize: cache, cpuBudget: time.Duration(cpu) * time.Second}.withDefaults()
	retire, err := applyLimits(o.MemoryLimit, o.cpuBudget)
	if err != nil {
		fmt.Fprintln(os.Stderr, "transform worker: cannot set limits:", err)
		return 3
	}

	// yaegi boxes most values, so scripts make lots of short-lived garbage.
	// With the memory limit in place the heap is bounded anyway: collect
	// less often than the default.
	debug.SetGCPercent(400)

	r := newRunner(o.CacheSize)
	br := bufio.NewReaderSize(in, 64<<10)
	w := newReplyWriter(out, br)
	_, _ = w.bw.WriteString(helloLine + "\n")
	w.flush()
	retiring := false
	for {
		line, err := br.ReadBytes('\n')
		if len(line) == 0 && err != nil {
			w.flush()
			if err == io.EOF {
				return 0
			}
			return 1
		}
		var req request
		if err := json.Unmarshal(line, &req); err != nil {
			fmt.Fprintln(os.Stderr, "transform worker: bad request:", err)
			return 2
		}
		rep := r.exec(&req)
		if !retiring {
			select {
			case <-retire:
				retiring = true
			default:
			}
		}
		rep.Retire = retiring
		w.write(rep)
	}
}

// replyWriter batches replies: it flushes at once when no further request
// is already buffered, and otherwise within flushDelay, so a burst of
// requests costs one write but a fast reply never waits behind a slow call.
type replyWriter struct {
	mu    sync.Mutex
	bw    *bufio.Writer
	enc   *json.Encoder
	in    *bufio.Reader
	armed bool
	t     *time.Timer
}

const flushDelay = 200 * time.Microsecond

func newReplyWriter(out io.Writer, in *bufio.Reader) *replyWriter {
	w := &replyWriter{bw: bufio.NewWriterSize(out, 64<<10), in: in}
	w.enc = json.NewEncoder(w.bw)
	w.t = time.AfterFunc(time.Hour, w.flush)
	w.t.Stop()
	return w
}

func (w *replyWriter) write(rep *reply) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.enc.Encode(rep); err != nil {
		fmt.Fprintln(os.Stderr, "transform worker: encode:", err)
		os.Exit(2)
	}
	if w.in.Buffered() == 0 {
		w.flushLocked()
	} else if !w.armed {
		w.armed = true
		w.t.Reset(flushDelay)
	}
}

func (w *replyWriter) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.flushLocked()
}

func (w *replyWriter) flushLocked() {
	w.armed = false
	if err := w.bw.Flush(); err != nil {
		// The parent is gone; nothing left to answer.
		os.Exit(1)
	}
}
