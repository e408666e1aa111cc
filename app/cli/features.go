package cli

import (
	"context"
	"os"
	"time"

	"thinx/app/deviceapi"
	"thinx/app/devices"
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

	dev := devices.New(d.db, d.auth, d.events, d.log.With("component", "devices"))
	dev.Transformer = tr
	dev.CheckinsKept = d.cfg.CheckinsKept
	if d.auth.Mailer != nil {
		dev.Mailer = d.auth.Mailer
	}
	d.devices = dev
	if err := dev.Start(); err != nil {
		return err
	}
	d.closers = append(d.closers, func() error { dev.Close(); return nil })
	// The broker's pushes and revocation hooks are set before any listener
	// opens, so no check-in can miss them.
	if err := d.wireBroker(dev); err != nil {
		return err
	}
	if err := d.startBroker(); err != nil {
		return err
	}
	d.goJob(func() { dev.RunMaintenance(d.jobCtx, time.Minute) })
	d.web.Devices = dev
	api := deviceapi.New(dev, d.log.With("component", "deviceapi"))
	api.ClientIP = d.web.ClientIP
	d.web.Mount = append(d.web.Mount, api.Register)
	d.web.Public = append(d.web.Public, "/device/")
	return nil
}

// getACMEDirectory lets tests point autocert at a local ACME server.
func getACMEDirectory() string { return os.Getenv("THINX_ACME_DIRECTORY") }
