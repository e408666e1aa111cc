package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"

	thinxauth "thinx/app/auth"
	"thinx/app/broker"
	"thinx/app/events"
	"thinx/app/store"
)

// childInfo is the first line a server child prints.
type childInfo struct {
	Addr  string `json:"addr"`
	Owner string `json:"owner"`
	Key   string `json:"key"`
}

// serveThinx runs the thinx broker as the benchmark sees it in production:
// a SQLite database, the real API key checks, the ACL, the storage hook,
// the tap into a sink that writes every status to SQLite, and the history.
// It prints its address and credentials, then answers "report" on stdin
// with the status latencies, and stops at end of input.
func serveThinx() error {
	// As thinx serve does, unless MQTTBENCH_STACKS=default (for comparison).
	if os.Getenv("MQTTBENCH_STACKS") != "default" {
		if err := broker.RestartWithSmallStacks(); err != nil {
			return err
		}
	}
	raiseFileLimit()
	if os.Getenv("MQTTBENCH_HEAPPROFILE") != "" {
		runtime.MemProfileRate = 1 // every allocation, so small per-client objects show
	}
	ctx := context.Background()
	discard := slog.New(slog.NewTextHandler(io.Discard, nil))
	dir, err := os.MkdirTemp("", "mqttbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	db, err := store.Open(ctx, dir)
	if err != nil {
		return err
	}
	defer db.Close()
	keys := thinxauth.NewService(db, discard)
	o, err := keys.CreateOwner(ctx, "bench@example.com", "bench password", false)
	if err != nil {
		return err
	}
	key, _, err := keys.CreateKey(ctx, o.ID, "bench", "127.0.0.1")
	if err != nil {
		return err
	}
	sink, err := newSink(ctx, db)
	if err != nil {
		return err
	}
	opts := broker.Options{TCPAddr: "127.0.0.1:0", MaxConnections: 30000, Log: discard}
	opts.History.Off = os.Getenv("MQTTBENCH_HISTORY") == "off"
	if n, err := strconv.Atoi(os.Getenv("MQTTBENCH_PENDING")); err == nil {
		opts.WritesPending = int32(n)
	}
	srv, err := broker.New(opts,
		broker.Deps{DB: db, Keys: keys, Registry: anyDevice{owner: o.ID}, Sink: sink, Events: events.NewBus()})
	if err != nil {
		return err
	}
	if err := srv.Start(ctx); err != nil {
		return err
	}
	defer srv.Close()
	if p := os.Getenv("MQTTBENCH_CPUPROFILE"); p != "" {
		if f, err := os.Create(p); err == nil && pprof.StartCPUProfile(f) == nil {
			defer pprof.StopCPUProfile()
		}
	}
	out := json.NewEncoder(os.Stdout)
	if err := out.Encode(childInfo{Addr: srv.Addr("tcp"), Owner: o.ID, Key: key}); err != nil {
		return err
	}
	for in := bufio.NewScanner(os.Stdin); in.Scan(); {
		switch in.Text() {
		case "report":
			_ = out.Encode(sink.report())
		case "memory":
			_ = out.Encode(memory())
		case "gc":
			collect()
			_ = out.Encode(memory())
		}
	}
	return nil
}

// memStats is the Go runtime's view of the server's memory.
type memStats struct {
	HeapInuse, StackInuse, Sys, HeapReleased uint64
	Goroutines                               int
}

// collect does what the runtime does on its own to an idle server within
// ten minutes: a collection at least every two minutes (each one halves
// the stacks of goroutines that use under a quarter of theirs) and the
// return of free pages to the system, so its resident size can be read
// without waiting.
func collect() {
	for range 5 {
		runtime.GC()
	}
	debug.FreeOSMemory()
}

func memory() memStats {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	if p := os.Getenv("MQTTBENCH_HEAPPROFILE"); p != "" {
		if f, err := os.Create(p + "-" + os.Args[1]); err == nil {
			_ = pprof.WriteHeapProfile(f)
			f.Close()
		}
	}
	return memStats{HeapInuse: m.HeapInuse, StackInuse: m.StackInuse, Sys: m.Sys, HeapReleased: m.HeapReleased,
		Goroutines: runtime.NumGoroutine()}
}

// serveRaw runs the embedded broker with its stock settings and an
// allow-all hook: the reference for what the limits above save.
func serveRaw() error {
	raiseFileLimit()
	s := mqtt.New(&mqtt.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	_ = s.AddHook(new(allowAll), nil)
	l := listeners.NewTCP(listeners.Config{ID: "tcp", Address: "127.0.0.1:0"})
	if err := s.AddListener(l); err != nil {
		return err
	}
	if err := s.Serve(); err != nil {
		return err
	}
	defer s.Close()
	out := json.NewEncoder(os.Stdout)
	if err := out.Encode(childInfo{Addr: l.Address()}); err != nil {
		return err
	}
	for in := bufio.NewScanner(os.Stdin); in.Scan(); {
		switch in.Text() {
		case "memory":
			_ = out.Encode(memory())
		case "gc":
			collect()
			_ = out.Encode(memory())
		}
	}
	return nil
}

// allowAll lets every client in and everywhere: no checks at all.
type allowAll struct{ mqtt.HookBase }

func (h *allowAll) ID() string { return "allow-all" }
func (h *allowAll) Provides(b byte) bool {
	return b == mqtt.OnConnectAuthenticate || b == mqtt.OnACLCheck
}
func (h *allowAll) OnConnectAuthenticate(*mqtt.Client, packets.Packet) bool { return true }
func (h *allowAll) OnACLCheck(*mqtt.Client, string, bool) bool              { return true }

// anyDevice is the benchmark's device registry: every well-formed UDID is
// a device of the one bench owner. (The real registry is wired in app/cli.)
type anyDevice struct{ owner string }

func (a anyDevice) DeviceOwner(context.Context, string) (string, []string, error) {
	return a.owner, nil, nil
}

// sink stores statuses and online flags in a table of the bench database,
// one transaction per call like a device registry would, and records how
// long each status took from the device's publish to its commit.
type sink struct {
	db *store.DB
	mu sync.Mutex
	ms []float64
}

func newSink(ctx context.Context, db *store.DB) (*sink, error) {
	err := db.Update(ctx, func(tx *store.Tx) error {
		_, err := tx.SQL().ExecContext(ctx, `CREATE TABLE bench_status (udid TEXT PRIMARY KEY, status TEXT NOT NULL DEFAULT '',
			online INTEGER NOT NULL DEFAULT 0, at INTEGER NOT NULL)`)
		return err
	})
	return &sink{db: db}, err
}

func (s *sink) write(ctx context.Context, udid, status string, online bool) error {
	return s.db.Update(ctx, func(tx *store.Tx) error {
		_, err := tx.SQL().ExecContext(ctx, `INSERT INTO bench_status (udid, status, online, at) VALUES (?, ?, ?, ?)
			ON CONFLICT(udid) DO UPDATE SET status = excluded.status, online = excluded.online, at = excluded.at`,
			udid, status, online, store.Ms(tx.Now()))
		return err
	})
}

func (s *sink) Status(ctx context.Context, _, udid, status string) error {
	if err := s.write(ctx, udid, status, true); err != nil {
		return err
	}
	if ns, ok := strings.CutPrefix(status, "bench "); ok {
		if sent, err := strconv.ParseInt(ns, 10, 64); err == nil {
			s.mu.Lock()
			s.ms = append(s.ms, float64(time.Now().UnixNano()-sent)/1e6)
			s.mu.Unlock()
		}
	}
	return nil
}

func (s *sink) SetOnline(ctx context.Context, _, udid string, online bool) error {
	return s.write(ctx, udid, "", online)
}

func (s *sink) RegisterJSON(context.Context, string, string, []byte) ([]byte, int) { return nil, 0 }

func (s *sink) Notification(context.Context, string, string, broker.Notification) error { return nil }

// latency summarises the publish-to-stored delays.
type latency struct {
	Count                int
	P50, P90, P99, Max   float64 // milliseconds
	HistoryRows, Dropped int
}

func (s *sink) report() latency {
	s.mu.Lock()
	ms := append([]float64(nil), s.ms...)
	s.ms = s.ms[:0]
	s.mu.Unlock()
	sort.Float64s(ms)
	l := latency{Count: len(ms)}
	if len(ms) > 0 {
		at := func(p float64) float64 { return ms[min(len(ms)-1, int(p*float64(len(ms))))] }
		l.P50, l.P90, l.P99, l.Max = at(0.50), at(0.90), at(0.99), ms[len(ms)-1]
	}
	_ = s.db.ReadDB().QueryRow(`SELECT COUNT(*) FROM mqtt_history`).Scan(&l.HistoryRows)
	return l
}

var _ broker.Sink = (*sink)(nil)
