package app

import (
	"errors"
	"testing"
)

func TestHideSecretsInConfiguration(t *testing.T) {
	names := func() (map[string]bool, error) { return map[string]bool{"WIFI_PASSWORD": true}, nil }
	failing := func() (map[string]bool, error) { return nil, errors.New("database gone") }
	asked := func() (map[string]bool, error) {
		t.Fatal("secret names loaded for a message that is no configuration")
		return nil, nil
	}
	for _, tc := range []struct {
		name, in, want string
		secrets        func() (map[string]bool, error)
	}{
		{"status untouched", `{"status":"hunter2"}`, `{"status":"hunter2"}`, asked},
		{"plain text untouched", `configuration hunter2`, `configuration hunter2`, asked},
		{"secret masked, others kept", `{"configuration":{"INTERVAL":"60","WIFI_PASSWORD":"hunter2 <&>"}}`,
			`{"configuration":{"INTERVAL":"60","WIFI_PASSWORD":"••••••"}}`, names},
		{"nothing secret", `{"configuration":{"INTERVAL":"60"}}`, `{"configuration":{"INTERVAL":"60"}}`, names},
		{"cut short", `{"configuration":{"WIFI_PASSWORD":"hunt`, `{"configuration":{"…":"••••••"}}`, names},
		{"names unknown", `{"configuration":{"INTERVAL":"60"}}`, `{"configuration":{"INTERVAL":"••••••"}}`, failing},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := HideSecretValues(tc.in, tc.secrets); got != tc.want {
				t.Errorf("HideSecretValues(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}
