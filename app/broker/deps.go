package broker

import (
	"context"
	"encoding/json"
	"log/slog"

	"thinx/app"
	"thinx/app/events"
	"thinx/app/store"
)

// Keys checks API keys. The auth service implements it.
type Keys interface {
	// CheckKey verifies that key is an unrevoked key of ownerID.
	CheckKey(ctx context.Context, ownerID, key, ip string) (*app.APIKey, error)
	// KeyValid reports whether a key hash is still an unrevoked key of ownerID.
	KeyValid(ctx context.Context, ownerID, keyHash string) bool
}

// Owners answers questions about accounts. StoreOwners implements it.
type Owners interface {
	// IsAdmin reports whether ownerID is an administrator.
	IsAdmin(ctx context.Context, ownerID string) bool
	// Active reports whether ownerID exists and is not disabled.
	Active(ctx context.Context, ownerID string) bool
}

// Registry knows which owner a device belongs to. The device registry
// implements it.
type Registry interface {
	// DeviceOwner returns the owner and mesh IDs of a device, or an
	// ENOTFOUND error for an unknown UDID.
	DeviceOwner(ctx context.Context, udid string) (ownerID string, meshes []string, err error)
}

// Sink receives what devices say over MQTT. The device registry implements
// it; every call is made from a worker, never from the broker's read loop.
type Sink interface {
	// RegisterJSON processes a check-in exactly like POST /device/register
	// with the given key and answers with the reply body and HTTP status.
	RegisterJSON(ctx context.Context, key, ip string, body []byte) (reply []byte, status int)
	// Status records a status string of a device.
	Status(ctx context.Context, ownerID, udid, status string) error
	// SetOnline marks a device connected or disconnected.
	SetOnline(ctx context.Context, ownerID, udid string, online bool) error
	// Notification hands over a notification a device published.
	Notification(ctx context.Context, ownerID, udid string, n Notification) error
}

// Notification is a question or notice a device publishes on its status
// topic, e.g. {"notification":{"title":"…","body":"…","type":"actionable",
// "response_type":"bool"}}. Raw holds the whole object as strict JSON.
type Notification struct {
	Title        string          `json:"title"`
	Body         string          `json:"body"`
	Type         string          `json:"type"`
	ResponseType string          `json:"response_type"`
	Raw          json.RawMessage `json:"-"`
}

// Actionable reports whether the device waits for an answer.
func (n Notification) Actionable() bool { return n.Type == "actionable" }

// Deps are the services the broker uses. DB, Keys, Owners and Registry are
// required; Sink and Events may be nil (nothing is forwarded then).
type Deps struct {
	DB       *store.DB
	Keys     Keys
	Owners   Owners
	Registry Registry
	Sink     Sink
	Events   *events.Bus
}

// StoreOwners implements Owners on the database.
type StoreOwners struct {
	DB  *store.DB
	Log *slog.Logger
}

// IsAdmin reports whether ownerID is an enabled administrator.
func (o StoreOwners) IsAdmin(ctx context.Context, ownerID string) bool {
	ow, err := o.DB.Owner(ctx, ownerID)
	return err == nil && ow.Admin && !ow.Disabled
}

// Active reports whether ownerID exists and is not disabled.
func (o StoreOwners) Active(ctx context.Context, ownerID string) bool {
	ow, err := o.DB.Owner(ctx, ownerID)
	if err != nil && app.ErrorCode(err) != app.ENOTFOUND && o.Log != nil {
		o.Log.Error("mqtt: read owner", "err", err)
	}
	return err == nil && !ow.Disabled
}
