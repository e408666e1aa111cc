package transform

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestQuarantine(t *testing.T) {
	e := newTestEngine(t, Options{QuarantineAfter: 3, Workers: 1})
	s := Script{ID: "flaky", Version: 1, Source: script(`"errors"`+"\n", "", `if status == "bad" {
	return "", errors.New("bad status")
}
return "ok", nil`)}

	// A success resets the count.
	for _, status := range []string{"bad", "bad", "good"} {
		_, _ = run(t, e, "o", s, status)
	}
	for i := 1; i <= 3; i++ {
		r, err := run(t, e, "o", s, "bad")
		if KindOf(err) != KindScript || err.Error() != "transformer failed: bad status" {
			t.Fatalf("call %d: %v", i, err)
		}
		if r.Failures != i || r.Quarantined != (i == 3) {
			t.Fatalf("call %d: Failures %d Quarantined %v", i, r.Failures, r.Quarantined)
		}
	}
	r, err := run(t, e, "o", s, "good")
	if KindOf(err) != KindQuarantined || !r.Quarantined || r.Failures != 3 {
		t.Fatalf("quarantined script ran: %+v, %v", r, err)
	}
	if err.Error() != "transformer flaky v1 is quarantined after 3 consecutive failures" {
		t.Errorf("message: %v", err)
	}
	// The next version starts clean, and Release lifts the quarantine.
	mustRun(t, e, "o", Script{ID: "flaky", Version: 2, Source: s.Source}, "good", "ok")
	e.Release(s)
	mustRun(t, e, "o", s, "good", "ok")
}

// Each version is compiled once and reused; the cache is bounded, and a
// worker that dropped a unit gets the source again.
func TestCompiledOnceBoundedCache(t *testing.T) {
	for _, inProcess := range []bool{false, true} {
		e := newTestEngine(t, Options{Workers: 1, CacheSize: 2, InProcess: inProcess})
		a := Script{ID: "a", Version: 1, Source: counter}
		for i := 1; i <= 3; i++ {
			mustRun(t, e, "o", a, "x", fmt.Sprint(i))
		}
		mustRun(t, e, "o", Script{ID: "a", Version: 2, Source: counter}, "x", "1")
		mustRun(t, e, "o", Script{ID: "b", Version: 1, Source: counter}, "x", "1") // evicts a v1
		mustRun(t, e, "o", a, "x", "1")
		if inProcess {
			if n := e.slots[0].peek().(*local).r.cache.len(); n != 2 {
				t.Errorf("cache holds %d units, want 2", n)
			}
		}
	}
}

func TestRunChain(t *testing.T) {
	e := newTestEngine(t, Options{})
	upper := Script{ID: "upper", Version: 1, Source: script(`"strings"`+"\n", "", `return strings.ToUpper(status), nil`)}
	bang := Script{ID: "bang", Version: 1, Source: script("", "", `return status + "!", nil`)}
	fail := Script{ID: "fail", Version: 1, Source: script(`"fmt"`+"\n", "", `return "", fmt.Errorf("cannot read %q", status)`)}

	cr, err := e.RunChain(context.Background(), "o", []Script{upper, bang, bang}, "hi", Device{})
	if err != nil || cr.Output != "HI!!" || cr.Failed != -1 || len(cr.Steps) != 3 {
		t.Fatalf("got %+v, %v", cr, err)
	}
	cr, err = e.RunChain(context.Background(), "o", []Script{upper, fail, bang}, "hi", Device{})
	var te *Error
	if !errors.As(err, &te) || te.Script != "fail v1" || err.Error() != `transformer failed: cannot read "HI"` {
		t.Fatalf("got %v", err)
	}
	if cr.Failed != 1 || cr.Output != "" || len(cr.Steps) != 2 || cr.Steps[0].Output != "HI" {
		t.Fatalf("got %+v", cr)
	}
	cr, err = e.RunChain(context.Background(), "o", nil, "as is", Device{})
	if err != nil || cr.Output != "as is" {
		t.Fatalf("empty chain: %+v, %v", cr, err)
	}
}

// ownersOnOneSlot returns two owners that hash to the same worker.
func ownersOnOneSlot(n int) (string, string) {
	slotOf := func(o string) uint32 { h := fnv.New32a(); h.Write([]byte(o)); return h.Sum32() % uint32(n) }
	for i := 1; ; i++ {
		if b := fmt.Sprintf("owner-%d", i); slotOf(b) == slotOf("owner-0") {
			return "owner-0", b
		}
	}
}

// One owner's runaway script does not delay another owner whose calls
// would normally go to the same worker: the busy worker is routed around.
func TestRunawayDoesNotDelayOtherOwners(t *testing.T) {
	e := newTestEngine(t, Options{Workers: 2, Timeout: time.Second})
	runaway, other := ownersOnOneSlot(2)
	loop := Script{ID: "loop", Version: 1, Source: counter}
	good := Script{ID: "good", Version: 1, Source: counter}
	mustRun(t, e, other, good, "x", "1") // warm

	loopDone := make(chan time.Time, 1)
	start := time.Now()
	go func() {
		_, _ = run(t, e, runaway, loop, "loop")
		loopDone <- time.Now()
	}()
	time.Sleep(20 * time.Millisecond) // the loop is running
	if _, err := run(t, e, other, good, "x"); err != nil {
		t.Fatal(err)
	}
	answered := time.Now()
	select {
	case end := <-loopDone:
		t.Fatalf("the other owner waited for the runaway (loop ended after %v)", end.Sub(start))
	default:
	}
	t.Logf("other owner answered %v after the runaway started", answered.Sub(start))
	<-loopDone
}

// A worker that stops answering altogether (here: SIGSTOP, as if stuck in
// native code the watchdog cannot interrupt) is killed by the parent and
// replaced.
func TestParentKillsHungWorker(t *testing.T) {
	e := newTestEngine(t, Options{Workers: 1, Timeout: 50 * time.Millisecond})
	s := Script{ID: "c", Version: 1, Source: counter}
	mustRun(t, e, "o", s, "x", "1")
	p := e.slots[0].peek().(*proc)
	pid := p.cmd.Process.Pid
	_ = syscall.Kill(pid, syscall.SIGSTOP)
	for i := 0; i < 1000 && !stopped(pid); i++ { // signals are delivered asynchronously
		time.Sleep(time.Millisecond)
	}
	start := time.Now()
	_, err := run(t, e, "o", s, "x")
	t.Logf("%v after %v", err, time.Since(start))
	if KindOf(err) != KindTimeout || err.Error() != "transformer timed out after 50ms and was killed" {
		t.Fatalf("got %v", err)
	}
	mustRun(t, e, "o", s, "x", "1") // a new worker
}

// A script that waits for a CPU (here: its worker is frozen with SIGSTOP
// for three times the deadline) is not stopped: the deadline counts CPU
// time, so a busy machine does not fail and quarantine innocent scripts.
func TestStarvedScriptNotStopped(t *testing.T) {
	e := newTestEngine(t, Options{Workers: 1, Timeout: 100 * time.Millisecond})
	burn := Script{ID: "burn", Version: 1, Source: script(`"strconv"`+"\n", "", `n := 0
for i := 0; i < 100000; i++ {
	n += i % 7
}
return strconv.Itoa(n), nil`)}
	r, err := run(t, e, "o", burn, "x")
	if err != nil {
		t.Fatal(err)
	}
	if r.Duration > 30*time.Millisecond {
		t.Skipf("the script alone takes %v here; too slow to test starvation", r.Duration)
	}
	pid := e.slots[0].peek().(*proc).cmd.Process.Pid
	go func() {
		time.Sleep(r.Duration / 3)
		_ = syscall.Kill(pid, syscall.SIGSTOP)
		time.Sleep(300 * time.Millisecond)
		_ = syscall.Kill(pid, syscall.SIGCONT)
	}()
	start := time.Now()
	r, err = run(t, e, "o", burn, "x")
	t.Logf("took %v wall, %v in the script: %v", time.Since(start), r.Duration, err)
	if err != nil {
		t.Fatal(err)
	}
}

// stopped reports whether process pid is in state T (stopped).
func stopped(pid int) bool {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	_, after, _ := strings.Cut(string(b), ") ")
	return strings.HasPrefix(after, "T")
}

// At its CPU budget (soft RLIMIT_CPU, SIGXCPU) a worker asks to be
// replaced; calls keep working across the switch.
func TestWorkerRetiresAtCPUBudget(t *testing.T) {
	e := newTestEngine(t, Options{Workers: 1, Timeout: time.Second, cpuBudget: time.Second})
	burn := Script{ID: "burn", Version: 1, Source: script(`"strconv"`+"\n", "", `n := 0
for i := 0; i < 200000; i++ {
	n += i % 7
}
return strconv.Itoa(n), nil`)}
	first := e.slots[0].peek().(*proc).cmd.Process.Pid
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := run(t, e, "o", burn, "x"); err != nil {
			t.Fatal(err)
		}
		if b := e.slots[0].peek(); b != nil && b.(*proc).cmd.Process.Pid != first {
			return
		}
	}
	t.Fatal("the worker did not retire")
}

func TestClosedAndCanceled(t *testing.T) {
	e, err := NewEngine(Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := Script{ID: "c", Version: 1, Source: counter}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r, err := e.Run(ctx, "o", s, "x", Device{})
	if KindOf(err) != KindUnavailable || r.Failures != 0 {
		t.Errorf("canceled: %+v, %v", r, err)
	}
	e.Close()
	if _, err := run(t, e, "o", s, "x"); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: %v", err)
	}
}
