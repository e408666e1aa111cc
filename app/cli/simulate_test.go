package cli

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"thinx/app"
	"thinx/app/auth"
	"thinx/app/deviceapi"
	"thinx/app/devices"
	"thinx/app/events"
	"thinx/app/store"
)

// simServer is the real device API on a loopback port over a real database.
func simServer(t *testing.T) (url string, svc *devices.Service, ownerID, key string) {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	a := auth.NewService(db, log)
	svc = devices.New(db, a, events.NewBus(), log)
	if err := svc.Start(); err != nil {
		t.Fatal(err)
	}
	o := &app.Owner{ID: auth.NewOwnerID(), Email: "sim@example.com"}
	if err := db.Update(ctx, func(tx *store.Tx) error { return tx.CreateOwner(o) }); err != nil {
		t.Fatal(err)
	}
	key, _, err = a.CreateKey(ctx, o.ID, "sim", "")
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	deviceapi.New(svc, log).Register(mux)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: deviceapi.ReadHeaderTimeout}
	go srv.Serve(ln)
	t.Cleanup(func() {
		srv.Close()
		svc.Close()
		db.Close()
	})
	return "http://" + ln.Addr().String(), svc, o.ID, key
}

func TestSimulateChecksInAndKeepsUDIDs(t *testing.T) {
	url, svc, owner, key := simServer(t)
	var out, errOut bytes.Buffer
	code := runSimulate(context.Background(), []string{"--server", url, "--owner", owner, "--key", key,
		"--devices", "5", "--interval", "100ms", "--duration", "1s"}, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d: %s %s", code, out.String(), errOut.String())
	}
	m := regexp.MustCompile(`^simulate: 5 devices, (\d+) check-ins ok, 0 failed, [\d.]+ check-ins/s over `).FindStringSubmatch(out.String())
	if m == nil || m[1] == "0" {
		t.Fatalf("summary %q", out.String())
	}
	list, total, err := svc.List(context.Background(), owner, app.DeviceFilter{})
	if err != nil || total != 5 {
		t.Fatalf("devices %d (want 5: UDIDs must be kept between check-ins), %v", total, err)
	}
	for _, d := range list {
		if d.Checkins < 2 || d.Alias == "unnamed" || d.Platform != "platformio:esp8266" || !strings.HasPrefix(d.MAC, "5C:CF:7F:") {
			t.Errorf("device %+v", d)
		}
	}
}

// Interrupting the run (ctx ends) stops it cleanly with a summary.
func TestSimulateStopsOnContext(t *testing.T) {
	url, _, owner, key := simServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	var out, errOut bytes.Buffer
	code := runSimulate(ctx, []string{"--server", url, "--owner", owner, "--key", key, "--devices", "3", "--interval", "50ms"}, &out, &errOut)
	if code != 0 || !strings.HasPrefix(out.String(), "simulate: 3 devices,") {
		t.Fatalf("exit %d: %q %q", code, out.String(), errOut.String())
	}
}

func TestSimulateReportsFailures(t *testing.T) {
	url, _, owner, _ := simServer(t)
	var out, errOut bytes.Buffer
	code := runSimulate(context.Background(), []string{"--server", url, "--owner", owner, "--key", strings.Repeat("ab", 32),
		"--devices", "2", "--interval", "50ms", "--duration", "300ms"}, &out, &errOut)
	if code != 1 || !strings.Contains(out.String(), " 0 check-ins ok") || !strings.Contains(errOut.String(), "401") {
		t.Fatalf("exit %d: %q %q", code, out.String(), errOut.String())
	}
}

func TestSimulateRefusesBadFlags(t *testing.T) {
	owner, key := strings.Repeat("a", 64), strings.Repeat("b", 64)
	for name, args := range map[string][]string{
		"too many devices": {"--owner", owner, "--key", key, "--devices", "10001"},
		"no devices":       {"--owner", owner, "--key", key, "--devices", "0"},
		"tiny interval":    {"--owner", owner, "--key", key, "--interval", "1ms"},
		"bad owner":        {"--owner", "me", "--key", key},
		"no key":           {"--owner", owner},
		"https":            {"--owner", owner, "--key", key, "--server", "https://example.com"},
		"path":             {"--owner", owner, "--key", key, "--server", "http://127.0.0.1:7442/api"},
		"stray argument":   {"--owner", owner, "--key", key, "now"},
		"negative":         {"--owner", owner, "--key", key, "--duration", "-1s"},
	} {
		var out, errOut bytes.Buffer
		if code := runSimulate(context.Background(), args, &out, &errOut); code != 2 || errOut.Len() == 0 || out.Len() != 0 {
			t.Errorf("%s: exit %d, stdout %q, stderr %q", name, code, out.String(), errOut.String())
		}
	}
}

// lateCtx has a deadline that has passed but is not done yet, as a context
// is for a moment after its deadline.
type lateCtx struct {
	context.Context
	deadline time.Time
}

func (c lateCtx) Deadline() (time.Time, bool) { return c.deadline, true }

func TestSimulateRunEndsAtItsDeadline(t *testing.T) {
	bg := context.Background()
	if runEnded(bg) {
		t.Error("a context without deadline ended")
	}
	if runEnded(lateCtx{bg, time.Now().Add(time.Hour)}) {
		t.Error("ended before the deadline")
	}
	if !runEnded(lateCtx{bg, time.Now().Add(-time.Millisecond)}) {
		t.Error("a dial cut off by the deadline would count as a failure")
	}
	done, cancel := context.WithCancel(bg)
	cancel()
	if !runEnded(done) {
		t.Error("a cancelled context did not end the run")
	}
}
