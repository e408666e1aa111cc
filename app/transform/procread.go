package transform

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// readLoop matches replies to calls until the worker's stdout closes, then
// reaps the process.
func (p *proc) readLoop(br *bufio.Reader) {
	for {
		line, err := br.ReadBytes('\n')
		if err != nil {
			break
		}
		var rep reply
		if err := json.Unmarshal(line, &rep); err != nil || !p.handle(&rep) {
			p.kill("protocol error")
			break
		}
	}
	p.exit(p.cmd.Wait())
}

// handle delivers one reply; false means it matched no call.
func (p *proc) handle(rep *reply) bool {
	p.mu.Lock()
	if len(p.queue) == 0 || p.queue[0].req.ID != rep.ID {
		p.mu.Unlock()
		return false
	}
	c := p.queue[0]
	p.queue[0] = nil
	p.queue = p.queue[1:]
	p.progress = time.Now()
	if rep.Need {
		// The worker dropped the unit (evicted, or rebuilt after a
		// timeout): send the call again, with its source.
		p.enqueueLocked(c, true)
		p.mu.Unlock()
		return true
	}
	retire := rep.Retire && !p.closing
	if retire {
		p.closing = true
	}
	if p.closing && len(p.queue) == 0 {
		p.kickLocked() // lets the writer close stdin
	}
	p.mu.Unlock()
	if retire {
		p.onRetire(p)
	}
	c.rep = rep
	close(c.done)
	return true
}

// check runs when the oldest call may have outlived its budget, and kills
// the worker if it has.
func (p *proc) check() {
	p.mu.Lock()
	if p.exited || len(p.queue) == 0 {
		p.mu.Unlock()
		return
	}
	if left := p.queue[0].budget - time.Since(p.progress); left > 0 {
		p.dog.Reset(left)
		p.mu.Unlock()
		return
	}
	p.mu.Unlock()
	p.kill("timeout")
}

func (p *proc) kill(why string) {
	p.mu.Lock()
	if p.killed == "" {
		p.killed = why
	}
	p.mu.Unlock()
	_ = p.cmd.Process.Kill()
}

// exit fails the calls still queued once the process is gone. The oldest
// was running and gets the crash report; the others only queued behind it
// and are retried elsewhere.
func (p *proc) exit(waitErr error) {
	p.mu.Lock()
	p.exited = true
	p.dog.Stop()
	calls, killed := p.queue, p.killed
	p.queue = nil
	close(p.kick)
	p.mu.Unlock()
	// Let the slot forget this worker first, so that a caller retrying
	// right after its reply does not pick the dead worker again.
	p.onExit(p)
	for i, c := range calls {
		switch {
		case i > 0:
			c.err = errRetry
		case killed == "closed":
			c.err = &Error{Kind: KindUnavailable, Msg: ErrClosed.Error()}
		case killed == "timeout":
			c.rep = &reply{ID: c.req.ID, Kind: KindTimeout, Msg: fmt.Sprintf("transformer timed out after %v and was killed", c.req.Timeout)}
		default:
			c.rep = &reply{ID: c.req.ID, Kind: KindCrash, Msg: p.crashMessage(waitErr, killed)}
		}
		close(c.done)
	}
	close(p.done)
}

// crashMessage explains to an owner why the worker died under their script.
func (p *proc) crashMessage(waitErr error, killed string) string {
	out := p.stderr.summary()
	switch {
	case strings.Contains(out, "out of memory") || strings.Contains(out, "cannot allocate memory") ||
		strings.Contains(out, "pthread_create failed"): // builds with cgo need address space for each thread
		return fmt.Sprintf("transformer exceeded the memory limit of %d MiB", p.mem>>20)
	case strings.Contains(out, "stack overflow") || strings.Contains(out, "stack exceeds"):
		return "transformer overflowed its stack (endless recursion?)"
	case killed != "":
		return "transformer worker failed: " + killed
	}
	var ee *exec.ExitError
	if errors.As(waitErr, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL {
			return "transformer worker was killed by the system (CPU or memory limit)"
		}
	}
	if first, _, _ := strings.Cut(out, "\n"); first != "" {
		return "transformer worker crashed: " + first
	}
	return fmt.Sprintf("transformer worker crashed (%v)", waitErr)
}

// stalled reports whether new calls should avoid this worker: it is going
// away, or it has not answered anything for stallAfter.
func (p *proc) stalled(now time.Time) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.exited || p.closing || len(p.queue) > 0 && now.Sub(p.progress) > stallAfter
}

func (p *proc) load() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.queue)
}

// shutdown lets the worker finish queued calls, then kills it after wait.
func (p *proc) shutdown(wait time.Duration) {
	p.mu.Lock()
	if !p.exited {
		p.closing = true
		p.kickLocked()
	}
	p.mu.Unlock()
	select {
	case <-p.done:
	case <-time.After(wait):
		p.kill("closed")
		<-p.done
	}
}

// stderrCapture keeps the start and the end of a worker's stderr: a fatal
// runtime error prints its reason first, a panic its value last.
type stderrCapture struct {
	mu         sync.Mutex
	head, tail []byte
}

const stderrKeep = 2 << 10

func (s *stderrCapture) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := min(len(b), stderrKeep-len(s.head)); n > 0 {
		s.head = append(s.head, b[:n]...)
	}
	s.tail = append(s.tail, b...)
	if len(s.tail) > stderrKeep {
		s.tail = append(s.tail[:0], s.tail[len(s.tail)-stderrKeep:]...)
	}
	return len(b), nil
}

func (s *stderrCapture) summary() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.TrimSpace(string(s.head) + "\n" + string(s.tail))
}
