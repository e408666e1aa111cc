package transform

import (
	"bytes"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"syscall"
	"time"
)

// maxStack keeps an endless recursion from growing a goroutine stack toward
// Go's 1 GB default: at 64 MB the worker dies with "stack overflow".
const maxStack = 64 << 20

// cpuGrace is the CPU time between the soft limit (SIGXCPU: retire) and the
// hard one (SIGKILL from the kernel).
const cpuGrace = 10 * time.Second

// applyLimits sets the worker's OS limits. It runs first thing in the
// worker, before any script, and the hard limits are lowered too, so nothing
// the process does later can raise them again.
//
// RLIMIT_AS caps the address space at what the Go runtime has reserved by
// now plus mem; allocations beyond fail and the runtime dies with "out of
// memory". The soft GC limit makes the runtime collect hard before that.
// RLIMIT_CPU bounds the total CPU of the worker: at the soft limit the
// kernel sends SIGXCPU, which the returned channel reports so the worker can
// ask to be replaced; the hard limit kills it.
func applyLimits(mem uint64, cpu time.Duration) (<-chan os.Signal, error) {
	vsz, err := addressSpace()
	if err != nil {
		return nil, err
	}
	// Slack for heap metadata, arena rounding and new threads' stacks.
	as := vsz + mem + mem/4 + 64<<20
	if err := syscall.Setrlimit(syscall.RLIMIT_AS, &syscall.Rlimit{Cur: as, Max: as}); err != nil {
		return nil, fmt.Errorf("RLIMIT_AS: %w", err)
	}
	debug.SetMemoryLimit(int64(mem))
	debug.SetMaxStack(maxStack)

	xcpu := make(chan os.Signal, 1)
	signal.Notify(xcpu, syscall.SIGXCPU)
	soft := uint64(cpu / time.Second)
	if err := syscall.Setrlimit(syscall.RLIMIT_CPU, &syscall.Rlimit{Cur: soft, Max: soft + uint64(cpuGrace/time.Second)}); err != nil {
		return nil, fmt.Errorf("RLIMIT_CPU: %w", err)
	}
	return xcpu, nil
}

// addressSpace returns the process's current virtual size in bytes.
func addressSpace() (uint64, error) {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0, err
	}
	f := bytes.Fields(b)
	if len(f) == 0 {
		return 0, fmt.Errorf("unexpected /proc/self/statm: %q", b)
	}
	pages, err := strconv.ParseUint(string(f[0]), 10, 64)
	if err != nil {
		return 0, err
	}
	return pages * uint64(os.Getpagesize()), nil
}
