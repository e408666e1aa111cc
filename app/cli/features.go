package cli

import (
	"context"
	"os"
	"time"

	"thinx/app/transform"
)

// wireFeatures plugs the feature packages (device API, broker,
// transformers …) into the daemon. Each adds its service to the web server
// and its shutdown to d.closers.
func (d *daemon) wireFeatures(ctx context.Context) error {
	engine, err := transform.NewEngine(transform.Options{})
	if err != nil {
		return err
	}
	d.closers = append(d.closers, engine.Close)
	tr := transform.NewService(d.db, engine, d.log.With("component", "transform"))
	d.transform = tr
	d.web.Transformers = tr
	d.goJob(func() { tr.Run(d.jobCtx, 5*time.Second) })
	return nil
}

// getACMEDirectory lets tests point autocert at a local ACME server.
func getACMEDirectory() string { return os.Getenv("THINX_ACME_DIRECTORY") }
