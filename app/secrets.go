package app

import (
	"bytes"
	"encoding/json"
	"strings"
)

const configurationPrefix = `{"configuration":`

// HiddenValue stands in for a secret value wherever one would be shown.
const HiddenValue = "••••••"

// HideSecretValues masks, in a configuration message
// ({"configuration":{…}}), the values of secret variables: the console does
// not show a secret again once it is saved, a configuration push carries it
// in clear, and the message history keeps it masked. secrets
// is asked only for configuration messages. One that cannot be read (cut
// short in the history, say) has every value masked, and so has one whose
// secret names cannot be loaded.
func HideSecretValues(payload string, secrets func() (map[string]bool, error)) string {
	const prefix = configurationPrefix
	masked := prefix + `{"…":"` + HiddenValue + `"}}`
	if !strings.HasPrefix(strings.TrimSpace(payload), prefix) {
		return payload
	}
	var msg struct {
		Configuration map[string]json.RawMessage `json:"configuration"`
	}
	if err := json.Unmarshal([]byte(payload), &msg); err != nil || msg.Configuration == nil {
		return masked
	}
	names, err := secrets()
	hidden, _ := json.Marshal(HiddenValue)
	changed := false
	for k := range msg.Configuration {
		if err != nil || names[k] {
			msg.Configuration[k] = hidden
			changed = true
		}
	}
	if !changed {
		return payload
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if enc.Encode(msg) != nil {
		return masked
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// IsConfigurationMessage reports whether an MQTT payload is a configuration
// push, the one kind of message that carries environment values.
func IsConfigurationMessage(payload []byte) bool {
	return bytes.HasPrefix(bytes.TrimSpace(payload), []byte(configurationPrefix))
}
