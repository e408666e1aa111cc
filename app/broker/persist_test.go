package broker

import (
	"context"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"thinx/app/store"
)

// TestRestartPersistence closes and reopens the broker and the database on
// the same file: retained messages, a persistent session with its
// subscription and a QoS 1 message queued for the offline device survive.
func TestRestartPersistence(t *testing.T) {
	f := newFixture(t)
	a := "/" + f.A.id + "/" + f.A.udid
	persistent := func(o *paho.ClientOptions) { o.SetCleanSession(false) }

	dev := mustDial(t, f.tcpURL(), f.A.udid, f.A.key, "5CCF7FA1B2C3", persistent)
	if q := dev.sub(t, a, 1); q != 1 {
		t.Fatalf("granted %d", q)
	}
	if err := dev.pub(t, a+"/status", 1, true, `{"status":"retained before restart"}`); err != nil {
		t.Fatal(err)
	}
	dev.Disconnect(50)

	f.restart()
	// Queued for the offline device, then the broker restarts again.
	if err := f.srv.Publish(a, []byte(`{"configuration":{"A":"1"}}`), 1); err != nil {
		t.Fatal(err)
	}
	f.srv.Close()
	rows, err := f.db.MQTTRows(context.Background(), store.MQTTInflight)
	if err != nil || len(rows) != 1 {
		t.Fatalf("stored in-flight rows: %d, %v; want 1", len(rows), err)
	}
	if !store.IsSealed(rows[0].Data) || strings.Contains(string(rows[0].Data), "configuration") {
		t.Errorf("a configuration push is stored in clear: %q", rows[0].Data)
	}
	f.restart()

	dev = mustDial(t, f.tcpURL(), f.A.udid, f.A.key, "5CCF7FA1B2C3", persistent)
	dev.expect(t, a, `{"configuration":{"A":"1"}}`)
	// The subscription came back with the session: no new SUBSCRIBE.
	if err := f.srv.Publish(a, []byte("after restart"), 1); err != nil {
		t.Fatal(err)
	}
	dev.expect(t, a, "after restart")

	dash := mustDial(t, f.tcpURL(), f.A.id, f.A.key, "dashboard")
	dash.sub(t, a+"/status", 0)
	dash.expect(t, a+"/status", `{"status":"retained before restart"}`)

	// Acknowledged messages leave the database; an emptied retained topic too.
	if err := dev.pub(t, a+"/status", 1, true, ""); err != nil {
		t.Fatal(err)
	}
	f.srv.Close()
	for kind, want := range map[store.MQTTKind]int{store.MQTTInflight: 0, store.MQTTRetained: 0, store.MQTTClient: 1, store.MQTTSubscription: 1} {
		rows, _ := f.db.MQTTRows(context.Background(), kind)
		if len(rows) != want {
			t.Errorf("kind %d: %d rows, want %d", kind, len(rows), want)
		}
	}
}

// A clean session stores nothing, and a clean start forgets the stored one.
func TestCleanSessionStoresNothing(t *testing.T) {
	f := newFixture(t)
	a := "/" + f.A.id + "/" + f.A.udid
	dev := mustDial(t, f.tcpURL(), f.A.udid, f.A.key, "id1", func(o *paho.ClientOptions) { o.SetCleanSession(false) })
	dev.sub(t, a, 1)
	dev.Disconnect(50)
	waitRows(t, f.db, store.MQTTClient, 1)
	clean := mustDial(t, f.tcpURL(), f.A.udid, f.A.key, "id1")
	clean.sub(t, a+"/#", 1)
	waitRows(t, f.db, store.MQTTClient, 0)
	waitRows(t, f.db, store.MQTTSubscription, 0)
}

func waitRows(t *testing.T, db *store.DB, kind store.MQTTKind, want int) {
	t.Helper()
	var rows []store.MQTTRow
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		rows, _ = db.MQTTRows(context.Background(), kind)
		if len(rows) == want {
			return
		}
	}
	t.Fatalf("kind %d: %d rows, want %d", kind, len(rows), want)
}
