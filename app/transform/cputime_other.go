//go:build !linux

package transform

import "time"

// cpuClock falls back to wall time where thread CPU clocks are not
// available: scripts are then stopped at the wall-clock deadline.
type cpuClock int32

func threadCPUClock() cpuClock { return 0 }

func (cpuClock) now() (time.Duration, bool) { return 0, false }
