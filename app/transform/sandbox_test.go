package transform

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// counter counts its calls in a package variable, which shows whether a
// compiled unit was reused (1, 2, 3…) or rebuilt (back to 1). Status "loop"
// spins forever.
var counter = script(`"strconv"`+"\n", "var calls int\n", `calls++
if status == "loop" {
	for {
	}
}
return strconv.Itoa(calls), nil`)

func run(t *testing.T, e *Engine, owner string, s Script, status string) (Result, error) {
	t.Helper()
	return e.Run(context.Background(), owner, s, status, Device{Alias: "dev"})
}

func mustRun(t *testing.T, e *Engine, owner string, s Script, status, want string) {
	t.Helper()
	r, err := run(t, e, owner, s, status)
	if err != nil || r.Output != want {
		t.Fatalf("Run(%s, %q) = %q, %v; want %q", s, status, r.Output, err, want)
	}
}

// for {} is stopped at the deadline by the worker's own watchdog (not by
// killing the worker), and the next call gets a fresh interpreter: a stopped
// one would silently answer "".
func TestRunawayLoopStoppedAndRebuilt(t *testing.T) {
	for _, inProcess := range []bool{false, true} {
		t.Run(map[bool]string{false: "worker", true: "in-process"}[inProcess], func(t *testing.T) {
			e := newTestEngine(t, Options{Timeout: 100 * time.Millisecond, InProcess: inProcess})
			s := Script{ID: "counter", Version: 1, Source: counter}
			mustRun(t, e, "o", s, "a", "1")
			mustRun(t, e, "o", s, "a", "2")

			start := time.Now()
			_, err := run(t, e, "o", s, "loop")
			took := time.Since(start)
			t.Logf("for {} ended after %v: %v", took, err)
			if KindOf(err) != KindTimeout || err.Error() != "transformer timed out after 100ms" {
				t.Fatalf("got %v (%s), want the watchdog's timeout", err, KindOf(err))
			}
			if took < 100*time.Millisecond {
				t.Fatalf("stopped after %v, before the deadline", took)
			}
			mustRun(t, e, "o", s, "a", "1") // rebuilt, and working
		})
	}
}

// Scripts that eat memory or stack die with their worker; the parent stays
// up, reports a readable error, and other owners keep being answered, also
// while the bomb goes off.
func TestResourceBombs(t *testing.T) {
	bombs := []struct{ name, src string }{
		{"huge repeat", script(`"strings"`+"\n", "", `return strings.Repeat("x", 1<<34), nil`)},
		{"growing slice", script("", "", `var s [][]byte
for {
	s = append(s, make([]byte, 1<<20))
}`)},
		{"endless recursion", script("", "func f(n int) int { return f(n+1) + 1 }\n", "_ = f(0)\nreturn \"\", nil")},
		{"package init", script("", "var big = make([]byte, 1<<40)\n", `return "", nil`)},
	}
	e := newTestEngine(t, Options{Workers: 2, MemoryLimit: 128 << 20})
	good := Script{ID: "good", Version: 1, Source: counter}
	for i, b := range bombs {
		t.Run(b.name, func(t *testing.T) {
			if probs := Check(b.src); len(probs) > 0 {
				t.Fatalf("the bomb should pass Check: %v", probs)
			}
			// Another owner keeps calling while the bomb goes off.
			stop := make(chan struct{})
			var wg sync.WaitGroup
			var answered atomic.Int32
			wg.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					if _, err := run(t, e, "other-owner", good, "a"); err != nil {
						t.Errorf("other owner: %v", err)
					} else {
						answered.Add(1)
					}
					time.Sleep(time.Millisecond)
				}
			})
			s := Script{ID: "bomb", Version: i, Source: b.src}
			start := time.Now()
			_, err := run(t, e, "bomber", s, "x")
			took, during := time.Since(start), answered.Load()
			for deadline := time.Now().Add(5 * time.Second); answered.Load() < during+2 && time.Now().Before(deadline); {
				time.Sleep(time.Millisecond)
			}
			close(stop)
			wg.Wait()
			t.Logf("%v after %v; other owner answered %d times meanwhile", err, took, during)
			if k := KindOf(err); k != KindCrash && k != KindTimeout {
				t.Fatalf("got %v (%s), want a crash or a timeout", err, k)
			}
			if answered.Load() < during+2 {
				t.Fatal("the other owner is no longer answered after the bomb")
			}
		})
	}
	r, err := run(t, e, "bomber", good, "a")
	if err != nil {
		t.Fatalf("after the bombs: %v", err)
	}
	t.Logf("after the bombs the bomber's next script says %q", r.Output)
}

// Calls queued behind a script that kills its worker are not lost: they
// were innocent, so they are sent again to the replacement worker.
func TestQueuedCallsSurviveCrash(t *testing.T) {
	e := newTestEngine(t, Options{Workers: 1, MemoryLimit: 128 << 20})
	bomb := Script{ID: "bomb", Version: 1, Source: script("", "", `var s [][]byte
for {
	s = append(s, make([]byte, 1<<20))
}`)}
	good := Script{ID: "good", Version: 1, Source: counter}
	mustRun(t, e, "victim", good, "a", "1")
	crashed := make(chan error, 1)
	go func() { _, err := run(t, e, "bomber", bomb, "x"); crashed <- err }()
	time.Sleep(time.Millisecond) // the bomb is ahead in the worker's queue
	var wg sync.WaitGroup
	for range 5 {
		wg.Go(func() {
			if _, err := run(t, e, "victim", good, "a"); err != nil {
				t.Errorf("queued call failed: %v", err)
			}
		})
	}
	wg.Wait()
	if err := <-crashed; KindOf(err) != KindCrash {
		t.Fatalf("bomb: %v", err)
	}
}

// The crash report says what happened in words an owner understands.
func TestCrashMessages(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector's shadow memory does not fit a 64 MiB address-space limit")
	}
	e := newTestEngine(t, Options{Workers: 1, MemoryLimit: 64 << 20})
	s := Script{ID: "m", Version: 1, Source: script(`"strings"`+"\n", "", `return strings.Repeat("x", 1<<34), nil`)}
	_, err := run(t, e, "o", s, "x")
	if err == nil || err.Error() != "transformer exceeded the memory limit of 64 MiB" {
		t.Fatalf("got %v", err)
	}
}

func TestPanicRecovered(t *testing.T) {
	cases := map[string]string{
		"explicit":  `panic("boom")`,
		"nil map":   "var m map[string]int\nm[status] = 1\nreturn \"\", nil",
		"index":     "return string(status[10]), nil",
		"nil deref": "var d *thinx.Device\nreturn d.Alias, nil",
	}
	for _, inProcess := range []bool{false, true} {
		e := newTestEngine(t, Options{InProcess: inProcess})
		for name, body := range cases {
			s := Script{ID: name, Version: 1, Source: script("", "", body)}
			_, err := run(t, e, "o", s, "x")
			if KindOf(err) != KindPanic || !strings.HasPrefix(err.Error(), "transformer panicked: ") {
				t.Errorf("%s: got %v (%s)", name, err, KindOf(err))
			}
		}
		mustRun(t, e, "o", Script{ID: "c", Version: 1, Source: counter}, "a", "1")
	}
}

// The script's own Error method runs under the deadline too.
func TestErrorMethodUnderDeadline(t *testing.T) {
	e := newTestEngine(t, Options{Workers: 1})
	src := script("", "type loopErr struct{}\n\nfunc (loopErr) Error() string {\n\tfor {\n\t}\n}\n", `return "", loopErr{}`)
	_, err := run(t, e, "o", Script{ID: "e", Version: 1, Source: src}, "x")
	if err == nil || err.Error() != "transformer timed out after 100ms" {
		t.Fatal(err)
	}
}

// Package variables of the standard library are private copies per script:
// one owner cannot change time.UTC or base64.StdEncoding for others.
func TestPackageVariablesIsolated(t *testing.T) {
	e := newTestEngine(t, Options{Workers: 1})
	evil := Script{ID: "evil", Version: 1, Source: script(`"time"; "encoding/base64"`+"\n", "",
		`*time.UTC = *time.FixedZone("EVIL", 3600)
*base64.StdEncoding = *base64.URLEncoding
return time.Unix(0, 0).In(time.UTC).Format("15:04 MST"), nil`)}
	victim := Script{ID: "victim", Version: 1, Source: script(`"time"; "encoding/base64"`+"\n", "",
		`return time.Unix(0, 0).In(time.UTC).Format("15:04 MST") + " " + base64.StdEncoding.EncodeToString([]byte{0xfb, 0xff}), nil`)}
	mustRun(t, e, "a", evil, "x", "01:00 EVIL")
	mustRun(t, e, "b", victim, "x", "00:00 UTC +/8=")
	if _, err := run(t, e, "a", Script{ID: "assign", Version: 1, Source: script(`"time"`+"\n", "", `time.UTC = nil
return "", nil`)}, "x"); err == nil {
		t.Error("assigning to time.UTC succeeded")
	}
	mustRun(t, e, "b", victim, "x", "00:00 UTC +/8=")
}

// A script may scribble on its Device; the caller's stays as it was.
func TestDeviceCopied(t *testing.T) {
	e := newTestEngine(t, Options{InProcess: true})
	dev := Device{Alias: "a", Tags: []string{"t"}, Env: map[string]string{"K": "v"}}
	s := Script{ID: "s", Version: 1, Source: script("", "", `device.Tags[0] = "x"
device.Env["K"] = "x"
return device.Alias + device.Env["K"], nil`)}
	r, err := e.Run(context.Background(), "o", s, "", dev)
	if err != nil || r.Output != "ax" {
		t.Fatalf("got %q, %v", r.Output, err)
	}
	if dev.Tags[0] != "t" || dev.Env["K"] != "v" {
		t.Fatalf("caller's device changed: %+v", dev)
	}
}
