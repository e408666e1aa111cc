package transform

import (
	"os"
	"testing"
)

// TestMain lets the test binary double as the worker executable: the engine
// re-executes os.Executable() with THINX_TRANSFORM_WORKER=1.
func TestMain(m *testing.M) {
	MaybeWorker()
	os.Exit(m.Run())
}
