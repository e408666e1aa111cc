// Package devices is the device registry: registration and check-in in the
// THiNX protocol, device edits, meshes, environments, configuration pushes,
// transfers between owners and the dashboard figures.
package devices

import (
	"context"
	"log/slog"
	"time"

	"thinx/app"
	"thinx/app/events"
	"thinx/app/store"
)

// KeyChecker verifies that key is an unrevoked API key of ownerID; ip
// feeds its rate limit. The auth service implements it.
type KeyChecker interface {
	CheckKey(ctx context.Context, ownerID, key, ip string) (*app.APIKey, error)
}

// Transformer turns a raw device status into the text the console shows.
// The status transformer engine implements it; nil means pass-through.
type Transformer interface {
	Transform(ctx context.Context, ownerID, udid string, status string) (string, error)
}

// Publisher sends MQTT messages to devices. The broker implements it.
type Publisher interface {
	Publish(topic string, payload []byte, qos byte) error
	Online(udid string) bool
}

// Mailer sends one plain-text e-mail; nil means e-mail is off.
type Mailer interface {
	Send(ctx context.Context, to, subject, body string) error
}

// UpdateOffer is a firmware update waiting for a device.
type UpdateOffer struct {
	OTT     string // one-time token, 64 hex
	Version string // at most MaxOfferVersion bytes
}

// MaxOfferVersion bounds the version in an offer, so the reply stays under
// the 512 bytes the device libraries read.
const MaxOfferVersion = 32

// Updates decides whether an update waits for a device at check-in. The
// OTA feature implements it; nil means never.
type Updates interface {
	Offer(ctx context.Context, d *app.Device) (*UpdateOffer, error)
}

// Defaults of the Service's settings.
const (
	DefaultCheckinsKept = 100
	DefaultStaleAfter   = 48 * time.Hour // two missed daily check-ins
	DefaultBatchSize    = 256
	// DefaultBatchLinger lets a batch gather check-ins for a moment: under
	// load that makes batches several times larger for the same commit.
	DefaultBatchLinger = 250 * time.Microsecond
)

// Service is the device registry. Create it with New, then call Start
// before serving check-ins and Close at shutdown (after the listeners
// stopped, before the database closes).
type Service struct {
	DB     *store.DB
	Keys   KeyChecker
	Events *events.Bus
	Log    *slog.Logger

	// Optional collaborators, plugged in by the wiring.
	Transformer Transformer
	Publisher   Publisher
	Mailer      Mailer
	Updates     Updates
	// OnDeviceRevoked is called after a device was deleted or handed to
	// another owner, so the broker can end its MQTT session.
	OnDeviceRevoked func(ownerID, udid string)
	// OnMeshesChanged is called after devices join or leave a mesh, so the
	// broker re-reads which mesh topics they may use.
	OnMeshesChanged func(ownerID string)

	CheckinsKept int           // per device; older ones live on as daily counts
	StaleAfter   time.Duration // no check-in for this long makes a device stale
	BatchSize    int           // check-ins per group commit
	BatchLinger  time.Duration // how long a batch waits for more check-ins
	KeyCacheTTL  time.Duration // how long a verified key is trusted; 0 checks every time

	batch *batcher
	stmts *store.Prepared // nil until Start: the unprepared path still works
	keys  keyCache
}

// New returns a service with default settings.
func New(db *store.DB, keys KeyChecker, bus *events.Bus, log *slog.Logger) *Service {
	if log == nil {
		log = slog.Default()
	}
	if bus == nil {
		bus = events.NewBus()
	}
	return &Service{DB: db, Keys: keys, Events: bus, Log: log, CheckinsKept: DefaultCheckinsKept,
		StaleAfter: DefaultStaleAfter, BatchSize: DefaultBatchSize, BatchLinger: DefaultBatchLinger,
		KeyCacheTTL: DefaultKeyCacheTTL}
}

// Start marks every device offline (the broker has no sessions yet),
// prepares the check-in statements and runs the group-commit writer.
func (s *Service) Start() error {
	if s.batch != nil {
		return nil
	}
	if err := s.DB.ResetOnline(context.Background()); err != nil {
		return err
	}
	stmts, err := s.DB.PrepareCheckins(context.Background())
	if err != nil {
		return err
	}
	s.stmts = stmts
	s.batch = newBatcher(s.DB, s.stmts, s.Log, max(s.BatchSize, 1), s.BatchLinger)
	go s.batch.run()
	return nil
}

// Close commits the check-ins already queued and stops the writer. Check-ins
// arriving later are refused as "shutting down".
func (s *Service) Close() {
	if s.batch != nil {
		s.batch.close()
	}
	s.stmts.Close()
}

func (s *Service) now() time.Time { return s.DB.Now().UTC() }

// publish tells the console about a changed device.
func (s *Service) publish(kind string, d *app.Device) {
	s.Events.Publish(events.Event{OwnerID: d.OwnerID, Kind: kind, Subject: d.UDID, Data: d})
}

// revoked runs the revocation hook, if any.
func (s *Service) revoked(ownerID, udid string) {
	if s.OnDeviceRevoked != nil {
		s.OnDeviceRevoked(ownerID, udid)
	}
}
