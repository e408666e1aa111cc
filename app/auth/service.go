package auth

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"thinx/app"
	"thinx/app/store"
)

// Mailer sends one plain-text e-mail. A nil Mailer means e-mail is off and
// links are handed to the admin instead.
type Mailer interface {
	Send(ctx context.Context, to, subject, body string) error
}

// Link lifetimes.
const (
	InviteLifetime = 7 * 24 * time.Hour
	ResetLifetime  = 1 * time.Hour
)

// Service is the authentication service.
type Service struct {
	DB              *store.DB
	Log             *slog.Logger
	Mailer          Mailer
	SessionLifetime time.Duration

	// Failures allowed before 429: per account and per client address.
	AccountLimit *Limiter
	IPLimit      *Limiter
	// KeyLimit counts wrong API keys per client address (devices, MQTT).
	KeyLimit *Limiter

	// OnKeyRevoked is called after a key is revoked, so the broker can end
	// live sessions that used it. Set by the wiring.
	OnKeyRevoked func(ownerID, keyHash string)
	// OnOwnerChanged is called after an owner is disabled or enabled, so
	// the broker ends or re-allows their sessions at once.
	OnOwnerChanged func(ownerID string)

	usageMu sync.Mutex
	usage   map[int64]time.Time

	setupDone atomic.Bool // an owner exists; see SetupOpen
}

// NewService returns a service with default limits.
func NewService(db *store.DB, log *slog.Logger) *Service {
	return &Service{
		DB:              db,
		Log:             log,
		SessionLifetime: 30 * 24 * time.Hour,
		AccountLimit:    NewLimiter(10, 15*time.Minute),
		IPLimit:         NewLimiter(50, 15*time.Minute),
		KeyLimit:        NewLimiter(100, 5*time.Minute),
		usage:           map[int64]time.Time{},
	}
}

// errTooMany is the one answer to any rate-limited call.
func errTooMany() error {
	return app.Errorf(app.ETOOMANY, "Too many failed attempts. Wait a few minutes and try again.")
}

// FlushUsage writes the batched last-used times of API keys. It runs every
// few seconds and once more at shutdown.
func (s *Service) FlushUsage(ctx context.Context) error {
	s.usageMu.Lock()
	used := s.usage
	s.usage = map[int64]time.Time{}
	s.usageMu.Unlock()
	if len(used) == 0 {
		return nil
	}
	return s.DB.Update(ctx, func(tx *store.Tx) error { return tx.TouchAPIKeys(used) })
}

// RunMaintenance flushes key usage every interval and removes expired
// sessions and links hourly, until ctx ends; then it flushes once more.
func (s *Service) RunMaintenance(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	lastSweep := time.Time{}
	for {
		select {
		case <-ctx.Done():
			if err := s.FlushUsage(context.WithoutCancel(ctx)); err != nil {
				s.Log.Error("flush key usage", "err", err)
			}
			return
		case <-t.C:
		}
		if err := s.FlushUsage(ctx); err != nil && ctx.Err() == nil {
			s.Log.Error("flush key usage", "err", err)
		}
		if time.Since(lastSweep) > time.Hour {
			lastSweep = time.Now()
			_ = s.DB.Update(ctx, func(tx *store.Tx) error {
				if _, err := tx.DeleteExpiredSessions(); err != nil {
					return err
				}
				_, err := tx.DeleteExpiredTokens()
				return err
			})
		}
	}
}
