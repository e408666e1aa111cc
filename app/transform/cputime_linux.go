package transform

import (
	"syscall"
	"time"
	"unsafe"
)

// cpuClock measures the CPU time of one OS thread, so the watchdog can tell
// a script that spins from one that merely waits for a CPU on a busy
// machine (firmware builds run on the same box).
type cpuClock int32

// threadCPUClock returns the CPU clock of the calling thread; the caller
// must hold runtime.LockOSThread while the clock is in use. The encoding is
// Linux's MAKE_THREAD_CPUCLOCK(tid, CPUCLOCK_SCHED).
func threadCPUClock() cpuClock {
	return cpuClock(^int32(syscall.Gettid())<<3 | 6)
}

// now reads the clock from any thread; ok is false if the thread is gone.
func (c cpuClock) now() (d time.Duration, ok bool) {
	var ts syscall.Timespec
	_, _, errno := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, uintptr(c), uintptr(unsafe.Pointer(&ts)), 0)
	return time.Duration(ts.Nano()), errno == 0
}
