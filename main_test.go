package main

import (
	"bytes"
	"crypto/tls"
	"debug/elf"
	"fmt"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"thinx/app/store"
)

// The tests in this file build the real binary the way a release is built
// (static, stripped) and drive its command-line contract with os/exec.

var (
	buildOnce sync.Once
	buildDir  string
	binPath   string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// binary builds ./thinx once per test run: CGO_ENABLED=0 go build -trimpath
// -ldflags='-s -w'.
func binary(tb testing.TB) string {
	tb.Helper()
	buildOnce.Do(func() {
		if buildDir, buildErr = os.MkdirTemp("", "thinx-bin-"); buildErr != nil {
			return
		}
		binPath = filepath.Join(buildDir, "thinx")
		cmd := exec.Command(goTool(), "build", "-trimpath", "-ldflags=-s -w", "-o", binPath, ".")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		tb.Fatal(buildErr)
	}
	return binPath
}

func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(os.Getenv("GOROOT"), "bin", "go")
}

// cleanEnv is this process's environment without THINX_* variables, plus
// extra.
func cleanEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "THINX_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

type result struct {
	code           int
	stdout, stderr string
}

// thinx runs the binary to completion.
func thinx(t testing.TB, dir, stdin string, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(binary(t), args...)
	cmd.Dir = dir
	cmd.Env = cleanEnv(env...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{code, out.String(), errb.String()}
}

const password = "correct horse battery staple"

var hexLine = regexp.MustCompile(`^[0-9a-f]{64}\n$`)

func TestBinaryIsStatic(t *testing.T) {
	t.Parallel()
	f, err := elf.Open(binary(t))
	if err != nil {
		t.Skipf("not an ELF binary: %v", err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the binary asks for a dynamic loader: it is not static")
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("the binary links %v", libs)
	}
	if f.Section(".symtab") != nil {
		t.Error("the binary is not stripped")
	}
}

func TestBinaryCommands(t *testing.T) {
	t.Parallel()
	data := filepath.Join(t.TempDir(), "data")
	key := strings.Repeat("fedcba9876543210", 4)
	for _, c := range []struct {
		name   string
		stdin  string
		args   []string
		code   int
		stdout *regexp.Regexp
		stderr string
	}{
		{"version", "", []string{"version"}, 0, regexp.MustCompile(`^thinx \S+\n$`), ""},
		{"malformed flag", "", []string{"user", "add", "--data", data, "--email"}, 2, regexp.MustCompile(`^$`), "flag needs an argument: -email"},
		{"unknown command", "", []string{"launch"}, 2, regexp.MustCompile(`^$`), `unknown command "launch"`},
		{"serve with a bad address", "", []string{"serve", "--data", data, "--http", "localhost"}, 2, regexp.MustCompile(`^$`), `--http "localhost"`},
		{"user add", password + "\n", []string{"user", "add", "--data", data, "--email", "admin@example.com", "--admin"}, 0, hexLine, ""},
		{"existing e-mail", password + "\n", []string{"user", "add", "--data", data, "--email", "ADMIN@example.com"}, 1, regexp.MustCompile(`^$`),
			"thinx: An owner with the e-mail address admin@example.com already exists.\n"},
		{"unknown owner", "", []string{"apikey", "new", "--data", data, "--email", "ghost@example.com", "--alias", "x"}, 1, regexp.MustCompile(`^$`), "no owner with the e-mail address ghost@example.com"},
		{"apikey new", "", []string{"apikey", "new", "--data", data, "--email", "admin@example.com", "--alias", "fleet"}, 0, hexLine, ""},
		{"bad key format", "", []string{"apikey", "import", "--data", data, "--email", "admin@example.com", "--key", "xyz"}, 1, regexp.MustCompile(`^$`), "64 lowercase hex"},
		{"apikey import", "", []string{"apikey", "import", "--data", data, "--email", "admin@example.com", "--key", key}, 0, regexp.MustCompile(`^$`), "imported"},
		{"apikey list", "", []string{"apikey", "list", "--data", data, "--email", "admin@example.com"}, 0, regexp.MustCompile(`(?s)Imported key\s+…3210.*fleet`), ""},
	} {
		r := thinx(t, t.TempDir(), c.stdin, nil, c.args...)
		if r.code != c.code || !c.stdout.MatchString(r.stdout) || (c.stderr == "" && r.stderr != "") || !strings.Contains(r.stderr, c.stderr) {
			t.Errorf("%s: exit %d (want %d)\nstdout %q\nstderr %q (want %q)", c.name, r.code, c.code, r.stdout, r.stderr, c.stderr)
		}
	}
}

// server is a running `thinx serve`.
type server struct {
	cmd    *exec.Cmd
	stderr *lockedBuffer
	exited chan struct{} // closed once the process is reaped
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
func (l *lockedBuffer) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

func freeAddr(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// start runs the binary in dir with args and waits for /healthz on
// healthURL; it returns how long that took. A server that exits first is
// an error, so a caller can tell a port taken meanwhile from a failure.
func start(tb testing.TB, dir, healthURL string, env []string, args ...string) (*server, time.Duration, error) {
	tb.Helper()
	s := &server{cmd: exec.Command(binary(tb), args...), stderr: &lockedBuffer{}, exited: make(chan struct{})}
	s.cmd.Dir = dir
	s.cmd.Env = cleanEnv(env...)
	s.cmd.Stderr = s.stderr
	t0 := time.Now()
	if err := s.cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	go func() { _ = s.cmd.Wait(); close(s.exited) }()
	tb.Cleanup(func() {
		select {
		case <-s.exited:
		default:
			_ = s.cmd.Process.Kill()
			<-s.exited
		}
	})
	c := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	for time.Since(t0) < 30*time.Second {
		select {
		case <-s.exited:
			return nil, 0, fmt.Errorf("server exited (%v) before it was healthy\n%s", s.cmd.ProcessState, s.stderr.String())
		default:
		}
		if res, err := c.Get(healthURL); err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return s, time.Since(t0), nil
			}
		}
		time.Sleep(time.Millisecond)
	}
	tb.Fatalf("%s never answered 200\n%s", healthURL, s.stderr.String())
	return nil, 0, nil
}

// serveOnFreePorts starts `thinx serve --data data` with HTTP and HTTPS on
// free loopback ports and MQTT off. A port picked free can be taken by
// another process before the server binds it; then it tries new ones.
func serveOnFreePorts(tb testing.TB, data string) (s *server, httpAddr, httpsAddr string, took time.Duration) {
	tb.Helper()
	for attempt := 0; ; attempt++ {
		httpAddr, httpsAddr = freeAddr(tb), freeAddr(tb)
		s, took, err := start(tb, tb.TempDir(), "http://"+httpAddr+"/healthz", nil, "serve", "--data", data,
			"--http", httpAddr, "--https", httpsAddr, "--mqtt", "off", "--mqtts", "off", "--mqtt-ws", "off")
		if err == nil {
			return s, httpAddr, httpsAddr, took
		}
		if attempt == 3 || !strings.Contains(err.Error(), "already in use") {
			tb.Fatal(err)
		}
	}
}

// stop sends SIGTERM and returns the exit code.
func (s *server) stop(tb testing.TB) int {
	tb.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		tb.Fatal(err)
	}
	select {
	case <-s.exited:
	case <-time.After(20 * time.Second):
		tb.Fatalf("no exit 20 s after SIGTERM\n%s", s.stderr.String())
	}
	return s.cmd.ProcessState.ExitCode()
}

func browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 10 * time.Second,
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func location(t testing.TB, c *http.Client, u string) string {
	t.Helper()
	res, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.Header.Get("Location")
}

// TestServeWithCommandsAlongside is the headless install: serve on free
// ports, add the admin and a key with the CLI while it runs, stop it with
// SIGTERM.
func TestServeWithCommandsAlongside(t *testing.T) {
	t.Parallel()
	data := filepath.Join(t.TempDir(), "data")
	s, httpAddr, httpsAddr, _ := serveOnFreePorts(t, data)
	c := browser()
	if loc := location(t, c, "http://"+httpAddr+"/"); loc != "/setup" {
		t.Fatalf("fresh server: / goes to %q", loc)
	}

	// Commands and the server share the database at the same time.
	var wg sync.WaitGroup
	results := make([]result, 4)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = thinx(t, t.TempDir(), password+"\n", nil, "user", "add", "--data", data, "--email", fmt.Sprintf("owner%d@example.com", i))
		}()
	}
	wg.Wait()
	for i, r := range results {
		if r.code != 0 || !hexLine.MatchString(r.stdout) {
			t.Errorf("user add %d while serving: %+v", i, r)
		}
	}
	k := thinx(t, t.TempDir(), "", nil, "apikey", "new", "--data", data, "--email", "owner0@example.com", "--alias", "fleet")
	if k.code != 0 || !hexLine.MatchString(k.stdout) {
		t.Fatalf("apikey new while serving: %+v", k)
	}
	if loc := location(t, c, "http://"+httpAddr+"/"); loc != "/login" {
		t.Errorf("after user add, / goes to %q: the server does not see the CLI's owner", loc)
	}

	// The CLI's owner logs in to the running server, over HTTPS.
	res, err := c.PostForm("https://"+httpsAddr+"/login", url.Values{"email": {"owner0@example.com"}, "password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 303 || !strings.Contains(res.Header.Get("Set-Cookie"), "__Host-thinx_session=") {
		t.Errorf("HTTPS login: %d %q", res.StatusCode, res.Header.Get("Set-Cookie"))
	}
	res, err = c.Get("https://" + httpsAddr + "/keys")
	if err != nil {
		t.Fatal(err)
	}
	body := new(bytes.Buffer)
	body.ReadFrom(res.Body)
	res.Body.Close()
	key := strings.TrimSpace(k.stdout)
	if res.StatusCode != 200 || !strings.Contains(body.String(), "fleet") || !strings.Contains(body.String(), "…"+key[60:]) || strings.Contains(body.String(), key) {
		t.Errorf("keys page over HTTPS: %d", res.StatusCode)
	}

	if code := s.stop(t); code != 0 {
		t.Errorf("exit %d after SIGTERM\n%s", code, s.stderr.String())
	}
	if log := s.stderr.String(); !strings.Contains(log, "shutting down") || !strings.Contains(log, "stopped") {
		t.Errorf("no orderly shutdown in the log:\n%s", log)
	}
}

// TestDefaultRun is `go run .` with no configuration in an empty
// directory: ./thinx-data appears with the database and certificate, the
// console answers on :7442 and :7443, and the first visit is the setup
// page. MQTT listeners are turned off so a broker already running on this
// machine cannot fail the test; it is skipped when 7442 or 7443 are taken.
func TestDefaultRun(t *testing.T) {
	t.Parallel()
	for _, p := range []string{":7442", ":7443"} {
		ln, err := net.Listen("tcp", p)
		if err != nil {
			t.Skipf("port %s is in use here: %v", p, err)
		}
		ln.Close()
	}
	cwd := t.TempDir()
	s, _, err := start(t, cwd, "http://127.0.0.1:7442/healthz", []string{"THINX_MQTT=off", "THINX_MQTTS=off", "THINX_MQTT_WS=off"})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"thinx.db", "tls/selfsigned.crt", "tls/selfsigned.key"} {
		if _, err := os.Stat(filepath.Join(cwd, "thinx-data", f)); err != nil {
			t.Errorf("thinx-data/%s: %v", f, err)
		}
	}
	// The server restarted itself, same process, with small goroutine
	// stacks (app/broker/stacks.go).
	if env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", s.cmd.Process.Pid)); err != nil {
		t.Error(err)
	} else if !bytes.Contains(env, []byte("GODEBUG=adaptivestackstart=0\x00")) {
		t.Errorf("the server runs without the stack setting; its GODEBUG: %q", regexp.MustCompile(`GODEBUG=[^\x00]*`).Find(env))
	}
	c := browser()
	if loc := location(t, c, "https://127.0.0.1:7443/"); loc != "/setup" {
		t.Errorf("first visit over HTTPS goes to %q, want /setup", loc)
	}
	if loc := location(t, c, "http://127.0.0.1:7442/"); loc != "/setup" {
		t.Fatalf("first visit goes to %q, want /setup", loc)
	}
	res, err := c.PostForm("http://127.0.0.1:7442/setup", url.Values{"email": {"admin@example.com"}, "password": {password}, "password2": {password}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 303 || res.Header.Get("Location") != "/" {
		t.Fatalf("setup: %d", res.StatusCode)
	}
	if loc := location(t, browser(), "http://127.0.0.1:7442/"); loc != "/login" {
		t.Errorf("a later visit goes to %q, want /login", loc)
	}
	if code := s.stop(t); code != 0 {
		t.Errorf("exit %d\n%s", code, s.stderr.String())
	}
	// The generated installation secret is kept in the database.
	db, err := store.Open(t.Context(), filepath.Join(cwd, "thinx-data"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if v, err := db.Setting(t.Context(), "secret.install"); err != nil || len(v) != 32 || bytes.Equal(v, make([]byte, 32)) {
		t.Errorf("installation secret: %d bytes, %v", len(v), err)
	}
}

// rssMB reads a process's resident set size from /proc.
func rssMB(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	m := regexp.MustCompile(`(?m)^VmRSS:\s+(\d+) kB`).FindSubmatch(b)
	if m == nil {
		return 0
	}
	kb, _ := strconv.ParseFloat(string(m[1]), 64)
	return kb / 1024
}

// childrenRSSMB sums the resident sets of pid's child processes (the
// transformer workers).
func childrenRSSMB(pid int) float64 {
	dirs, _ := filepath.Glob("/proc/[0-9]*/stat")
	sum := 0.0
	for _, d := range dirs {
		b, err := os.ReadFile(d)
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...
		rest := string(b[bytes.LastIndexByte(b, ')')+1:])
		f := strings.Fields(rest)
		if len(f) > 1 && f[1] == strconv.Itoa(pid) {
			child, _ := strconv.Atoi(filepath.Base(filepath.Dir(d)))
			sum += rssMB(child)
		}
	}
	return sum
}

// BenchmarkColdStart measures, per start of the release binary, the time
// from exec to the first 200 on /healthz (ns/op), the server's resident
// memory after a second of idling (rss_MB, goal ≤ 40), its transformer
// workers' (workers_rss_MB) and the binary's size (binary_MB, goal ≤ 40).
// "fresh" starts on an empty data directory (migrations, certificate),
// "existing" on one made by an earlier start. Goal: ≤ 1 s.
//
//	go test -run '^$' -bench ColdStart -benchtime 5x .
func BenchmarkColdStart(b *testing.B) {
	bin := binary(b)
	st, err := os.Stat(bin)
	if err != nil {
		b.Fatal(err)
	}
	for _, mode := range []string{"fresh", "existing"} {
		b.Run(mode, func(b *testing.B) {
			data := filepath.Join(b.TempDir(), "data")
			if mode == "existing" {
				r := thinx(b, b.TempDir(), password+"\n", nil, "user", "add", "--data", data, "--email", "a@example.com")
				if r.code != 0 {
					b.Fatal(r.stderr)
				}
			}
			var rss, workers float64
			var total time.Duration
			b.ResetTimer()
			b.StopTimer()
			for i := 0; i < b.N; i++ {
				dir := data
				if mode == "fresh" {
					dir = filepath.Join(b.TempDir(), "data")
				}
				s, _, _, took := serveOnFreePorts(b, dir)
				total += took
				time.Sleep(time.Second)
				rss = max(rss, rssMB(s.cmd.Process.Pid))
				workers = max(workers, childrenRSSMB(s.cmd.Process.Pid))
				if code := s.stop(b); code != 0 {
					b.Fatalf("exit %d\n%s", code, s.stderr.String())
				}
			}
			b.ReportMetric(float64(total.Nanoseconds())/float64(b.N), "ns/op")
			b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "start_ms")
			b.ReportMetric(rss, "rss_MB")
			b.ReportMetric(workers, "workers_rss_MB")
			b.ReportMetric(float64(st.Size())/(1<<20), "binary_MB")
		})
	}
}
