package deviceapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"thinx/app"
	"thinx/app/auth"
	"thinx/app/deviceapi"
	"thinx/app/devices"
	"thinx/app/events"
	"thinx/app/store"
)

// The check-in benchmarks run the server under test in a child process
// (this test binary, started again with benchServeEnv set), so the CPU it
// uses per check-in can be read on its own from /proc.
const benchServeEnv = "THINX_DEVICEAPI_BENCH_SERVE"

// benchDevices is how many devices the benchmark server knows.
const benchDevices = 2000

func TestMain(m *testing.M) {
	if arm := os.Getenv(benchServeEnv); arm != "" {
		os.Exit(serveBench(arm))
	}
	code := m.Run()
	stopBenchServers()
	os.Exit(code)
}

// serverInfo is what the child tells the benchmark about itself.
type serverInfo struct {
	Addr  string   `json:"addr"`
	Owner string   `json:"owner"`
	Key   string   `json:"key"`
	UDIDs []string `json:"udids"`
}

// serveBench runs one arm until its stdin closes: "thinx" is the real
// device API; "bare" is a plain net/http handler that decodes the same
// body and writes one row with the same database settings.
func serveBench(arm string) int {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "thinx-bench-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	db, err := store.Open(ctx, dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer db.Close()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	var handler http.Handler
	var info serverInfo
	switch arm {
	case "thinx":
		handler, info, err = thinxArm(ctx, db, log)
	case "bare":
		handler, err = bareArm(ctx, db)
	default:
		err = fmt.Errorf("unknown arm %q", arm)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: deviceapi.ReadHeaderTimeout, IdleTimeout: deviceapi.IdleTimeout}
	go srv.Serve(ln)
	if path := os.Getenv("THINX_BENCH_CPUPROFILE"); path != "" {
		f, err := os.Create(path + "." + arm)
		if err == nil {
			_ = pprof.StartCPUProfile(f)
			defer pprof.StopCPUProfile()
		}
	}
	info.Addr = ln.Addr().String()
	_ = json.NewEncoder(os.Stdout).Encode(info)
	_, _ = io.Copy(io.Discard, os.Stdin)
	_ = srv.Close()
	return 0
}

func thinxArm(ctx context.Context, db *store.DB, log *slog.Logger) (http.Handler, serverInfo, error) {
	a := auth.NewService(db, log)
	svc := devices.New(db, a, events.NewBus(), log)
	if v := os.Getenv("THINX_BENCH_LINGER"); v != "" {
		svc.BatchLinger, _ = time.ParseDuration(v)
	}
	if err := svc.Start(); err != nil {
		return nil, serverInfo{}, err
	}
	o := &app.Owner{ID: auth.NewOwnerID(), Email: "bench@example.com"}
	if err := db.Update(ctx, func(tx *store.Tx) error { return tx.CreateOwner(o) }); err != nil {
		return nil, serverInfo{}, err
	}
	key, _, err := a.CreateKey(ctx, o.ID, "bench", "")
	if err != nil {
		return nil, serverInfo{}, err
	}
	info := serverInfo{Owner: o.ID, Key: key}
	for i := 0; i < benchDevices; i++ {
		body := fmt.Sprintf(`{"registration":{"mac":"5CCF7F%06X","owner":"%s","alias":"unnamed","platform":"platformio:esp8266"}}`, i, o.ID)
		reply, status := svc.RegisterJSON(ctx, key, "127.0.0.1", []byte(body))
		var w struct{ Registration struct{ UDID string } }
		if err := json.Unmarshal(reply, &w); status != 200 || err != nil {
			return nil, serverInfo{}, fmt.Errorf("seed: %d %s", status, reply)
		}
		info.UDIDs = append(info.UDIDs, w.Registration.UDID)
	}
	mux := http.NewServeMux()
	deviceapi.New(svc, log).Register(mux)
	return mux, info, nil
}

// bareArm is the baseline: the least a handler can do for a check-in.
func bareArm(ctx context.Context, db *store.DB) (http.Handler, error) {
	err := db.Update(ctx, func(tx *store.Tx) error {
		_, err := tx.SQL().Exec(`CREATE TABLE bare_checkins (id INTEGER PRIMARY KEY, udid TEXT NOT NULL, status TEXT NOT NULL, at INTEGER NOT NULL)`)
		return err
	})
	mux := http.NewServeMux()
	mux.HandleFunc("POST /device/register", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Registration struct {
				UDID   string `json:"udid"`
				Owner  string `json:"owner"`
				Status string `json:"status"`
			} `json:"registration"`
		}
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, deviceapi.MaxBodyBytes)).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		reg := req.Registration
		err := db.Update(r.Context(), func(tx *store.Tx) error {
			_, err := tx.SQL().Exec(`INSERT INTO bare_checkins (udid, status, at) VALUES (?, ?, ?)`, reg.UDID, reg.Status, time.Now().UnixMilli())
			return err
		})
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		reply := `{"registration":{"success":true,"status":"OK","owner":"` + reg.Owner + `","udid":"` + reg.UDID + `","timestamp":` +
			strconv.FormatInt(time.Now().Unix(), 10) + `}}`
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(reply)))
		_, _ = io.WriteString(w, reply)
	})
	return mux, err
}

// benchServer is a running child.
type benchServer struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	info  serverInfo
}

var (
	benchMu      sync.Mutex
	benchServers = map[string]*benchServer{}
)

// benchServerFor starts (once per run) the child for an arm.
func benchServerFor(b *testing.B, arm string, env ...string) *benchServer {
	b.Helper()
	name := arm + strings.Join(env, ",")
	benchMu.Lock()
	defer benchMu.Unlock()
	if s := benchServers[name]; s != nil {
		return s
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(append(os.Environ(), benchServeEnv+"="+arm), env...)
	cmd.Stderr = os.Stderr
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	s := &benchServer{cmd: cmd, stdin: stdin}
	if err := json.NewDecoder(bufio.NewReader(stdout)).Decode(&s.info); err != nil {
		b.Fatalf("bench server %s: %v", arm, err)
	}
	if len(s.info.UDIDs) == 0 { // the bare arm knows no devices; make some up
		for i := 0; i < benchDevices; i++ {
			s.info.UDIDs = append(s.info.UDIDs, fmt.Sprintf("00000000-0000-4000-8000-%012d", i))
		}
		s.info.Owner, s.info.Key = strings.Repeat("0", 64), strings.Repeat("1", 64)
	}
	benchServers[name] = s
	return s
}

func stopBenchServers() {
	benchMu.Lock()
	defer benchMu.Unlock()
	for _, s := range benchServers {
		s.stdin.Close()
		_ = s.cmd.Wait()
	}
}

// cpuTime is the user plus system CPU the child has used so far.
func (s *benchServer) cpuTime() time.Duration {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	// Fields after the command name, which is in parentheses.
	f := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+2:]))
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * (time.Second / 100) // USER_HZ is 100 on Linux
}
