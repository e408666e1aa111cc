package app

import "time"

// Mesh is a named channel several devices share: /<owner>/<mesh id>.
type Mesh struct {
	ID        string    `json:"id"`
	OwnerID   string    `json:"owner"`
	Alias     string    `json:"alias"`
	Devices   int       `json:"devices"`
	CreatedAt time.Time `json:"created_at"`
}

// ValidateMeshID checks an ID that becomes an MQTT topic level. It must not
// look like a UDID or be "shared", so it never collides with device topics.
func ValidateMeshID(id string) error {
	if !meshIDRe.MatchString(id) || id == "shared" || IsUDID(id) {
		return Errorf(EINVALID, "Mesh ID %q: use 1 to 64 lower-case letters, digits, '_' or '-' (not \"shared\").", id)
	}
	return nil
}

// ConfigRequest is a configuration push: values are taken from the owner
// environment, then each device's environment, then the typed values, each
// later source winning.
type ConfigRequest struct {
	OwnerEnv  []string          // names in the owner environment
	DeviceEnv []string          // names in each device's environment
	Values    map[string]string // typed key/values
}

// ConfigPush is one configuration message queued for a device.
type ConfigPush struct {
	ID          int64     `json:"id"`
	UDID        string    `json:"udid"`
	Keys        []string  `json:"keys"` // names only, for display
	CreatedAt   time.Time `json:"created_at"`
	DeliveredAt time.Time `json:"delivered_at"`
	Payload     []byte    `json:"-"` // {"configuration":{…}} with values
}

// Bulk actions.
const (
	BulkTags       = "tags"
	BulkAutoUpdate = "auto_update"
	BulkMesh       = "mesh"
	BulkConfig     = "config"
	BulkDelete     = "delete"
)

// BulkAction is one action applied to many devices.
type BulkAction struct {
	Kind       string
	UDIDs      []string
	Tags       []string // BulkTags: the new tag list
	AutoUpdate bool     // BulkAutoUpdate
	MeshID     string   // BulkMesh
	Config     ConfigRequest
}

// BulkItem is the outcome of a bulk action for one device.
type BulkItem struct {
	UDID    string `json:"udid"`
	OK      bool   `json:"ok"`
	Message string `json:"message"`
}

// BulkResult summarises a bulk action.
type BulkResult struct {
	OK, Failed int
	Items      []BulkItem
}

// Transfer states.
const (
	TransferPending   = "pending"
	TransferAccepted  = "accepted"
	TransferPartial   = "partial" // some devices accepted, the rest declined
	TransferDeclined  = "declined"
	TransferCancelled = "cancelled"
	TransferExpired   = "expired"
)

// Transfer hands devices from one owner to another. The receiver accepts
// all or some of them, or declines; a pending transfer expires after
// TransferTimeout.
type Transfer struct {
	ID          string           `json:"id"`
	FromOwnerID string           `json:"from_owner"`
	ToOwnerID   string           `json:"to_owner"`
	FromEmail   string           `json:"from_email"`
	ToEmail     string           `json:"to_email"`
	WithEnv     bool             `json:"with_env"` // the device environments go along
	State       string           `json:"state"`
	CreatedAt   time.Time        `json:"created_at"`
	ExpiresAt   time.Time        `json:"expires_at"`
	ClosedAt    time.Time        `json:"closed_at"`
	Devices     []TransferDevice `json:"devices"`
}

// Open reports whether the receiver can still answer the transfer at now.
func (t *Transfer) Open(now time.Time) bool {
	return t.State == TransferPending && now.Before(t.ExpiresAt)
}

// TransferDevice is one device of a transfer and what became of it.
type TransferDevice struct {
	UDID  string `json:"udid"`
	Alias string `json:"alias"`
	State string `json:"state"` // pending, accepted, declined
}

// Notification is a question a device asks its owner, answered in the
// console and sent back to the device.
type Notification struct {
	ID           int64     `json:"id"`
	OwnerID      string    `json:"owner"`
	UDID         string    `json:"udid"`
	Title        string    `json:"title"`
	Body         string    `json:"body"`
	Type         string    `json:"type"`          // "actionable", "success", …
	ResponseType string    `json:"response_type"` // "bool" or "string"
	CreatedAt    time.Time `json:"created_at"`
	AnsweredAt   time.Time `json:"answered_at"`
	Response     string    `json:"response"`
}

// Validate bounds a notification's text; devices are not trusted to.
func (n *Notification) Validate() error {
	switch {
	case len(n.Title) > 200 || len(n.Body) > 2000:
		return Errorf(EINVALID, "Notification title or body is too long.")
	case len(n.Type) > 32:
		return Errorf(EINVALID, "Notification type is too long.")
	case n.ResponseType != "" && n.ResponseType != "bool" && n.ResponseType != "boolean" && n.ResponseType != "string":
		return Errorf(EINVALID, "Notification response type must be bool or string.")
	}
	return nil
}

// DailyStat is one owner's device activity on one UTC day.
type DailyStat struct {
	Day        time.Time `json:"day"`
	Checkins   int64     `json:"checkins"`
	NewDevices int64     `json:"new_devices"`
	Active     int64     `json:"active"`  // devices that checked in
	Errors     int64     `json:"errors"`  // devices that reported an error status
	Updated    int64     `json:"updated"` // devices that reported a new version
}

// Dashboard is the owner's overview.
type Dashboard struct {
	Devices       int         `json:"devices"`
	Online        int         `json:"online"`
	Errors        int         `json:"errors"`
	Warnings      int         `json:"warnings"`
	Stale         int         `json:"stale"`
	Notifications int         `json:"notifications"` // unanswered device questions
	Transfers     int         `json:"transfers"`     // pending, in or out
	Today         DailyStat   `json:"today"`
	Days          []DailyStat `json:"days"`   // the last 30 days, oldest first
	Recent        []*Device   `json:"recent"` // latest check-ins, newest first
}

// Audit kinds of the device registry.
const (
	AuditDeviceCreated      = "device.created"
	AuditDeviceChanged      = "device.changed"
	AuditDeviceRevoked      = "device.revoked"
	AuditDeviceForeign      = "device.foreign_checkin"
	AuditDeviceKeyInvalid   = "device.key_invalid"
	AuditConfigPushed       = "device.config_pushed"
	AuditMeshChanged        = "mesh.changed"
	AuditEnvChanged         = "env.changed"
	AuditTransferRequested  = "transfer.requested"
	AuditTransferAccepted   = "transfer.accepted"
	AuditTransferDeclined   = "transfer.declined"
	AuditTransferCancelled  = "transfer.cancelled"
	AuditTransferExpired    = "transfer.expired"
	AuditNotificationAnswer = "notification.answered"
)

func init() {
	RegisterAuditKind(AuditDeviceCreated, AuditDeviceChanged, AuditDeviceRevoked, AuditDeviceForeign,
		AuditDeviceKeyInvalid, AuditConfigPushed, AuditMeshChanged, AuditEnvChanged, AuditTransferRequested,
		AuditTransferAccepted, AuditTransferDeclined, AuditTransferCancelled, AuditTransferExpired,
		AuditNotificationAnswer)
}
