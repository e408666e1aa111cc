package web

import "time"

// SetHeartbeat shortens the event streams' heartbeat for a test and
// returns a function that restores it. Only tests that do not run in
// parallel may call it.
func SetHeartbeat(d time.Duration) (restore func()) {
	old := sseHeartbeat
	sseHeartbeat = d
	return func() { sseHeartbeat = old }
}
