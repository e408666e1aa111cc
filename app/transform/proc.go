package transform

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"time"
)

const (
	// killGrace is how long past a call's longest possible run (its CPU
	// budget stretched by maxStretch on a busy machine) the parent waits
	// before killing the worker. The worker's watchdog normally stops a
	// runaway script itself; killing is for native code that cannot be
	// interrupted, e.g. a huge strings.Repeat.
	killGrace = 250 * time.Millisecond
	// stallAfter is how long a worker may go without answering before new
	// calls are routed to another worker.
	stallAfter = 5 * time.Millisecond
	// helloTimeout bounds a worker's start-up.
	helloTimeout = 10 * time.Second
)

// errRetry tells the engine a call was lost with a worker that died because
// of another call, or was retiring; it is safe to send it again.
var errRetry = errors.New("worker went away")

// proc is the parent's handle on one worker process. Calls are written to
// the worker's stdin as JSON lines and answered in order on its stdout, so
// the oldest unanswered call is the one running.
type proc struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stderr stderrCapture
	mem    uint64
	onExit func(*proc) // once, after the process is gone and calls failed
	// onRetire is called once when the worker asks to be replaced.
	onRetire func(*proc)

	mu       sync.Mutex
	queue    []*call // sent or about to be, oldest first
	wbuf     []byte  // encoded requests the writer has not written yet
	sent     map[string]bool
	progress time.Time // last reply, or when the queue became non-empty
	exited   bool
	closing  bool   // take no more calls; close stdin once drained
	killed   string // why the parent killed the process, if it did
	kick     chan struct{}
	dog      *time.Timer
	done     chan struct{}
}

type call struct {
	req    request
	src    string // kept to resend when the worker has dropped the unit
	budget time.Duration
	done   chan struct{}
	rep    *reply
	err    error
}

// startProc runs this executable again as a worker and waits for its hello.
func startProc(o Options, onExit, onRetire func(*proc)) (*proc, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	p := &proc{mem: o.MemoryLimit, onExit: onExit, onRetire: onRetire, sent: map[string]bool{},
		kick: make(chan struct{}, 1), done: make(chan struct{})}
	// The argument is for a main that forgot MaybeWorker: it then fails on
	// an unknown command instead of starting a second server.
	p.cmd = exec.Command(exe, "transform-worker")
	p.cmd.Env = []string{
		workerEnv + "=1",
		memEnv + "=" + strconv.FormatUint(o.MemoryLimit, 10),
		cpuEnv + "=" + strconv.Itoa(int(o.cpuBudget/time.Second)),
		cacheEnv + "=" + strconv.Itoa(o.CacheSize),
		"GOTRACEBACK=none", // a crash report is one line, not every goroutine
	}
	p.cmd.Stderr = &p.stderr
	if p.stdin, err = p.cmd.StdinPipe(); err != nil {
		return nil, err
	}
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start transformer worker: %w", err)
	}
	p.dog = time.AfterFunc(time.Hour, p.check)
	p.dog.Stop()

	br := bufio.NewReaderSize(stdout, 64<<10)
	hello := make(chan error, 1)
	go func() {
		line, err := br.ReadBytes('\n')
		if err == nil && string(line) != helloLine+"\n" {
			err = fmt.Errorf("unexpected first line %.40q", line)
		}
		hello <- err
	}()
	select {
	case err = <-hello:
	case <-time.After(helloTimeout):
		err = errors.New("no answer")
	}
	if err != nil {
		_ = p.cmd.Process.Kill()
		_ = p.cmd.Wait()
		return nil, fmt.Errorf("transformer worker did not start (%v); does main call transform.MaybeWorker first? %s", err, p.stderr.summary())
	}
	go p.writeLoop()
	go p.readLoop(br)
	return p, nil
}

// helloLine is the worker's first output: it proves the executable really
// is a worker and not, say, a second server because main forgot MaybeWorker.
const helloLine = `{"hello":"thinx-transform-worker"}`

// run sends req and waits for its reply. The worker's copy of the source is
// tracked, so Src crosses the pipe once per worker, not once per call.
func (p *proc) run(ctx context.Context, req *request) (*reply, error) {
	c := &call{req: *req, src: req.Src, done: make(chan struct{})}
	p.mu.Lock()
	if p.exited || p.closing {
		p.mu.Unlock()
		return nil, errRetry
	}
	p.enqueueLocked(c, false)
	p.mu.Unlock()
	select {
	case <-c.done:
		return c.rep, c.err
	case <-ctx.Done():
		return nil, ctx.Err() // the reply, when it comes, is dropped
	}
}

func (p *proc) enqueueLocked(c *call, withSrc bool) {
	c.req.Src = ""
	c.budget = maxStretch*c.req.Timeout + killGrace
	if withSrc || !p.sent[c.req.Key] {
		c.req.Src = c.src
		c.budget += compileTimeout
		if len(p.sent) > 4096 {
			clear(p.sent) // only an optimisation; the worker asks when unsure
		}
		p.sent[c.req.Key] = true
	}
	b, err := json.Marshal(&c.req)
	if err != nil { // cannot happen: request holds only strings and ints
		panic(err)
	}
	p.wbuf = append(append(p.wbuf, b...), '\n')
	if len(p.queue) == 0 {
		p.progress = time.Now()
		p.dog.Reset(c.budget)
	}
	p.queue = append(p.queue, c)
	p.kickLocked()
}

func (p *proc) kickLocked() {
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// writeLoop writes whatever requests piled up since its last write in one
// go: under load that batches many calls per system call.
func (p *proc) writeLoop() {
	var buf []byte
	for range p.kick {
		p.mu.Lock()
		buf, p.wbuf = p.wbuf, buf[:0]
		drained := p.closing && len(p.queue) == 0
		p.mu.Unlock()
		if len(buf) > 0 {
			if _, err := p.stdin.Write(buf); err != nil {
				return // the reader sees the exit and fails the calls
			}
		}
		if drained {
			_ = p.stdin.Close() // the worker exits at end of input
			return
		}
	}
}
