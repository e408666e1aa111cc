// Package transform runs status transformers: small Go functions, written by
// device owners, that turn the few bytes a device reports as its status into
// text a person can read ("Battery 3.42V #w").
//
// A transformer is one Go source file in package transformer that imports the
// host package "thinx" and defines
//
//	func Transform(status string, device thinx.Device) (string, error)
//
// Scripts are interpreted by yaegi. Because yaegi is not a sandbox on its own,
// the engine layers several defences: an allowlisted symbol table (package
// symbols), an AST lint before anything is compiled, a per-call deadline,
// worker child processes with OS memory and CPU limits, and quarantine of
// scripts that keep failing. Each script version is compiled once per
// worker and kept in a bounded cache.
//
// Check is for saving a script; Engine.Run and Engine.RunChain are for
// running them; Tags splits the #e/#w/#i markers off their output.
//
// Programs that create an Engine without Options.InProcess must call
// MaybeWorker first thing in main, because workers are the same binary
// started again with THINX_TRANSFORM_WORKER=1.
package transform

import (
	"fmt"
	"time"
)

// Device is what a transformer sees of the device that sent the status. It is
// exported to scripts as thinx.Device; owners' scripts depend on its exact
// field names and types, so treat it as a public contract.
type Device struct {
	Alias    string            `json:"alias"`
	UDID     string            `json:"udid"`
	Platform string            `json:"platform"`
	Version  string            `json:"version"`
	Tags     []string          `json:"tags,omitempty"`
	Env      map[string]string `json:"env,omitempty"` // non-secret environment only
}

// Script is one version of a transformer. ID and Version together name a
// compiled unit: the engine compiles each version once and reuses it.
type Script struct {
	ID      string
	Version int
	Source  string
}

// String names the script in messages, e.g. "battery v3".
func (s Script) String() string { return fmt.Sprintf("%s v%d", s.ID, s.Version) }

// Problem is one finding of Check, positioned in the script source.
type Problem struct {
	Line, Col int
	Msg       string
}

// String formats the problem as "line 7: import "os" is not allowed".
func (p Problem) String() string {
	if p.Line == 0 {
		return p.Msg
	}
	return fmt.Sprintf("line %d: %s", p.Line, p.Msg)
}

// Options configure an Engine. The zero value is usable: every field has a
// default chosen for a small appliance.
type Options struct {
	// Workers is the number of worker processes (or in-process runners).
	// Each owner is pinned to one of them so its compiled scripts stay warm;
	// a busy worker is routed around. Default 2.
	Workers int
	// Timeout bounds the CPU time of one call of one script. A call that
	// only waits for a CPU on a busy machine may run up to ten times as
	// long in wall time before it is stopped. Default 100ms.
	Timeout time.Duration
	// MemoryLimit is the heap a worker process may grow by, enforced with
	// RLIMIT_AS on top of the worker's footprint at start. Default 256 MiB.
	// It has no effect with InProcess.
	MemoryLimit uint64
	// QuarantineAfter is the number of consecutive failures after which a
	// script version is quarantined and no longer run. Default 5.
	QuarantineAfter int
	// CacheSize bounds the compiled script versions each worker keeps
	// (least recently used are dropped). Default 128.
	CacheSize int
	// InProcess runs scripts inside the calling process instead of worker
	// processes. Timeouts still apply, but a memory bomb or a stack overflow
	// takes the whole process down: use it only for tests and tools that
	// run trusted scripts.
	InProcess bool

	// cpuBudget is the CPU time a worker may use before it retires and is
	// replaced; the hard RLIMIT_CPU sits a little above it. Tests lower it.
	cpuBudget time.Duration
}

// Defaults for Options fields left at zero.
const (
	DefaultWorkers         = 2
	DefaultTimeout         = 100 * time.Millisecond
	DefaultMemoryLimit     = 256 << 20
	DefaultQuarantineAfter = 5
	DefaultCacheSize       = 128
	defaultCPUBudget       = 10 * time.Minute
)

func (o Options) withDefaults() Options {
	if o.Workers <= 0 {
		o.Workers = DefaultWorkers
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MemoryLimit == 0 {
		o.MemoryLimit = DefaultMemoryLimit
	}
	if o.QuarantineAfter <= 0 {
		o.QuarantineAfter = DefaultQuarantineAfter
	}
	if o.CacheSize <= 0 {
		o.CacheSize = DefaultCacheSize
	}
	if o.cpuBudget <= 0 {
		o.cpuBudget = defaultCPUBudget
	}
	return o
}

// Result is the outcome of running one script.
type Result struct {
	// Output is the transformed status; empty when the script failed.
	Output string
	// Duration is the time spent inside the script (compile excluded).
	Duration time.Duration
	// Failures counts consecutive failures of this script version,
	// including this call; a success resets it to 0.
	Failures int
	// Quarantined is set once Failures reaches Options.QuarantineAfter.
	// The engine then refuses to run this version until Engine.Release.
	Quarantined bool
}

// ChainResult is the outcome of RunChain.
type ChainResult struct {
	// Output is the output of the last script, or empty if one failed.
	Output string
	// Steps holds one Result per script that was attempted, in order.
	Steps []Result
	// Failed is the index in the chain of the script that failed, or -1.
	Failed int
	// Duration is the total time spent inside scripts.
	Duration time.Duration
}
