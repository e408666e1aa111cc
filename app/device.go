package app

import (
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// Device limits. MaxAliasRunes keeps the registration reply under the 512
// bytes the device libraries read, even with an update offer in it.
const (
	MaxAliasRunes   = 64
	MaxAliasBytes   = 160
	MaxDescription  = 500
	MaxTags         = 20
	MaxTagLen       = 32
	MaxEnvVars      = 100
	MaxEnvNameLen   = 64
	MaxEnvValueLen  = 1024
	MaxConfigBytes  = 8 << 10 // a configuration push, as published
	MaxBulkDevices  = 10000
	TransferTimeout = 24 * time.Hour
)

// Status levels, derived from the #e, #w and #i markers of a status.
const (
	LevelError   = "error"
	LevelWarning = "warning"
	LevelInfo    = "info"
)

// Device is one registered device of an owner.
type Device struct {
	UDID           string    `json:"udid"`
	OwnerID        string    `json:"owner"`
	MAC            string    `json:"mac"`
	Alias          string    `json:"alias"`
	Description    string    `json:"description"`
	Category       string    `json:"category"` // a colour, #rrggbb
	Icon           string    `json:"icon"`
	Tags           []string  `json:"tags"`
	Platform       string    `json:"platform"` // lower case, "platformio:esp8266"
	Firmware       string    `json:"firmware"`
	Version        string    `json:"version"`
	Commit         string    `json:"commit"`
	Checksum       string    `json:"checksum"`
	EnvHash        string    `json:"env_hash"`
	FCID           string    `json:"fcid"`
	Status         string    `json:"status"`      // raw, as the device sent it
	StatusText     string    `json:"status_text"` // after the transformers; markers kept
	Level          string    `json:"level"`       // error, warning, info or empty
	StatusError    string    `json:"status_error,omitempty"`
	Lat            float64   `json:"lat"`
	Lon            float64   `json:"lon"`
	RSSI           int       `json:"rssi"`
	IP             string    `json:"ip"`
	AutoUpdate     bool      `json:"auto_update"`
	TimezoneAbbr   string    `json:"timezone_abbr"`
	TimezoneOffset float64   `json:"timezone_offset"` // hours
	Online         bool      `json:"online"`
	OnlineAt       time.Time `json:"online_at"` // last connect or disconnect
	Checkins       int64     `json:"checkins"`  // all check-ins ever, not only those kept
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
	LastCheckin    time.Time `json:"last_checkin"`
	Meshes         []string  `json:"meshes,omitempty"` // filled by Get
	Env            []EnvVar  `json:"env,omitempty"`    // filled by Get, secrets masked

	// PrevOwnerID is the owner the device was transferred from; its
	// check-ins with that owner ID are answered with the new one.
	PrevOwnerID     string `json:"-"`
	KeyHash         string `json:"-"` // sha256 of the key of the last check-in
	TransferKeyHash string `json:"-"` // KeyHash when the device changed owner
	ErrorDay        int64  `json:"-"` // last UTC day counted in the "in error" figure
}

// StatusLine is the status to show: transformed when a transformer ran.
func (d *Device) StatusLine() string {
	if d.StatusText != "" {
		return d.StatusText
	}
	return d.Status
}

// DeviceUpdate holds the editable fields; nil means unchanged.
type DeviceUpdate struct {
	Alias          *string
	Description    *string
	Category       *string
	Icon           *string
	Tags           *[]string
	AutoUpdate     *bool
	TimezoneAbbr   *string
	TimezoneOffset *float64
	Lat, Lon       *float64
	// Env replaces the device environment. A secret sent with an empty
	// value keeps its stored value, so a form never has to echo secrets.
	Env *[]EnvVar
}

var (
	colourRe  = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)
	iconRe    = regexp.MustCompile(`^[a-z0-9-]{0,32}$`)
	envNameRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	tagRe     = regexp.MustCompile(`^[\p{L}\p{N}_.:-]+$`)
	udidRe    = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	meshIDRe  = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)
)

// Validate checks the fields that are set.
func (u *DeviceUpdate) Validate() error {
	if u.Alias != nil {
		if err := ValidateAlias(*u.Alias); err != nil {
			return err
		}
	}
	if u.Description != nil && utf8.RuneCountInString(*u.Description) > MaxDescription {
		return Errorf(EINVALID, "The description must be at most %d characters.", MaxDescription)
	}
	if u.Category != nil && *u.Category != "" && !colourRe.MatchString(*u.Category) {
		return Errorf(EINVALID, "The category colour must look like #1a2b3c.")
	}
	if u.Icon != nil && !iconRe.MatchString(*u.Icon) {
		return Errorf(EINVALID, "Unknown icon %q.", *u.Icon)
	}
	if u.Tags != nil {
		if err := ValidateTags(*u.Tags); err != nil {
			return err
		}
	}
	if u.TimezoneAbbr != nil && len(*u.TimezoneAbbr) > 8 {
		return Errorf(EINVALID, "The time zone abbreviation must be at most 8 characters.")
	}
	if u.TimezoneOffset != nil && (*u.TimezoneOffset < -12 || *u.TimezoneOffset > 14) {
		return Errorf(EINVALID, "The time zone offset must be between -12 and 14 hours.")
	}
	if u.Lat != nil && (*u.Lat < -90 || *u.Lat > 90) {
		return Errorf(EINVALID, "Latitude must be between -90 and 90.")
	}
	if u.Lon != nil && (*u.Lon < -180 || *u.Lon > 180) {
		return Errorf(EINVALID, "Longitude must be between -180 and 180.")
	}
	if u.Env != nil {
		return ValidateEnv(*u.Env)
	}
	return nil
}

// ValidateAlias checks a device name. Braces, quotes and backslashes are
// refused because the device libraries cut the registration reply at the
// first "}}" and do not unescape.
func ValidateAlias(s string) error {
	switch {
	case strings.TrimSpace(s) == "":
		return Errorf(EINVALID, "The device name must not be empty.")
	case utf8.RuneCountInString(s) > MaxAliasRunes || len(s) > MaxAliasBytes:
		return Errorf(EINVALID, "The device name must be at most %d characters.", MaxAliasRunes)
	case strings.ContainsAny(s, "{}\"\\") || strings.IndexFunc(s, isControl) >= 0:
		return Errorf(EINVALID, "The device name must not contain { } \" \\ or control characters.")
	}
	return nil
}

// CleanAlias makes a device-sent alias acceptable, or returns "" when
// nothing usable is left (the caller then generates a name).
func CleanAlias(s string) string {
	s = strings.Map(func(r rune) rune {
		if isControl(r) || strings.ContainsRune("{}\"\\", r) {
			return -1
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	for utf8.RuneCountInString(s) > MaxAliasRunes || len(s) > MaxAliasBytes {
		_, n := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-n]
	}
	if strings.EqualFold(s, "unnamed") {
		return ""
	}
	return strings.TrimSpace(s)
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// ValidateTags checks a tag list: short words, no duplicates.
func ValidateTags(tags []string) error {
	if len(tags) > MaxTags {
		return Errorf(EINVALID, "A device can have at most %d tags.", MaxTags)
	}
	seen := map[string]bool{}
	for _, t := range tags {
		if t == "" || len(t) > MaxTagLen || !tagRe.MatchString(t) {
			return Errorf(EINVALID, "Tag %q: use up to %d letters, digits, '_', '.', ':' or '-'.", t, MaxTagLen)
		}
		if seen[t] {
			return Errorf(EINVALID, "Tag %q is listed twice.", t)
		}
		seen[t] = true
	}
	return nil
}

// IsUDID reports whether s has the 36-character UUID form of a device ID.
func IsUDID(s string) bool { return len(s) == 36 && udidRe.MatchString(s) }

// NormalizeMAC turns "5ccf7fa1b2c3", "5C-CF-7F-A1-B2-C3" or
// "5c:cf:7f:a1:b2:c3" into "5C:CF:7F:A1:B2:C3". It reports false when s is
// not 12 hex digits with optional separators.
func NormalizeMAC(s string) (string, bool) {
	var hex []byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ':' || c == '-' || c == '.':
			continue
		case '0' <= c && c <= '9', 'A' <= c && c <= 'F':
		case 'a' <= c && c <= 'f':
			c -= 'a' - 'A'
		default:
			return "", false
		}
		hex = append(hex, c)
	}
	if len(hex) != 12 {
		return "", false
	}
	out := make([]byte, 0, 17)
	for i := 0; i < 12; i += 2 {
		if i > 0 {
			out = append(out, ':')
		}
		out = append(out, hex[i], hex[i+1])
	}
	return string(out), true
}

// StatusLevel is the most severe marker in a status: "#e" error, "#w"
// warning, "#i" info. A marker followed by a letter or digit ("#info")
// does not count.
func StatusLevel(s string) string {
	level := ""
	for i := 0; i+1 < len(s); i++ {
		if s[i] != '#' {
			continue
		}
		if i+2 < len(s) && isWordByte(s[i+2]) {
			continue
		}
		switch s[i+1] | 0x20 {
		case 'e':
			return LevelError
		case 'w':
			level = LevelWarning
		case 'i':
			if level == "" {
				level = LevelInfo
			}
		}
	}
	return level
}

func isWordByte(c byte) bool {
	return c == '_' || '0' <= c && c <= '9' || 'a' <= c|0x20 && c|0x20 <= 'z'
}

// Checkin is one recorded check-in of a device.
type Checkin struct {
	ID       int64     `json:"id"`
	UDID     string    `json:"udid"`
	At       time.Time `json:"at"`
	Firmware string    `json:"firmware"`
	Version  string    `json:"version"`
	Status   string    `json:"status"`
	RSSI     int       `json:"rssi"`
	IP       string    `json:"ip"`
}

// DeviceFilter selects devices for the list page. Zero values select all.
type DeviceFilter struct {
	Search   string // matched against name, UDID, MAC, description, firmware, status, tags
	Tag      string
	Mesh     string // mesh ID
	Platform string // "esp8266" matches "platformio:esp8266"
	Level    string // LevelError or LevelWarning
	Online   *bool
	Stale    bool   // no check-in for longer than the service's stale period
	Sort     string // alias, -alias, last_checkin, -last_checkin, platform, level, created
	Page     int    // 1-based
	PerPage  int    // default 50, at most 500
}

// EnvVar is one environment variable of a device or an owner. Secret values
// are never shown once stored; Value is then empty and Set is true.
type EnvVar struct {
	Name   string `json:"name"`
	Value  string `json:"value"`
	Secret bool   `json:"secret"`
	Set    bool   `json:"set"`
}

// ValidateEnv checks a whole environment list.
func ValidateEnv(vars []EnvVar) error {
	if len(vars) > MaxEnvVars {
		return Errorf(EINVALID, "At most %d environment variables.", MaxEnvVars)
	}
	seen := map[string]bool{}
	for _, v := range vars {
		if !envNameRe.MatchString(v.Name) || len(v.Name) > MaxEnvNameLen {
			return Errorf(EINVALID, "Variable name %q: use letters, digits and '_', not starting with a digit, at most %d.", v.Name, MaxEnvNameLen)
		}
		if len(v.Value) > MaxEnvValueLen {
			return Errorf(EINVALID, "The value of %s is longer than %d bytes.", v.Name, MaxEnvValueLen)
		}
		if seen[v.Name] {
			return Errorf(EINVALID, "Variable %s is listed twice.", v.Name)
		}
		seen[v.Name] = true
	}
	return nil
}
