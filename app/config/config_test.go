package config_test

import (
	"io"
	"strings"
	"testing"
	"time"

	"thinx/app/config"
)

func TestDefaults(t *testing.T) {
	t.Parallel()
	c := config.Default()
	if err := c.Parse("serve", nil, func(string) string { return "" }, io.Discard); err != nil {
		t.Fatal(err)
	}
	want := config.Config{DataDir: "./thinx-data", HTTP: ":7442", HTTPS: ":7443", MQTT: ":1883", MQTTS: ":8883", MQTTWS: ":1884"}
	if c.DataDir != want.DataDir || c.HTTP != want.HTTP || c.HTTPS != want.HTTPS || c.MQTT != want.MQTT || c.MQTTS != want.MQTTS || c.MQTTWS != want.MQTTWS || c.Domain != "" {
		t.Errorf("defaults %+v", c)
	}
	if c.AuditRetention != 365*24*time.Hour || c.SMTP.Enabled() || c.SMTP.Port != 587 {
		t.Errorf("retention %v, smtp %+v", c.AuditRetention, c.SMTP)
	}
	if c.MQTTHistory != 24*time.Hour || c.MQTTHistoryRows != 100000 {
		t.Errorf("MQTT history %v, %d rows", c.MQTTHistory, c.MQTTHistoryRows)
	}
}

func TestMQTTHistorySettings(t *testing.T) {
	t.Parallel()
	c := config.Default()
	env := map[string]string{"THINX_MQTT_HISTORY": "off", "THINX_MQTT_HISTORY_ROWS": "5000"}
	if err := c.Parse("serve", nil, func(k string) string { return env[k] }, io.Discard); err != nil {
		t.Fatal(err)
	}
	if c.MQTTHistory != 0 || c.MQTTHistoryRows != 5000 {
		t.Errorf("from the environment: %v, %d rows", c.MQTTHistory, c.MQTTHistoryRows)
	}
	c = config.Default()
	if err := c.Parse("serve", []string{"--mqtt-history", "168h"}, func(k string) string { return env[k] }, io.Discard); err != nil {
		t.Fatal(err)
	}
	if c.MQTTHistory != 168*time.Hour {
		t.Errorf("the flag gave %v", c.MQTTHistory)
	}
}

// TestPrecedence: a flag beats a THINX_* variable beats the default, for
// each listener and the data directory; "off" turns a listener off.
func TestPrecedence(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		"THINX_DATA": "/env/data", "THINX_HTTP": "127.0.0.1:1", "THINX_HTTPS": "off", "THINX_MQTT": "127.0.0.1:3",
		"THINX_MQTTS": "off", "THINX_MQTT_WS": "127.0.0.1:5", "THINX_DOMAIN": "env.example.com", "THINX_SMTP_HOST": "smtp.example.com",
		"THINX_AUDIT_RETENTION": "48h", "THINX_SMTP_PORT": "2525", "THINX_CHECKINS_KEPT": "500",
	}
	c := config.Default()
	err := c.Parse("serve", []string{"--data", "/flag/data", "--mqtt", "off", "--domain", "flag.example.com"}, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	got := []string{c.DataDir, c.HTTP, c.HTTPS, c.MQTT, c.MQTTS, c.MQTTWS, c.Domain}
	want := []string{"/flag/data", "127.0.0.1:1", "off", "off", "off", "127.0.0.1:5", "flag.example.com"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("got %v, want %v", got, want)
	}
	if !c.SMTP.Enabled() || c.SMTP.Port != 2525 || c.AuditRetention != 48*time.Hour || c.CheckinsKept != 500 {
		t.Errorf("smtp %+v retention %v", c.SMTP, c.AuditRetention)
	}
	if config.Enabled(c.HTTPS) || config.Enabled("") || !config.Enabled(c.HTTP) {
		t.Error("Enabled does not read off")
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--http", "7442"}, `--http "7442"`},
		{[]string{"--mqtts", "host"}, `--mqtts "host"`},
		{[]string{"--http", "off", "--https", "off"}, "unreachable"},
		{[]string{"--domain", "10.0.0.1"}, "--domain"},
		{[]string{"--log-level", "chatty"}, "--log-level"},
		{[]string{"--audit-retention", "-1h"}, "positive duration"},
		{[]string{"--smtp-port", "x"}, "smtp port"},
		{[]string{"--checkins-kept", "0"}, "check-ins kept"},
		{[]string{"--mqtt-history", "forever"}, "MQTT history"},
		{[]string{"--mqtt-history", "10s"}, "a minute or more"},
		{[]string{"--mqtt-history-rows", "0"}, "MQTT history rows"},
		{[]string{"extra"}, `unexpected argument "extra"`},
		{[]string{"--nope"}, "flag provided but not defined"},
	} {
		cfg := config.Default()
		err := cfg.Parse("serve", c.args, func(string) string { return "" }, io.Discard)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want %q", c.args, err, c.want)
		}
	}
}
