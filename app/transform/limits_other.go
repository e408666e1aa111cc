//go:build !linux

package transform

import (
	"os"
	"runtime/debug"
	"time"
)

// applyLimits on systems other than Linux only sets the Go runtime's soft
// memory limit and stack cap: the appliance runs on Linux, and other systems
// are for development.
func applyLimits(mem uint64, _ time.Duration) (<-chan os.Signal, error) {
	debug.SetMemoryLimit(int64(mem))
	debug.SetMaxStack(64 << 20)
	return nil, nil
}
