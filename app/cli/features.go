package cli

import (
	"context"
	"os"
)

// wireFeatures plugs the feature packages (device API, broker,
// transformers …) into the daemon. Each adds routes through d.web.Mount and
// its shutdown through d.closers.
func (d *daemon) wireFeatures(ctx context.Context) error {
	return nil
}

// getACMEDirectory lets tests point autocert at a local ACME server.
func getACMEDirectory() string { return os.Getenv("THINX_ACME_DIRECTORY") }
