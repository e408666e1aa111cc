package broker

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"thinx/app"
	"thinx/app/store"
)

func TestPublishReachesDevice(t *testing.T) {
	f := newFixture(t)
	topic := "/" + f.A.id + "/" + f.A.udid
	dev := mustDial(t, f.tcpURL(), f.A.udid, f.A.key, "5CCF7FA1B2C3")
	if q := dev.sub(t, topic, 1); q != 1 {
		t.Fatalf("granted QoS %d", q)
	}
	push := `{"configuration":{"THINX_ENV_SSID":"home"}}`
	if err := f.srv.Publish(topic, []byte(push), 1); err != nil {
		t.Fatal(err)
	}
	dev.expect(t, topic, push)

	// Server pushes are never retained: a reconnecting device must not
	// replay an old command.
	dev.Disconnect(50)
	again := mustDial(t, f.tcpURL(), f.A.udid, f.A.key, "5CCF7FA1B2C3")
	again.sub(t, topic, 1)
	again.quiet(t, 300*time.Millisecond)

	for _, bad := range []string{"", "#", "/x/+", "$SYS/x"} {
		if err := f.srv.Publish(bad, []byte("x"), 0); err == nil {
			t.Errorf("Publish(%q) accepted", bad)
		}
	}
	if err := f.srv.Publish(topic, []byte("x"), 2); err == nil {
		t.Error("Publish at QoS 2 accepted")
	}
}

func TestStatusTap(t *testing.T) {
	f := newFixture(t)
	status := "/" + f.A.id + "/" + f.A.udid + "/status"
	feed := f.bus.Subscribe(f.A.id, 100)
	defer feed.Close()
	dev := mustDial(t, f.tcpURL(), f.A.udid, f.A.key, "5CCF7FA1B2C3", func(o *paho.ClientOptions) {
		o.SetWill(status, `{ "status" : "disconnected" }`, 0, false)
	})
	f.sink.wait(t, "online on connect", func(c sinkCall) bool { return c.Kind == "online" && c.Online && c.UDID == f.A.udid })

	// A retained status reaches a dashboard that subscribes later.
	if err := dev.pub(t, status, 1, true, `{"status":"Battery 80%"}`); err != nil {
		t.Fatal(err)
	}
	c := f.sink.wait(t, "status", func(c sinkCall) bool { return c.Kind == "status" })
	if c.Owner != f.A.id || c.UDID != f.A.udid || c.Value != "Battery 80%" {
		t.Errorf("status call %+v", c)
	}
	dash := mustDial(t, f.tcpURL(), f.A.id, f.A.key, "dashboard")
	dash.sub(t, "/"+f.A.id+"/+/status", 0)
	dash.expect(t, status, `{"status":"Battery 80%"}`)

	// An old library's notification with unquoted keys.
	if err := dev.pub(t, status, 0, false, `{ notification: { title: "Door", body: "Open?", type: "actionable", response_type: "bool" } }`); err != nil {
		t.Fatal(err)
	}
	n := f.sink.wait(t, "notification", func(c sinkCall) bool { return c.Kind == "notification" }).Note
	if n.Title != "Door" || !n.Actionable() || n.ResponseType != "bool" {
		t.Errorf("notification %+v", n)
	}

	// {"connected":false} marks the device offline.
	if err := dev.pub(t, status, 0, false, `{"connected":false}`); err != nil {
		t.Fatal(err)
	}
	f.sink.wait(t, "offline", func(c sinkCall) bool { return c.Kind == "online" && !c.Online })

	// The console stream saw the traffic.
	select {
	case e := <-feed.C:
		if e.Kind != EventKind || e.Subject != f.A.udid || e.Data.(Message).Topic != status {
			t.Errorf("event %+v", e)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no console event")
	}

	// The last will, sent when the socket dies, marks it offline.
	dev.Disconnect(0)
	dev2 := mustDial(t, f.tcpURL(), f.A.udid, f.A.key, "5CCF7FA1B2C3", func(o *paho.ClientOptions) {
		o.SetWill(status, `{ "status" : "disconnected" }`, 0, false)
	})
	f.sink.wait(t, "online", func(c sinkCall) bool { return c.Kind == "online" && c.Online })
	dropSocket(t, f, dev2)
	f.sink.wait(t, "offline by will", func(c sinkCall) bool { return c.Kind == "online" && !c.Online })
	dash.expect(t, status, `{ "status" : "disconnected" }`)
}

// dropSocket ends a client's connection from the server side without a
// DISCONNECT, as a power cut would.
func dropSocket(t *testing.T, f *fixture, tc *testClient) {
	t.Helper()
	for _, cl := range f.srv.mq.Clients.GetAll() {
		if ss := f.srv.sess.get(cl); ss != nil && !cl.Closed() && tc.IsConnectionOpen() {
			if r := tc.OptionsReader(); ss.clientID == r.ClientID() && ss.login == r.Username() {
				cl.Net.Conn.Close()
				return
			}
		}
	}
	t.Fatal("client not found")
}

func TestMQTTCheckin(t *testing.T) {
	f := newFixture(t)
	base := "/" + f.A.id + "/" + f.A.udid
	dev := mustDial(t, f.tcpURL(), f.A.udid, f.A.key, "5CCF7FA1B2C3")
	dev.sub(t, base, 1)
	reg := `{"registration":{"mac":"5CCF7FA1B2C3","owner":"` + f.A.id + `","udid":"` + f.A.udid + `","firmware":"x"}}`
	if err := dev.pub(t, base+"/status", 1, false, reg); err != nil {
		t.Fatal(err)
	}
	c := f.sink.wait(t, "register", func(c sinkCall) bool { return c.Kind == "register" })
	if !strings.Contains(c.Value, `"mac":"5CCF7FA1B2C3"`) {
		t.Errorf("check-in body %q", c.Value)
	}
	dev.expect(t, base, `{"registration":{"success":true,"status":"OK","timestamp":1764000000}}`)

	// A check-in naming another device is not processed.
	other := strings.Replace(reg, f.A.udid, "99999999-0000-11ef-8000-000000000000", 1)
	if err := dev.pub(t, base+"/status", 1, false, other); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	for _, c := range f.sink.snapshot() {
		if c.Kind == "register" && strings.Contains(c.Value, "99999999") {
			t.Fatal("a check-in for another UDID reached the sink")
		}
	}
}

func TestHistory(t *testing.T) {
	f := newFixture(t)
	dev := mustDial(t, f.tcpURL(), f.A.udid, f.A.key, "5CCF7FA1B2C3")
	devB := mustDial(t, f.tcpURL(), f.B.udid, f.B.key, "5CCF7FA1B2C4")
	a := "/" + f.A.id + "/" + f.A.udid
	for _, m := range []string{`{"status":"boot"}`, `{"status":"temperature 21.5"}`, strings.Repeat("x", 5000)} {
		if err := dev.pub(t, a+"/status", 1, false, m); err != nil {
			t.Fatal(err)
		}
	}
	if err := dev.pub(t, "/"+f.A.id+"/shared/hello", 1, false, "hi"); err != nil {
		t.Fatal(err)
	}
	if err := devB.pub(t, "/"+f.B.id+"/"+f.B.udid+"/status", 1, false, `{"status":"temperature 30"}`); err != nil {
		t.Fatal(err)
	}
	if err := f.srv.Publish(a, []byte(`{"configuration":{}}`), 0); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var all []HistoryEntry
	for deadline := time.Now().Add(5 * time.Second); len(all) < 5 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		var err error
		if all, err = f.srv.History(ctx, f.A.id, "", "", 0); err != nil {
			t.Fatal(err)
		}
	}
	if len(all) != 5 {
		t.Fatalf("owner A has %d messages, want 5: %+v", len(all), all)
	}
	server := 0
	for _, m := range all {
		if m.Client == "" && m.Topic == a {
			server++
		}
		if strings.Contains(m.Topic, f.B.id) {
			t.Fatalf("owner B's message in owner A's history: %+v", m)
		}
		if m.Size == 5000 && len(m.Payload) != 2048 {
			t.Errorf("payload kept %d bytes, want the 2048 cap", len(m.Payload))
		}
	}
	if server != 1 {
		t.Errorf("the server's push is recorded %d times, want once", server)
	}
	dev1, _ := f.srv.History(ctx, f.A.id, f.A.udid, "", 0)
	if len(dev1) != 4 {
		t.Errorf("device history has %d messages, want 4", len(dev1))
	}
	found, _ := f.srv.History(ctx, f.A.id, "", "TEMPERATURE", 0)
	if len(found) != 1 || found[0].Client != "5CCF7FA1B2C3" {
		t.Errorf("search found %+v", found)
	}
	if _, err := f.srv.History(ctx, "nobody", "", "", 0); err == nil {
		t.Error("History accepted a malformed owner ID")
	}
}

// TestHistoryKeepsNoSecret: a configuration push carries secret values to
// the device in clear; the history stores them masked.
func TestHistoryKeepsNoSecret(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if err := f.db.Update(ctx, func(tx *store.Tx) error {
		return tx.SetOwnerEnv(f.A.id, []app.EnvVar{{Name: "WIFI_PASSWORD", Value: "hunter2-secret", Secret: true},
			{Name: "INTERVAL", Value: "60"}})
	}); err != nil {
		t.Fatal(err)
	}
	dev := mustDial(t, f.tcpURL(), f.A.udid, f.A.key, "5CCF7FA1B2C3")
	a := "/" + f.A.id + "/" + f.A.udid
	dev.sub(t, a, 1)
	push := `{"configuration":{"INTERVAL":"60","WIFI_PASSWORD":"hunter2-secret"}}`
	if err := f.srv.Publish(a, []byte(push), 1); err != nil {
		t.Fatal(err)
	}
	dev.expect(t, a, push) // the device gets the value
	var got []HistoryEntry
	for deadline := time.Now().Add(5 * time.Second); len(got) == 0 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		got, _ = f.srv.History(ctx, f.A.id, f.A.udid, "", 0)
	}
	want := `{"configuration":{"INTERVAL":"60","WIFI_PASSWORD":"` + app.HiddenValue + `"}}`
	if len(got) != 1 || string(got[0].Payload) != want || got[0].Size != len(want) {
		t.Fatalf("history %+v, want the push with its secret masked", got)
	}
	f.srv.Close()
	if err := f.db.Close(); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"thinx.db", "thinx.db-wal"} {
		if b, err := os.ReadFile(filepath.Join(f.dir, name)); err == nil && bytes.Contains(b, []byte("hunter2-secret")) {
			t.Errorf("%s holds the secret in clear", name)
		}
	}
}

func TestHistoryPrune(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.History.MaxPerOwner = 3 })
	dev := mustDial(t, f.tcpURL(), f.A.udid, f.A.key, "5CCF7FA1B2C3")
	for i := range 6 {
		if err := dev.pub(t, "/"+f.A.id+"/"+f.A.udid+"/n", 1, false, strings.Repeat("x", i+1)); err != nil {
			t.Fatal(err)
		}
	}
	f.srv.Close() // flushes
	n, err := f.db.PruneMQTTHistory(context.Background(), time.Now().Add(-time.Hour), 3)
	if err != nil || n != 3 {
		t.Fatalf("pruned %d, %v; want 3", n, err)
	}
	rest, _ := f.db.MQTTHistory(context.Background(), storeFilter(f.A.id))
	if len(rest) != 3 || rest[0].Size != 6 || rest[2].Size != 4 {
		t.Errorf("kept %+v, want the newest three", rest)
	}
	n, _ = f.db.PruneMQTTHistory(context.Background(), time.Now().Add(time.Hour), 0)
	if n != 3 {
		t.Errorf("pruned %d by age, want 3", n)
	}
}

func storeFilter(owner string) store.MQTTHistoryFilter {
	return store.MQTTHistoryFilter{OwnerID: owner, Limit: 100}
}
