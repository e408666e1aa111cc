package broker

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"thinx/app"
	"thinx/app/auth"
	"thinx/app/events"
	"thinx/app/store"
)

// The tests run the broker on a real SQLite file with the real auth
// service. The device registry and the sink are small in-test types: the
// real ones (the devices package) are plugged in by app/cli.

// memRegistry knows devices by UDID.
type memRegistry struct {
	mu      sync.Mutex
	devices map[string]regDevice
}

type regDevice struct {
	owner  string
	meshes []string
}

func newRegistry() *memRegistry { return &memRegistry{devices: map[string]regDevice{}} }

func (r *memRegistry) DeviceOwner(_ context.Context, udid string) (string, []string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	d, ok := r.devices[udid]
	if !ok {
		return "", nil, app.Errorf(app.ENOTFOUND, "device not found")
	}
	return d.owner, append([]string(nil), d.meshes...), nil
}

func (r *memRegistry) put(udid, owner string, meshes ...string) {
	r.mu.Lock()
	r.devices[udid] = regDevice{owner: owner, meshes: meshes}
	r.mu.Unlock()
}

func (r *memRegistry) remove(udid string) {
	r.mu.Lock()
	delete(r.devices, udid)
	r.mu.Unlock()
}

// sinkCall is one call the broker made to the sink.
type sinkCall struct {
	Kind   string // status, online, notification, register
	Owner  string
	UDID   string
	Value  string
	Online bool
	Note   Notification
}

// memSink records calls and answers check-ins with a fixed reply.
type memSink struct {
	mu    sync.Mutex
	calls []sinkCall
	ch    chan sinkCall
}

func newSink() *memSink { return &memSink{ch: make(chan sinkCall, 1000)} }

func (s *memSink) record(c sinkCall) {
	s.mu.Lock()
	s.calls = append(s.calls, c)
	s.mu.Unlock()
	select {
	case s.ch <- c:
	default:
	}
}

func (s *memSink) RegisterJSON(_ context.Context, key, ip string, body []byte) ([]byte, int) {
	s.record(sinkCall{Kind: "register", Value: string(body)})
	if len(key) != 64 {
		return []byte(`{"success":false,"response":"authentication_error"}`), 401
	}
	return []byte(`{"registration":{"success":true,"status":"OK","timestamp":1764000000}}`), 200
}

func (s *memSink) Status(_ context.Context, owner, udid, status string) error {
	s.record(sinkCall{Kind: "status", Owner: owner, UDID: udid, Value: status})
	return nil
}

func (s *memSink) SetOnline(_ context.Context, owner, udid string, online bool) error {
	s.record(sinkCall{Kind: "online", Owner: owner, UDID: udid, Online: online})
	return nil
}

func (s *memSink) Notification(_ context.Context, owner, udid string, n Notification) error {
	s.record(sinkCall{Kind: "notification", Owner: owner, UDID: udid, Note: n})
	return nil
}

// wait returns the next call matching ok, failing the test after timeout.
func (s *memSink) wait(t *testing.T, what string, ok func(sinkCall) bool) sinkCall {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case c := <-s.ch:
			if ok(c) {
				return c
			}
		case <-deadline:
			t.Fatalf("sink: no %s within 10 s; calls so far: %+v", what, s.snapshot())
		}
	}
}

func (s *memSink) snapshot() []sinkCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]sinkCall(nil), s.calls...)
}

// tenant is an owner with one API key and one device.
type tenant struct {
	id, key, keyHash string
	keyID            int64
	udid             string
}

// fixture is a running broker with two tenants, A and B.
type fixture struct {
	t    *testing.T
	dir  string
	db   *store.DB
	auth *auth.Service
	reg  *memRegistry
	sink *memSink
	bus  *events.Bus
	srv  *Server
	A, B tenant
	opts Options
}

func quietLog() *slog.Logger {
	if os.Getenv("MQTT_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// newFixture opens a database in a temporary directory, creates owners A
// (an admin) and B with a key and a device each, and starts a broker.
func newFixture(t *testing.T, tweak ...func(*Options)) *fixture {
	t.Helper()
	f := &fixture{t: t, dir: t.TempDir(), reg: newRegistry(), sink: newSink(), bus: events.NewBus()}
	f.openDB()
	ctx := context.Background()
	for i, tn := range []*tenant{&f.A, &f.B} {
		o, err := f.auth.CreateOwner(ctx, fmt.Sprintf("owner%d@example.com", i), "correct horse battery", i == 0)
		if err != nil {
			t.Fatal(err)
		}
		key, k, err := f.auth.CreateKey(ctx, o.ID, "device key", "127.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		tn.id, tn.key, tn.keyHash, tn.keyID = o.ID, key, k.Hash, k.ID
		tn.udid = fmt.Sprintf("%08x-0000-11ef-8000-5ccf7fa1b2c%d", i+1, i)
		f.reg.put(tn.udid, o.ID)
	}
	f.opts = Options{TCPAddr: "127.0.0.1:0", WSAddr: "127.0.0.1:0", Log: quietLog(), RecheckInterval: time.Hour}
	for _, fn := range tweak {
		fn(&f.opts)
	}
	f.start()
	return f
}

func (f *fixture) openDB() {
	db, err := store.Open(context.Background(), f.dir)
	if err != nil {
		f.t.Fatal(err)
	}
	f.db = db
	f.auth = auth.NewService(db, quietLog())
	f.t.Cleanup(func() { db.Close() })
}

func (f *fixture) start() {
	srv, err := New(f.opts, Deps{DB: f.db, Keys: f.auth, Registry: f.reg, Sink: f.sink, Events: f.bus})
	if err != nil {
		f.t.Fatal(err)
	}
	if err := srv.Start(context.Background()); err != nil {
		f.t.Fatal(err)
	}
	f.auth.OnKeyRevoked = srv.DisconnectKey
	f.srv = srv
	f.t.Cleanup(func() { srv.Close() })
}

// restart closes the broker and the database and opens both again on the
// same file: what survives is what was stored.
func (f *fixture) restart() {
	f.t.Helper()
	if err := f.srv.Close(); err != nil {
		f.t.Fatal(err)
	}
	if err := f.db.Close(); err != nil {
		f.t.Fatal(err)
	}
	f.openDB()
	f.start()
}

func (f *fixture) tcpURL() string { return "tcp://" + f.srv.Addr("tcp") }
