package transform

import "testing"

// raceEnabled is set by race_test.go in -race builds.
var raceEnabled bool

func newTestEngine(t testing.TB, o Options) *Engine {
	t.Helper()
	e, err := NewEngine(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}
