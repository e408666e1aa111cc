package cli_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"thinx/app/cli"
	"thinx/app/transform"
)

// TestMain lets this test binary serve as the transformer worker the
// daemon starts by running its own executable again.
func TestMain(m *testing.M) {
	transform.MaybeWorker()
	os.Exit(m.Run())
}

// syncBuffer is a bytes.Buffer safe for a daemon's log goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// runCLI runs one command in process with its own environment.
func runCLI(ctx context.Context, env map[string]string, stdin string, args ...string) (int, string, string) {
	var out, errb syncBuffer
	getenv := func(k string) string { return env[k] }
	code := cli.Run(ctx, append([]string{"thinx"}, args...), getenv, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

var (
	hex64Line = regexp.MustCompile(`^[0-9a-f]{64}\n$`)
	anything  = regexp.MustCompile(`(?s).*`)
	nothing   = regexp.MustCompile(`^$`)
)

// TestCommands drives the one-off commands against one data directory, in
// order: each row may depend on the rows before it.
func TestCommands(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	envDir := t.TempDir()
	good := strings.Repeat("0123456789abcdef", 4)
	var newKey string
	rows := []struct {
		name   string
		env    map[string]string
		stdin  string
		args   []string
		code   int
		stdout *regexp.Regexp
		stderr string // substring; "" means stderr must be empty
	}{
		{"version", nil, "", []string{"version"}, 0, regexp.MustCompile(`^thinx \S+\n$`), ""},
		{"help", nil, "", []string{"help"}, 0, regexp.MustCompile(`thinx user add --data DIR --email E`), ""},
		{"unknown command", nil, "", []string{"frobnicate"}, 2, nothing, `unknown command "frobnicate"`},
		{"user without subcommand", nil, "", []string{"user"}, 2, nothing, "usage: thinx user add"},
		{"user remove", nil, "", []string{"user", "remove"}, 2, nothing, "usage: thinx user add"},
		{"user add without e-mail", nil, "pw", []string{"user", "add", "--data", dir}, 2, nothing, "--email is required"},
		{"user add unknown flag", nil, "pw", []string{"user", "add", "--data", dir, "--email", "a@example.com", "--root"}, 2, nothing, "flag provided but not defined: -root"},
		{"user add stray argument", nil, "pw", []string{"user", "add", "--data", dir, "--email", "a@example.com", "extra"}, 2, nothing, `unexpected argument "extra"`},
		{"user add bad address", nil, testPW + "\n", []string{"user", "add", "--data", dir, "--email", "not-an-address"}, 1, nothing, "is not an e-mail address"},
		{"user add without password", nil, "", []string{"user", "add", "--data", dir, "--email", "a@example.com"}, 2, nothing, "no password on standard input"},
		{"user add short password", nil, "short\n", []string{"user", "add", "--data", dir, "--email", "a@example.com"}, 1, nothing, "at least 8 characters"},
		{"user add password over 1024", nil, strings.Repeat("p", 1025) + "\n", []string{"user", "add", "--data", dir, "--email", "a@example.com"}, 1, nothing, "at most 1024 characters"},
		{"user add password over 1024, no newline", nil, strings.Repeat("p", 5000), []string{"user", "add", "--data", dir, "--email", "a@example.com"}, 1, nothing, "at most 1024 characters"},
		{"user add", nil, testPW + "\n", []string{"user", "add", "--data", dir, "--email", "Admin@Example.com", "--admin"}, 0, hex64Line, ""},
		{"user add CRLF password", nil, testPW + "\r\n", []string{"user", "add", "--data", dir, "--email", "ann@example.com"}, 0, hex64Line, ""},
		{"user add existing address", nil, testPW + "\n", []string{"user", "add", "--data", dir, "--email", "admin@example.COM"}, 1, nothing,
			"An owner with the e-mail address admin@example.com already exists."},
		{"user add reads THINX_DATA", map[string]string{"THINX_DATA": envDir}, testPW + "\n", []string{"user", "add", "--email", "env@example.com"}, 0, hex64Line, ""},
		{"apikey without subcommand", nil, "", []string{"apikey"}, 2, nothing, "usage: thinx apikey new|import|list"},
		{"apikey unknown subcommand", nil, "", []string{"apikey", "delete", "--data", dir}, 2, nothing, `unknown apikey command "delete"`},
		{"apikey new without alias", nil, "", []string{"apikey", "new", "--data", dir, "--email", "admin@example.com"}, 2, nothing, "--alias is required"},
		{"apikey new without e-mail", nil, "", []string{"apikey", "new", "--data", dir, "--alias", "a"}, 2, nothing, "--email is required"},
		{"apikey new unknown owner", nil, "", []string{"apikey", "new", "--data", dir, "--email", "Nobody@example.com", "--alias", "a"}, 1, nothing,
			"no owner with the e-mail address nobody@example.com"},
		{"apikey new", nil, "", []string{"apikey", "new", "--data", dir, "--email", "admin@example.com", "--alias", "first devices"}, 0, hex64Line, ""},
		{"apikey list mistyped data dir", nil, "", []string{"apikey", "list", "--data", dir + "-typo", "--email", "admin@example.com"}, 1, nothing, "no thinx database in"},
		{"apikey import without key", nil, "", []string{"apikey", "import", "--data", dir, "--email", "admin@example.com"}, 2, nothing, "--key is required"},
		{"apikey import short key", nil, "", []string{"apikey", "import", "--data", dir, "--email", "admin@example.com", "--key", "abc"}, 1, nothing, "64 lowercase hex"},
		{"apikey import upper-case key", nil, "", []string{"apikey", "import", "--data", dir, "--email", "admin@example.com", "--key", strings.ToUpper(good)}, 1, nothing, "64 lowercase hex"},
		{"apikey import", nil, "", []string{"apikey", "import", "--data", dir, "--email", "admin@example.com", "--key", good, "--alias", "from THiNX"}, 0, nothing, "imported"},
		{"apikey import twice", nil, "", []string{"apikey", "import", "--data", dir, "--email", "ann@example.com", "--key", good}, 1, nothing, "already registered"},
		{"apikey list", nil, "", []string{"apikey", "list", "--data", dir, "--email", "admin@example.com"}, 0,
			regexp.MustCompile(`(?s)ID\s+ALIAS\s+KEY\s+CREATED\s+LAST USED\s+STATE\n.*from THiNX\s+…cdef\s.*never\s+active\n.*first devices`), ""},
		{"apikey list of another owner", nil, "", []string{"apikey", "list", "--data", dir, "--email", "ann@example.com"}, 0, regexp.MustCompile(`^ID\s+ALIAS\s+KEY\s+CREATED\s+LAST USED\s+STATE\n$`), ""},
	}
	for _, r := range rows {
		code, stdout, stderr := runCLI(t.Context(), r.env, r.stdin, r.args...)
		if code != r.code || !r.stdout.MatchString(stdout) || (r.stderr == "" && stderr != "") || !strings.Contains(stderr, r.stderr) {
			t.Errorf("%s: thinx %s\nexit %d (want %d)\nstdout %q (want %s)\nstderr %q (want %q)", r.name, strings.Join(r.args, " "), code, r.code, stdout, r.stdout, stderr, r.stderr)
		}
		if r.name == "apikey new" {
			newKey = strings.TrimSpace(stdout)
		}
	}
	_, list, _ := runCLI(t.Context(), nil, "", "apikey", "list", "--data", dir, "--email", "admin@example.com")
	if newKey == "" || strings.Contains(list, newKey) || !strings.Contains(list, "…"+newKey[60:]) {
		t.Errorf("list shows the full key or not its last four:\n%s", list)
	}
	if _, err := os.Stat(filepath.Join(envDir, "thinx.db")); err != nil {
		t.Errorf("THINX_DATA was not used: %v", err)
	}
}

// TestServeConfigErrors: a mistake in how serve is called is exit 2 with a
// message naming the setting, before anything is opened.
func TestServeConfigErrors(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "never-created")
	for _, c := range []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"bad address", nil, []string{"serve", "--data", dir, "--http", "7442"}, `--http "7442": want host:port, :port or off`},
		{"bad address by variable", map[string]string{"THINX_HTTPS": "nonsense"}, []string{"serve", "--data", dir}, `--https "nonsense"`},
		{"bad MQTT WebSocket address", map[string]string{"THINX_MQTT_WS": "x"}, []string{"serve", "--data", dir}, `--mqtt-ws "x"`},
		{"everything off", nil, []string{"--data", dir, "--http", "off", "--https", "off"}, "the console would be unreachable"},
		{"off by variables", map[string]string{"THINX_HTTP": "off", "THINX_HTTPS": "off"}, []string{"serve", "--data", dir}, "unreachable"},
		{"stray argument", nil, []string{"serve", "--data", dir, "now"}, `unexpected argument "now"`},
		{"unknown flag", nil, []string{"serve", "--data", dir, "--port", "1"}, "flag provided but not defined: -port"},
		{"IP as domain", nil, []string{"serve", "--data", dir, "--domain", "192.0.2.1"}, `--domain "192.0.2.1"`},
		{"bare host as domain", map[string]string{"THINX_DOMAIN": "localhost"}, []string{"serve", "--data", dir}, `--domain "localhost"`},
		{"empty data directory", nil, []string{"serve", "--data", " "}, "data directory must not be empty"},
		{"bad retention", nil, []string{"serve", "--data", dir, "--audit-retention", "forever"}, "audit retention"},
	} {
		code, stdout, stderr := runCLI(t.Context(), c.env, "", c.args...)
		if code != 2 || stdout != "" || !strings.Contains(stderr, c.want) || !strings.Contains(stderr, "thinx help") {
			t.Errorf("%s: exit %d, stderr %q; want 2 and %q", c.name, code, stderr, c.want)
		}
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Error("a refused serve created the data directory")
	}
}

// freePort finds a port nothing listens on by listening on :0 and closing.
func freePort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// waitHealthy polls GET url until it answers 200; false means the server
// exited first, with its exit code.
func waitHealthy(t testing.TB, url string, done <-chan int) (bool, int) {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case code := <-done:
			return false, code
		default:
		}
		if res, err := c.Get(url); err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return true, 0
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s never answered 200", url)
	return false, 0
}

// daemon is serve running in process.
type daemon struct {
	httpAddr, httpsAddr string
	done                chan int
	stderr              *syncBuffer
	cancel              context.CancelFunc
}

// serveInProcess runs cli.Run with the environment and arguments made by
// setup for two free ports, until /healthz answers. A port picked free can
// be taken by another process before the daemon binds it; then it tries
// new ones.
func serveInProcess(t *testing.T, setup func(httpAddr, httpsAddr string) (map[string]string, []string)) *daemon {
	t.Helper()
	for attempt := 0; ; attempt++ {
		d := &daemon{httpAddr: freePort(t), httpsAddr: freePort(t), done: make(chan int, 1), stderr: &syncBuffer{}}
		env, args := setup(d.httpAddr, d.httpsAddr)
		ctx, cancel := context.WithCancel(t.Context())
		d.cancel = cancel
		go func() {
			d.done <- cli.Run(ctx, append([]string{"thinx"}, args...), func(k string) string { return env[k] }, strings.NewReader(""), io.Discard, d.stderr)
		}()
		ok, code := waitHealthy(t, "http://"+d.httpAddr+"/healthz", d.done)
		if ok {
			t.Cleanup(cancel)
			return d
		}
		cancel()
		if attempt == 3 || !strings.Contains(d.stderr.String(), "already in use") {
			t.Fatalf("serve exited %d before it was healthy\n%s", code, d.stderr.String())
		}
	}
}

// stop cancels the daemon's context and returns its exit code.
func (d *daemon) stop(t *testing.T) int {
	t.Helper()
	d.cancel()
	select {
	case code := <-d.done:
		return code
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not stop")
		return -1
	}
}

// TestServeFromEnvironment starts the daemon in process, configured by
// THINX_* variables only, runs a command against its data directory while
// it runs, and stops it by cancelling its context.
func TestServeFromEnvironment(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	d := serveInProcess(t, func(httpAddr, httpsAddr string) (map[string]string, []string) {
		return map[string]string{"THINX_DATA": dir, "THINX_HTTP": httpAddr, "THINX_HTTPS": httpsAddr,
			"THINX_MQTT": "off", "THINX_MQTTS": "off", "THINX_MQTT_WS": "off"}, nil
	})
	httpAddr, httpsAddr := d.httpAddr, d.httpsAddr
	noFollow := &http.Client{Timeout: 5 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	// HTTPS serves the self-signed certificate kept in the data directory.
	pemBytes, err := os.ReadFile(filepath.Join(dir, "tls", "selfsigned.crt"))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(pemBytes)
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	tlsClient := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "localhost"}},
		CheckRedirect: noFollow.CheckRedirect}
	res, err := tlsClient.Get("https://" + httpsAddr + "/healthz")
	if err != nil {
		t.Fatalf("HTTPS with the data directory's certificate: %v", err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Errorf("HTTPS /healthz: %d", res.StatusCode)
	}
	if info, err := os.Stat(filepath.Join(dir, "tls", "selfsigned.key")); err != nil || info.Mode().Perm()&0o077 != 0 {
		t.Errorf("private key missing or readable by others: %v", err)
	}

	location := func() string {
		res, err := noFollow.Get("http://" + httpAddr + "/")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.Header.Get("Location")
	}
	if loc := location(); loc != "/setup" {
		t.Fatalf("fresh server sends / to %q, want /setup", loc)
	}
	code, out, errs := runCLI(t.Context(), map[string]string{"THINX_DATA": dir}, testPW+"\n", "user", "add", "--email", "admin@example.com", "--admin")
	if code != 0 || !hex64Line.MatchString(out) {
		t.Fatalf("user add while serving: %d %q %q", code, out, errs)
	}
	if loc := location(); loc != "/login" {
		t.Errorf("after user add the server sends / to %q, want /login: it does not see the same database", loc)
	}

	if code := d.stop(t); code != 0 {
		t.Errorf("serve exited %d after cancel\n%s", code, d.stderr.String())
	}
	if !strings.Contains(d.stderr.String(), "stopped") {
		t.Errorf("no clean shutdown in the log:\n%s", d.stderr.String())
	}
	if _, err := net.DialTimeout("tcp", httpAddr, time.Second); err == nil {
		t.Error("HTTP still listening after shutdown")
	}
}

func TestServeListenerOffAndPortInUse(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	d := serveInProcess(t, func(httpAddr, _ string) (map[string]string, []string) {
		return nil, []string{"serve", "--data", dir, "--http", httpAddr, "--https", "off", "--mqtt", "off", "--mqtts", "off", "--mqtt-ws", "off"}
	})
	httpAddr, httpsAddr := d.httpAddr, d.httpsAddr
	if c, err := net.DialTimeout("tcp", httpsAddr, time.Second); err == nil {
		c.Close()
		t.Error("--https off still listens")
	}

	// A second server on the same HTTP port fails at once and says which flag to change.
	code, _, errs := runCLI(t.Context(), nil, "", "serve", "--data", t.TempDir(), "--http", httpAddr, "--https", "off", "--mqtt", "off", "--mqtts", "off", "--mqtt-ws", "off")
	if code != 1 || !strings.Contains(errs, fmt.Sprintf("http address %s is already in use", httpAddr)) || !strings.Contains(errs, "--http") {
		t.Errorf("port in use: exit %d\n%s", code, errs)
	}
	if code := d.stop(t); code != 0 {
		t.Errorf("exit %d\n%s", code, d.stderr.String())
	}
}

const testPW = "correct horse battery staple"
