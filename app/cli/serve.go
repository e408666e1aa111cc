package cli

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"syscall"
	"time"

	"thinx/app/audit"
	"thinx/app/auth"
	"thinx/app/broker"
	"thinx/app/certs"
	"thinx/app/config"
	"thinx/app/devices"
	"thinx/app/events"
	"thinx/app/store"
	"thinx/app/transform"
	"thinx/app/web"
)

// daemon is a running server: everything opened in start, closed in
// reverse by stop.
type daemon struct {
	cfg  config.Config
	log  *slog.Logger
	db   *store.DB
	auth *auth.Service
	web  *web.Server
	tls  *tls.Config

	events    *events.Bus
	transform *transform.Service
	devices   *devices.Service
	broker    *broker.Server

	servers []*http.Server
	jobs    sync.WaitGroup
	jobCtx  context.Context // ends at shutdown, after the listeners stop
	cancel  context.CancelFunc
	// closers run at shutdown after the listeners stop and before the
	// database closes (broker, batch writers), last added first.
	closers []func() error
}

func serve(ctx context.Context, args []string, getenv Env, stderr io.Writer) error {
	cfg := config.Default()
	if err := cfg.Parse("thinx serve", args, getenv, stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usagef("%v", err)
	}
	d := &daemon{cfg: cfg, log: newLogger(stderr, cfg.LogLevel)}
	if err := d.start(ctx); err != nil {
		d.stop()
		return err
	}
	<-ctx.Done()
	d.log.Info("shutting down")
	return d.stop()
}

func (d *daemon) start(ctx context.Context) error {
	var err error
	if d.db, err = store.Open(ctx, d.cfg.DataDir); err != nil {
		return fmt.Errorf("open data directory %s: %w", d.cfg.DataDir, err)
	}
	// The installation secret keys what is encrypted at rest (bridge
	// passwords); made once, on first start, and kept in the database.
	if _, err := d.db.Secret(ctx, "install", 32); err != nil {
		return fmt.Errorf("create installation secret: %w", err)
	}
	self, fingerprint, err := certs.SelfSigned(d.cfg.DataDir)
	if err != nil {
		return err
	}
	tlsCfg, acmeWrap := certs.Config(d.cfg.Domain, store.CertCache{DB: d.db}, self, getACMEDirectory())
	d.tls = tlsCfg

	d.auth = auth.NewService(d.db, d.log.With("component", "auth"))
	d.auth.SessionLifetime = d.cfg.SessionLifetime
	if d.cfg.SMTP.Enabled() {
		s := d.cfg.SMTP
		d.auth.Mailer = &auth.SMTPMailer{Host: s.Host, Port: s.Port, User: s.User, Password: s.Password, From: s.From}
	}
	d.events = events.NewBus()
	d.web = &web.Server{DB: d.db, Auth: d.auth, Config: d.cfg, Log: d.log.With("component", "web"),
		Version: version(), CertFingerprint: fingerprint, Events: d.events}
	jobCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	d.jobCtx, d.cancel = jobCtx, cancel
	if err := d.wireFeatures(ctx); err != nil {
		return err
	}
	d.web.Init()
	d.goJob(func() { d.auth.RunMaintenance(jobCtx, 5*time.Second) })
	pr := &audit.Pruner{DB: d.db, Retention: d.cfg.AuditRetention, Log: d.log.With("component", "audit")}
	d.goJob(func() { pr.Run(jobCtx, time.Hour) })

	if config.Enabled(d.cfg.HTTP) {
		if err := d.listen("http", d.cfg.HTTP, nil, acmeWrap(d.web)); err != nil {
			return err
		}
	}
	if config.Enabled(d.cfg.HTTPS) {
		if err := d.listen("https", d.cfg.HTTPS, d.tls, d.web); err != nil {
			return err
		}
	}
	d.log.Info("thinx is running", "version", version(), "data", d.cfg.DataDir, "console", consoleURL(d.cfg),
		"tls_fingerprint", fingerprint)
	if open, _ := d.auth.SetupOpen(ctx); open {
		d.log.Info("no accounts yet: open the console in a browser to create the admin account", "url", consoleURL(d.cfg))
	}
	return nil
}

func (d *daemon) goJob(f func()) {
	d.jobs.Add(1)
	go func() { defer d.jobs.Done(); f() }()
}

// listen binds first, so a port in use is reported at start with the flag
// to change, then serves in the background.
func (d *daemon) listen(name, addr string, tlsCfg *tls.Config, h http.Handler) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return fmt.Errorf("%s address %s is already in use: stop the other program or choose another with --%s (or --%s off)", name, addr, name, name)
		}
		return fmt.Errorf("%s listener on %s: %w", name, addr, err)
	}
	srv := d.web.HTTPServer(addr)
	srv.Handler = h
	if tlsCfg != nil {
		srv.TLSConfig = tlsCfg
		ln = tls.NewListener(ln, tlsCfg)
	}
	d.servers = append(d.servers, srv)
	d.log.Info("listening", "listener", name, "addr", ln.Addr().String())
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			d.log.Error("listener stopped", "listener", name, "err", err)
		}
	}()
	return nil
}

// stop shuts down in order: stop accepting requests, stop background jobs
// (they flush their batches), close features, close the database last.
func (d *daemon) stop() error {
	var errs []error
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, s := range d.servers {
		if err := s.Shutdown(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if d.cancel != nil {
		d.cancel()
	}
	d.jobs.Wait()
	for i := len(d.closers) - 1; i >= 0; i-- {
		errs = append(errs, d.closers[i]())
	}
	if d.db != nil {
		errs = append(errs, d.db.Close())
	}
	if err := errors.Join(errs...); err != nil {
		d.log.Error("shutdown", "err", err)
		return err
	}
	d.log.Info("stopped")
	return nil
}

func consoleURL(c config.Config) string {
	addr, scheme := c.HTTP, "http"
	if !config.Enabled(addr) {
		addr, scheme = c.HTTPS, "https"
	}
	host, port, _ := net.SplitHostPort(addr)
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "localhost"
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
