// Package config holds the settings of a thinx server: defaults that work
// out of the box, then THINX_* environment variables, then flags.
package config

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// Off is the listener value that disables a listener.
const Off = "off"

// Config is every setting of a running server. The zero value is not useful;
// start from Default.
type Config struct {
	DataDir string // holds the database, secrets and the self-signed certificate
	HTTP    string // console and device API, plain HTTP
	HTTPS   string // console and device API over TLS
	MQTT    string
	MQTTS   string
	MQTTWS  string
	Domain  string // public DNS name; enables ACME certificates when set

	// PublicURL is how people reach the console, used in invitation links.
	// Empty means "derive it from the request".
	PublicURL string

	SMTP SMTP

	AuditRetention   time.Duration
	SessionLifetime  time.Duration
	CheckinsKept     int           // check-ins kept per device before they are folded into daily counts
	MQTTHistory      time.Duration // how long MQTT messages stay searchable; 0: none are recorded
	MQTTHistoryRows  int           // newest MQTT messages kept per owner
	MaxBodyBytes     int64
	LogLevel         string
	TrustProxyHeader bool // take the client IP from X-Forwarded-For (behind a reverse proxy)
}

// SMTP configures outgoing e-mail. Host empty means e-mail is off and links
// are shown to the admin instead.
type SMTP struct {
	Host     string
	Port     int
	User     string
	Password string
	From     string
}

// Enabled reports whether e-mail can be sent.
func (s SMTP) Enabled() bool { return s.Host != "" }

// Default returns the settings of a fresh install.
func Default() Config {
	return Config{
		DataDir:         "./thinx-data",
		HTTP:            ":7442",
		HTTPS:           ":7443",
		MQTT:            ":1883",
		MQTTS:           ":8883",
		MQTTWS:          ":1884",
		AuditRetention:  365 * 24 * time.Hour,
		SessionLifetime: 30 * 24 * time.Hour,
		CheckinsKept:    100,
		MQTTHistory:     24 * time.Hour,
		MQTTHistoryRows: 100000,
		MaxBodyBytes:    1 << 20,
		LogLevel:        "info",
		SMTP:            SMTP{Port: 587},
	}
}

// envFlag ties a flag to its THINX_* variable.
type envFlag struct {
	name, env, usage string
	dst              *string
}

// Parse fills c from the environment (through getenv) and then from args, in
// that order, so a flag beats a variable beats a default.
func (c *Config) Parse(name string, args []string, getenv func(string) string, output interface{ Write([]byte) (int, error) }) error {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(output)
	var retention, smtpPort, kept, history, historyRows string
	strs := []envFlag{
		{"data", "THINX_DATA", "data directory (created on first start)", &c.DataDir},
		{"http", "THINX_HTTP", "HTTP listen address for the console and devices, or off", &c.HTTP},
		{"https", "THINX_HTTPS", "HTTPS listen address, or off", &c.HTTPS},
		{"mqtt", "THINX_MQTT", "MQTT listen address, or off", &c.MQTT},
		{"mqtts", "THINX_MQTTS", "MQTT over TLS listen address, or off", &c.MQTTS},
		{"mqtt-ws", "THINX_MQTT_WS", "MQTT over WebSocket listen address, or off", &c.MQTTWS},
		{"domain", "THINX_DOMAIN", "public DNS name; certificates then come from ACME", &c.Domain},
		{"public-url", "THINX_PUBLIC_URL", "URL people use to reach the console (for links in e-mails)", &c.PublicURL},
		{"smtp-host", "THINX_SMTP_HOST", "SMTP server for e-mail; empty turns e-mail off", &c.SMTP.Host},
		{"smtp-user", "THINX_SMTP_USER", "SMTP user name", &c.SMTP.User},
		{"smtp-password", "THINX_SMTP_PASSWORD", "SMTP password", &c.SMTP.Password},
		{"smtp-from", "THINX_SMTP_FROM", "sender address of e-mails", &c.SMTP.From},
		{"log-level", "THINX_LOG_LEVEL", "debug, info, warn or error", &c.LogLevel},
		{"audit-retention", "THINX_AUDIT_RETENTION", "how long audit entries are kept (e.g. 8760h)", &retention},
		{"smtp-port", "THINX_SMTP_PORT", "SMTP port", &smtpPort},
		{"checkins-kept", "THINX_CHECKINS_KEPT", "check-ins kept per device; older ones are folded into daily counts", &kept},
		{"mqtt-history", "THINX_MQTT_HISTORY", "how long MQTT messages stay in the searchable history (e.g. 24h), or off", &history},
		{"mqtt-history-rows", "THINX_MQTT_HISTORY_ROWS", "newest MQTT messages kept per owner in the history", &historyRows},
	}
	retention = c.AuditRetention.String()
	smtpPort = fmt.Sprint(c.SMTP.Port)
	kept = fmt.Sprint(c.CheckinsKept)
	history, historyRows = Off, fmt.Sprint(c.MQTTHistoryRows)
	if c.MQTTHistory > 0 {
		history = c.MQTTHistory.String()
	}
	for _, f := range strs {
		if v := getenv(f.env); v != "" {
			*f.dst = v
		}
		fs.StringVar(f.dst, f.name, *f.dst, f.usage+" ($"+f.env+")")
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	d, err := time.ParseDuration(retention)
	if err != nil || d <= 0 {
		return fmt.Errorf("audit retention %q: want a positive duration such as 8760h", retention)
	}
	c.AuditRetention = d
	if _, err := fmt.Sscan(smtpPort, &c.SMTP.Port); err != nil {
		return fmt.Errorf("smtp port %q is not a number", smtpPort)
	}
	if n, err := strconv.Atoi(kept); err != nil || n < 1 || n > 100000 {
		return fmt.Errorf("check-ins kept %q: want a number from 1 to 100000", kept)
	} else {
		c.CheckinsKept = n
	}
	if history == Off {
		c.MQTTHistory = 0
	} else if d, err := time.ParseDuration(history); err != nil || d < time.Minute {
		return fmt.Errorf("MQTT history %q: want a duration of a minute or more such as 24h, or off", history)
	} else {
		c.MQTTHistory = d
	}
	if n, err := strconv.Atoi(historyRows); err != nil || n < 1 || n > 10000000 {
		return fmt.Errorf("MQTT history rows %q: want a number from 1 to 10000000", historyRows)
	} else {
		c.MQTTHistoryRows = n
	}
	return c.Validate()
}

// Validate checks combinations and formats.
func (c *Config) Validate() error {
	var errs []error
	if strings.TrimSpace(c.DataDir) == "" {
		errs = append(errs, errors.New("data directory must not be empty"))
	}
	for name, a := range map[string]string{"http": c.HTTP, "https": c.HTTPS, "mqtt": c.MQTT, "mqtts": c.MQTTS, "mqtt-ws": c.MQTTWS} {
		if a == Off {
			continue
		}
		if _, _, err := net.SplitHostPort(a); err != nil {
			errs = append(errs, fmt.Errorf("--%s %q: want host:port, :port or off", name, a))
		}
	}
	if c.HTTP == Off && c.HTTPS == Off {
		errs = append(errs, errors.New("both --http and --https are off: the console would be unreachable"))
	}
	if c.Domain != "" && (strings.Count(c.Domain, ".") == 0 || net.ParseIP(c.Domain) != nil) {
		errs = append(errs, fmt.Errorf("--domain %q: want a public DNS name such as thinx.example.com", c.Domain))
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("--log-level %q: want debug, info, warn or error", c.LogLevel))
	}
	return errors.Join(errs...)
}

// Enabled reports whether a listener address is switched on.
func Enabled(addr string) bool { return addr != "" && addr != Off }
