package broker

import (
	"bytes"
	"encoding/json"
	"errors"
	"unicode/utf8"
)

// maxStatusLen bounds a bare (non-JSON) status string.
const maxStatusLen = 1024

// statusMessage is what a device said on /<owner>/<udid>/status. At most
// one of Registration and Notification is set; Status and Connected may
// come along with either.
type statusMessage struct {
	Status       *string
	Connected    *bool
	Registration []byte // the whole {"registration":{…}} document, strict JSON
	Notification *Notification
}

// parseStatus reads a status payload: {"status":"…"}, {"connected":true},
// {"registration":{…}} (an MQTT check-in), {"notification":{…}}, a bare
// notification ({ title: "Update Successful", type: "success" }, as the
// ESP library sends after an update) or a plain status text. Keys without
// quotes are accepted.
func parseStatus(payload []byte) (statusMessage, error) {
	var m statusMessage
	b := bytes.TrimSpace(payload)
	if len(b) == 0 {
		return m, errors.New("empty status")
	}
	if b[0] != '{' {
		if len(b) > maxStatusLen || !utf8.Valid(b) {
			return m, errors.New("a plain status must be UTF-8 text of at most 1 KiB")
		}
		s := string(b)
		m.Status = &s
		return m, nil
	}
	doc, err := strictJSON(b)
	if err != nil {
		return m, err
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(doc, &top); err != nil {
		return m, err
	}
	if raw, ok := top["status"]; ok {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return m, errors.New(`"status" must be a string`)
		}
		m.Status = &s
	}
	if raw, ok := top["connected"]; ok {
		var c bool
		if err := json.Unmarshal(raw, &c); err != nil {
			return m, errors.New(`"connected" must be true or false`)
		}
		m.Connected = &c
	}
	switch {
	case top["registration"] != nil:
		if !bytes.HasPrefix(bytes.TrimSpace(top["registration"]), []byte("{")) {
			return m, errors.New(`"registration" must be an object`)
		}
		m.Registration = doc
	case top["notification"] != nil:
		n, err := parseNotification(top["notification"])
		if err != nil {
			return m, err
		}
		m.Notification = n
	case top["title"] != nil && top["type"] != nil:
		n, err := parseNotification(doc)
		if err != nil {
			return m, err
		}
		m.Notification = n
	}
	if m.Status == nil && m.Connected == nil && m.Registration == nil && m.Notification == nil {
		return m, errors.New("no status, connected, registration or notification in the message")
	}
	return m, nil
}

func parseNotification(raw json.RawMessage) (*Notification, error) {
	var n Notification
	if err := json.Unmarshal(raw, &n); err != nil {
		return nil, errors.New(`"notification" must be an object of strings`)
	}
	n.Raw = append(json.RawMessage(nil), raw...)
	return &n, nil
}
