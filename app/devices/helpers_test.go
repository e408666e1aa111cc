package devices_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"thinx/app"
	"thinx/app/auth"
	"thinx/app/devices"
	"thinx/app/events"
	"thinx/app/store"
)

// env is a registry on a real SQLite file with the real key checker.
type env struct {
	t    testing.TB
	db   *store.DB
	auth *auth.Service
	svc  *devices.Service
	bus  *events.Bus
	now  time.Time
	mu   sync.Mutex
}

func newEnv(t testing.TB) *env {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	e := &env{t: t, db: db, auth: auth.NewService(db, log), bus: events.NewBus(), now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	db.Now = e.clock
	e.svc = devices.New(db, e.auth, e.bus, log)
	if err := e.svc.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		e.svc.Close()
		db.Close()
	})
	return e
}

// clock is the database clock; tests move it with advance.
func (e *env) clock() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.now
}

func (e *env) advance(d time.Duration) {
	e.mu.Lock()
	e.now = e.now.Add(d)
	e.mu.Unlock()
}

// owner creates an owner with one API key.
type owner struct {
	ID, Email, Key string
}

func (e *env) owner(name string) owner {
	e.t.Helper()
	ctx := context.Background()
	var b [32]byte
	_, _ = rand.Read(b[:])
	o := &app.Owner{ID: hex.EncodeToString(b[:]), Email: name + "@example.com", Name: name}
	if err := e.db.Update(ctx, func(tx *store.Tx) error { return tx.CreateOwner(o) }); err != nil {
		e.t.Fatal(err)
	}
	key, _, err := e.auth.CreateKey(ctx, o.ID, "device key", "127.0.0.1")
	if err != nil {
		e.t.Fatal(err)
	}
	return owner{ID: o.ID, Email: o.Email, Key: key}
}

// regBody is a check-in body as the ESP8266 library builds it.
func regBody(o owner, udid, status string, extra ...string) []byte {
	fields := []string{`"mac":"5CCF7FA1B2C3"`, `"firmware":"thinx-lib-esp8266:3.0.270"`, `"version":"1.0.0"`,
		`"owner":"` + o.ID + `"`, `"alias":"unnamed"`, `"status":"` + status + `"`, `"lat":"50.08"`, `"lon":"14.42"`,
		`"rssi":"-67"`, `"platform":"platformio:esp8266"`}
	if udid != "" {
		fields = append(fields, `"udid":"`+udid+`"`)
	}
	fields = append(fields, extra...)
	return []byte(`{"registration":{` + strings.Join(fields, ",") + `}}`)
}

// reply is the registration object of a reply.
type reply struct {
	Success    bool   `json:"success"`
	Status     string `json:"status"`
	Owner      string `json:"owner"`
	Alias      string `json:"alias"`
	UDID       string `json:"udid"`
	AutoUpdate bool   `json:"auto_update"`
	Timestamp  int64  `json:"timestamp"`
	Response   string `json:"response"`
}

// checkin registers through the service and fails the test on a non-200.
func (e *env) checkin(o owner, key string, body []byte) reply {
	e.t.Helper()
	out, status := e.svc.RegisterJSON(context.Background(), key, "192.0.2.1", body)
	if status != 200 {
		e.t.Fatalf("check-in: status %d: %s", status, out)
	}
	return parseReply(e.t, out)
}

func parseReply(t testing.TB, b []byte) reply {
	t.Helper()
	var w struct{ Registration reply }
	if err := jsonUnmarshal(b, &w); err != nil {
		t.Fatalf("reply %s: %v", b, err)
	}
	return w.Registration
}

func mustf(t *testing.T, err error, format string, args ...any) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", fmt.Sprintf(format, args...), err)
	}
}
