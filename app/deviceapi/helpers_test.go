package deviceapi_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"thinx/app"
	"thinx/app/auth"
	"thinx/app/deviceapi"
	"thinx/app/devices"
	"thinx/app/events"
	"thinx/app/store"
)

// server is the device API on a real loopback socket, over a real SQLite
// file, with the real key checker.
type server struct {
	addr string
	db   *store.DB
	auth *auth.Service
	svc  *devices.Service
	h    *deviceapi.Handler
}

type owner struct{ ID, Email, Key string }

func newServer(t testing.TB, tune func(*deviceapi.Handler)) *server {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	a := auth.NewService(db, log)
	a.KeyLimit = auth.NewLimiter(1_000_000, time.Minute) // tests send many bad keys from one address
	svc := devices.New(db, a, events.NewBus(), log)
	if err := svc.Start(); err != nil {
		t.Fatal(err)
	}
	h := deviceapi.New(svc, log)
	if tune != nil {
		tune(h)
	}
	mux := http.NewServeMux()
	h.Register(mux)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: deviceapi.ReadHeaderTimeout, IdleTimeout: deviceapi.IdleTimeout}
	go srv.Serve(ln)
	t.Cleanup(func() {
		srv.Close()
		svc.Close()
		db.Close()
	})
	return &server{addr: ln.Addr().String(), db: db, auth: a, svc: svc, h: h}
}

func (s *server) owner(t testing.TB, name string) owner {
	t.Helper()
	ctx := context.Background()
	var b [32]byte
	_, _ = rand.Read(b[:])
	o := &app.Owner{ID: hex.EncodeToString(b[:]), Email: name + "@example.com"}
	if err := s.db.Update(ctx, func(tx *store.Tx) error { return tx.CreateOwner(o) }); err != nil {
		t.Fatal(err)
	}
	key, _, err := s.auth.CreateKey(ctx, o.ID, "devices", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	return owner{ID: o.ID, Email: o.Email, Key: key}
}

// roundTrip writes raw request bytes on a fresh connection and returns
// everything the server sent until it closed the connection.
func roundTrip(t testing.TB, addr string, req []byte) []byte {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write(req); err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("read reply: %v (got %q)", err, out)
	}
	return out
}
