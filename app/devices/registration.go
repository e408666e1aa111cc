package devices

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strconv"
	"strings"

	"thinx/app"
)

// registration is the body of POST /device/register, as every library
// sends it. Numbers arrive as strings from the ESP libraries and as numbers
// from others, so those fields accept both.
type registration struct {
	MAC            string  `json:"mac"`
	Owner          string  `json:"owner"`
	UDID           string  `json:"udid"`
	Firmware       flexStr `json:"firmware"`
	Version        flexStr `json:"version"`
	Commit         flexStr `json:"commit"`
	Checksum       flexStr `json:"checksum"`
	Hash           flexStr `json:"hash"`
	Alias          flexStr `json:"alias"`
	Platform       string  `json:"platform"`
	Status         *string `json:"status"`
	Lat            flexNum `json:"lat"`
	Lon            flexNum `json:"lon"`
	RSSI           flexNum `json:"rssi"`
	EnvHash        string  `json:"env_hash"`
	FCID           string  `json:"fcid"`
	Push           string  `json:"push"`
	TimezoneAbbr   string  `json:"timezone_abbr"`
	TimezoneOffset flexNum `json:"timezone_offset"`
	// Used by POST /device/firmware only.
	Use    string `json:"use"`
	Forced bool   `json:"forced"`
}

// wrapped is the usual body, {"registration":{…}}.
type wrapped struct {
	Registration *registration `json:"registration"`
}

// flexStr is a string that also accepts a JSON number ("version": 1.2).
type flexStr string

func (f *flexStr) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		s, err := jsonString(b)
		*f = flexStr(s)
		return err
	}
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	if _, err := strconv.ParseFloat(string(b), 64); err != nil {
		return &json.UnmarshalTypeError{Value: jsonKind(b), Type: reflect.TypeFor[string]()}
	}
	*f = flexStr(b)
	return nil
}

// jsonString decodes a JSON string literal; the common case, without
// escapes, needs no second decoder.
func jsonString(b []byte) (string, error) {
	if len(b) >= 2 && bytes.IndexByte(b, '\\') < 0 {
		return string(b[1 : len(b)-1]), nil
	}
	var s string
	err := json.Unmarshal(b, &s)
	return s, err
}

// flexNum is a number sent as a JSON number or as a numeric string ("-67").
type flexNum struct {
	V   float64
	Set bool
}

func (f *flexNum) UnmarshalJSON(b []byte) error {
	s := string(b)
	if s == "null" {
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var err error
		if s, err = jsonString(b); err != nil {
			return err
		}
		if s = strings.TrimSpace(s); s == "" {
			return nil
		}
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
		return &json.UnmarshalTypeError{Value: jsonKind(b), Type: reflect.TypeFor[float64]()}
	}
	f.V, f.Set = v, true
	return nil
}

// Field length limits: generous for real devices, small enough that a
// device record stays small.
var fieldLimits = []struct {
	name string
	max  int
	get  func(*registration) string
}{
	{"mac", 64, func(r *registration) string { return r.MAC }},
	{"firmware", 256, func(r *registration) string { return string(r.Firmware) }},
	{"version", 64, func(r *registration) string { return string(r.Version) }},
	{"commit", 128, func(r *registration) string { return string(r.Commit) }},
	{"checksum", 128, func(r *registration) string { return string(r.Checksum) }},
	{"hash", 128, func(r *registration) string { return string(r.Hash) }},
	{"alias", 256, func(r *registration) string { return string(r.Alias) }},
	{"platform", 64, func(r *registration) string { return r.Platform }},
	{"env_hash", 128, func(r *registration) string { return r.EnvHash }},
	{"fcid", 64, func(r *registration) string { return r.FCID }},
	{"push", 512, func(r *registration) string { return r.Push }},
	{"timezone_abbr", 8, func(r *registration) string { return r.TimezoneAbbr }},
}

// MaxStatusLen bounds a status string.
const MaxStatusLen = 2048

// errNoBody is the protocol's "no_body" answer.
var errNoBody = app.Errorf(app.EINVALID, "no_body")

// parseRegistration decodes and checks a registration body. Unknown fields
// are ignored; a wrong type names the field.
func parseRegistration(body []byte) (*registration, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, errNoBody
	}
	// One pass for the wrapped form; POST /device/firmware may also send
	// the registration object flat.
	var w wrapped
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, decodeError(err)
	}
	reg := w.Registration
	if reg == nil {
		reg = &registration{}
		if err := json.Unmarshal(body, reg); err != nil {
			return nil, decodeError(err)
		}
	}
	return reg, reg.check()
}

// check validates and normalises the identity fields.
func (r *registration) check() error {
	r.Owner = strings.ToLower(strings.TrimSpace(r.Owner))
	if r.Owner == "" {
		return app.Errorf(app.EINVALID, "owner is required")
	}
	if !app.IsHex64(r.Owner) {
		return app.Errorf(app.EINVALID, "owner must be 64 hex characters")
	}
	// The libraries send placeholders such as "0" before they have a UDID.
	if r.UDID = strings.TrimSpace(r.UDID); len(r.UDID) <= 4 {
		r.UDID = ""
	} else if !app.IsUDID(r.UDID) {
		return app.Errorf(app.EINVALID, "udid must be a 36-character UUID")
	}
	r.UDID = strings.ToLower(r.UDID)
	for _, f := range fieldLimits {
		if len(f.get(r)) > f.max {
			return app.Errorf(app.EINVALID, "%s is longer than %d characters", f.name, f.max)
		}
	}
	if r.Status != nil && len(*r.Status) > MaxStatusLen {
		return app.Errorf(app.EINVALID, "status is longer than %d characters", MaxStatusLen)
	}
	if mac, ok := app.NormalizeMAC(r.MAC); ok {
		r.MAC = mac
	} else {
		r.MAC = strings.ToUpper(strings.TrimSpace(r.MAC))
	}
	if r.Push != "" && !pushTokenRe.MatchString(r.Push) {
		return app.Errorf(app.EINVALID, "push must be a push token")
	}
	r.Platform = strings.ToLower(strings.TrimSpace(r.Platform))
	if r.Checksum == "" {
		r.Checksum = r.Hash
	}
	return nil
}

// decodeError turns a JSON error into a message that names the problem.
func decodeError(err error) error {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		field := strings.TrimPrefix(te.Field, "registration.")
		if field == "" {
			return app.Errorf(app.EINVALID, "the body must be a JSON object")
		}
		return app.Errorf(app.EINVALID, "%s: want %s, got %s", field, typeName(te.Type), te.Value)
	case errors.As(err, &se):
		return app.Errorf(app.EINVALID, "malformed JSON at byte %d", se.Offset)
	}
	return app.Errorf(app.EINVALID, "malformed JSON")
}

func typeName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String, reflect.Pointer:
		return "a string"
	case reflect.Float64:
		return "a number or a numeric string"
	case reflect.Bool:
		return "true or false"
	case reflect.Struct:
		return "an object"
	}
	return t.Kind().String()
}

// jsonKind names the JSON type of a raw value for an error message.
func jsonKind(b []byte) string {
	switch {
	case len(b) == 0:
		return "nothing"
	case b[0] == '"':
		return "string"
	case b[0] == '{':
		return "object"
	case b[0] == '[':
		return "array"
	case b[0] == 't' || b[0] == 'f':
		return "bool"
	}
	return "number"
}
