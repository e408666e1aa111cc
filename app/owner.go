package app

import (
	"net/mail"
	"regexp"
	"strings"
	"time"
)

// Password length bounds. The upper bound only keeps a hash call from being a
// denial of service; nothing is ever truncated below it.
const (
	MinPasswordLen = 8
	MaxPasswordLen = 1024
)

var hex64 = regexp.MustCompile(`^[0-9a-f]{64}$`)

// IsHex64 reports whether s is 64 lowercase hex characters, the form of owner
// IDs and API keys in the THiNX protocol.
func IsHex64(s string) bool { return hex64.MatchString(s) }

// Owner is an account: a person or a team owning devices. The first owner is
// an admin and may add others.
type Owner struct {
	ID           string // 64 hex, random, or imported from a THiNX server
	Email        string
	Name         string
	Admin        bool
	Disabled     bool
	HasPassword  bool // false while an invitation is pending
	Notify       NotifyPrefs
	AvatarType   string // "image/png" or "image/jpeg", empty without an avatar
	CreatedAt    time.Time
	UpdatedAt    time.Time
	LastLoginAt  time.Time
	PasswordHash string `json:"-"`
}

// NotifyPrefs says which events an owner wants to hear about by e-mail.
type NotifyPrefs struct {
	DeviceErrors bool `json:"device_errors"`
	Builds       bool `json:"builds"`
	Transfers    bool `json:"transfers"`
	Security     bool `json:"security"`
}

// NormalizeEmail trims and lower-cases an address so one mailbox is one owner.
func NormalizeEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// ValidateEmail checks that s is one plain address.
func ValidateEmail(s string) error {
	if s == "" {
		return Errorf(EINVALID, "E-mail address required.")
	}
	if len(s) > 254 {
		return Errorf(EINVALID, "E-mail address is too long.")
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || !strings.Contains(s, "@") {
		return Errorf(EINVALID, "%q is not an e-mail address.", s)
	}
	return nil
}

// ValidatePassword enforces the length rules.
func ValidatePassword(p string) error {
	switch n := len(p); {
	case n < MinPasswordLen:
		return Errorf(EINVALID, "Password must be at least %d characters.", MinPasswordLen)
	case n > MaxPasswordLen:
		return Errorf(EINVALID, "Password must be at most %d characters.", MaxPasswordLen)
	}
	return nil
}

// Validate checks an owner's editable fields.
func (o *Owner) Validate() error {
	if err := ValidateEmail(o.Email); err != nil {
		return err
	}
	if len(o.Name) > 200 {
		return Errorf(EINVALID, "Name must be at most 200 characters.")
	}
	return nil
}

// DisplayName is the name when set, else the e-mail address.
func (o *Owner) DisplayName() string {
	if o.Name != "" {
		return o.Name
	}
	return o.Email
}

// APIKey is an owner's device and script credential. Only the SHA-256 of the
// key is stored; the key itself is shown once, at creation.
type APIKey struct {
	ID         int64
	OwnerID    string
	Alias      string
	Hash       string // hex sha256 of the key
	Last4      string
	CreatedAt  time.Time
	LastUsedAt time.Time
	RevokedAt  time.Time
}

// Revoked reports whether the key has been revoked.
func (k *APIKey) Revoked() bool { return !k.RevokedAt.IsZero() }

// Session is a console login, referenced by an opaque cookie.
type Session struct {
	ID        string // sha256 of the cookie token, hex
	OwnerID   string
	CreatedAt time.Time
	SeenAt    time.Time
	ExpiresAt time.Time
	IP        string
	UserAgent string
}

// Token kinds for one-time links.
const (
	TokenInvite = "invite"
	TokenReset  = "reset"
)

// AuditEntry is one line of an owner's audit log.
type AuditEntry struct {
	ID      int64
	OwnerID string // whose log this is; empty for system-wide entries
	ActorID string // who did it; empty for devices, the system or unknown people
	Kind    string
	Message string
	IP      string
	At      time.Time
}

// Audit kinds. Kept as constants so the console filter lists them all.
const (
	AuditLoginOK        = "login.success"
	AuditLoginFail      = "login.failure"
	AuditLogout         = "logout"
	AuditKeyCreated     = "apikey.created"
	AuditKeyRevoked     = "apikey.revoked"
	AuditKeyImported    = "apikey.imported"
	AuditKeyRevokedUse  = "apikey.used_after_revoke"
	AuditPassword       = "password.changed"
	AuditPasswordReset  = "password.reset"
	AuditProfile        = "profile.changed"
	AuditOwnerAdded     = "owner.added"
	AuditOwnerDisabled  = "owner.disabled"
	AuditOwnerEnabled   = "owner.enabled"
	AuditSessionsEnded  = "sessions.ended"
	AuditSetup          = "setup"
	AuditInviteAccepted = "invite.accepted"
)

// AuditKinds lists every kind the console can filter on, grown by later
// features through RegisterAuditKind.
var AuditKinds = []string{
	AuditLoginOK, AuditLoginFail, AuditLogout, AuditKeyCreated, AuditKeyRevoked, AuditKeyImported,
	AuditKeyRevokedUse, AuditPassword, AuditPasswordReset, AuditProfile, AuditOwnerAdded,
	AuditOwnerDisabled, AuditOwnerEnabled, AuditSessionsEnded, AuditSetup, AuditInviteAccepted,
}

// RegisterAuditKind adds a kind to AuditKinds; call it from an init function.
func RegisterAuditKind(kinds ...string) { AuditKinds = append(AuditKinds, kinds...) }

// AuditFilter selects audit entries. OwnerID empty means all (admins only).
type AuditFilter struct {
	OwnerID string
	Kind    string
	Text    string
	From    time.Time
	To      time.Time
	Offset  int
	Limit   int
}
