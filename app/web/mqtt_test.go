package web_test

import (
	"context"
	"log/slog"
	"net/url"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"thinx/app"
	"thinx/app/broker"
)

// mqttEnv is a console with the real broker on a loopback port, its owner
// ann with a key and a device.
type mqttEnv struct {
	*env
	ann, bob   *app.Owner
	key        string
	udid, addr string
}

func newMQTTEnv(t *testing.T, tweak ...func(*broker.Options)) *mqttEnv {
	t.Helper()
	e := newEnv(t)
	m := &mqttEnv{env: e, ann: e.owner("ann@example.com", false), bob: e.owner("bob@example.com", false)}
	var err error
	if m.key, _, err = e.auth.CreateKey(context.Background(), m.ann.ID, "device key", "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	m.udid = e.checkin(m.ann.ID, m.key, "", "Greenhouse", "OK", "5CCF7F0000B1")
	log := slog.New(slog.DiscardHandler)
	opts := broker.Options{TCPAddr: "127.0.0.1:0", Log: log, FlushInterval: time.Millisecond}
	for _, fn := range tweak {
		fn(&opts)
	}
	brk, err := broker.New(opts,
		broker.Deps{DB: e.db, Keys: e.auth, Owners: broker.StoreOwners{DB: e.db, Log: log}, Registry: e.dev, Events: e.bus})
	if err != nil {
		t.Fatal(err)
	}
	if err := brk.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { brk.Close() })
	e.srv.Broker = brk
	m.addr = brk.Addr("tcp")
	return m
}

// device connects a real MQTT client as the device.
func (m *mqttEnv) device(t *testing.T, clientID string) paho.Client {
	t.Helper()
	c := paho.NewClient(paho.NewClientOptions().AddBroker("tcp://" + m.addr).SetClientID(clientID).
		SetUsername(m.udid).SetPassword(m.key).SetAutoReconnect(false))
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("connect: %v", tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(0) })
	return c
}

func (m *mqttEnv) publish(t *testing.T, c paho.Client, payload string) {
	t.Helper()
	if tok := c.Publish("/"+m.ann.ID+"/"+m.udid+"/status", 1, false, payload); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("publish: %v", tok.Error())
	}
}

func TestDeviceMQTTTrafficLiveAndHistory(t *testing.T) {
	t.Parallel()
	m := newMQTTEnv(t)
	ann, bob := m.login(m.ann.Email), m.login(m.bob.Email)
	live := ann.stream(t, "/devices/"+m.udid+"/mqtt/events")
	if live.res.StatusCode != 200 {
		t.Fatalf("stream: %d", live.res.StatusCode)
	}
	for m.bus.Subscribers(m.ann.ID) == 0 {
		time.Sleep(time.Millisecond)
	}
	dev := m.device(t, "greenhouse-esp")
	m.publish(t, dev, `{"status":"Battery 3.1V #w"}`)
	name, data, ok := live.event(t, 5*time.Second)
	if !ok || name != "mqtt" {
		t.Fatalf("event %q ok=%v", name, ok)
	}
	for _, want := range []string{"/status", "Battery 3.1V", "greenhouse-esp"} {
		if !strings.Contains(data, want) {
			t.Errorf("live row lacks %q:\n%s", want, data)
		}
	}
	// The history is written in batches; it shows the message once stored.
	deadline := time.Now().Add(5 * time.Second)
	for {
		res := ann.get("/devices/" + m.udid + "/mqtt")
		if res.status == 200 && strings.Contains(res.body, "Battery 3.1V") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("history: %d\n%s", res.status, excerpt(res.body))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if res := ann.get("/devices/" + m.udid + "/mqtt"); !strings.Contains(res.body, "Older ones are kept for 24 hours.") {
		t.Errorf("the page does not say how long messages are kept:\n%s", excerpt(res.body))
	}
	if res := ann.get("/devices/" + m.udid + "/mqtt?q=nothing-like-this"); strings.Contains(res.body, "Battery 3.1V") {
		t.Error("a search that matches nothing still lists the message")
	}
	// The owner page lists the connected device by name.
	if res := ann.get("/mqtt"); res.status != 200 || !strings.Contains(res.body, "greenhouse-esp") || !strings.Contains(res.body, "Greenhouse") ||
		!strings.Contains(res.body, "mqtt://127.0.0.1:") {
		t.Errorf("/mqtt: %d\n%s", res.status, excerpt(res.body))
	}
	// Bob sees neither the device's traffic nor its connection.
	for _, p := range []string{"/devices/" + m.udid + "/mqtt", "/devices/" + m.udid + "/mqtt/events"} {
		if res := bob.get(p); res.status != 404 || strings.Contains(res.body, "Battery") {
			t.Errorf("bob %s: %d", p, res.status)
		}
	}
	if res := bob.get("/mqtt"); strings.Contains(res.body, "greenhouse-esp") {
		t.Error("bob's MQTT page lists ann's device")
	}
}

// TestDeviceMQTTHistoryOff: with --mqtt-history off, messages still show
// live, nothing is recorded, and the page says so.
func TestDeviceMQTTHistoryOff(t *testing.T) {
	t.Parallel()
	m := newMQTTEnv(t, func(o *broker.Options) { o.History.Off = true })
	ann := m.login(m.ann.Email)
	live := ann.stream(t, "/devices/"+m.udid+"/mqtt/events")
	for m.bus.Subscribers(m.ann.ID) == 0 {
		time.Sleep(time.Millisecond)
	}
	m.publish(t, m.device(t, "greenhouse-esp"), `{"status":"not recorded"}`)
	if name, data, ok := live.event(t, 5*time.Second); !ok || name != "mqtt" || !strings.Contains(data, "not recorded") {
		t.Fatalf("live event %q %q ok=%v", name, data, ok)
	}
	time.Sleep(300 * time.Millisecond) // longer than the history's batching
	if rows, err := m.srv.Broker.History(context.Background(), m.ann.ID, m.udid, "", 0); err != nil || len(rows) != 0 {
		t.Errorf("history off recorded %d messages (%v)", len(rows), err)
	}
	res := ann.get("/devices/" + m.udid + "/mqtt")
	if !strings.Contains(res.body, "The history is off on this server") || strings.Contains(res.body, "not recorded") ||
		strings.Contains(res.body, "Search topic") {
		t.Errorf("page with the history off:\n%s", excerpt(res.body))
	}
}

func TestBridgeFormRefusesBadInput(t *testing.T) {
	t.Parallel()
	m := newMQTTEnv(t)
	ann := m.login(m.ann.Email)
	for name, form := range map[string]url.Values{
		"no URL":          {"name": {"HA"}},
		"bad scheme":      {"name": {"HA"}, "url": {"http://example.com"}, "forward": {"+/status"}},
		"other owner's":   {"name": {"HA"}, "url": {"tcp://127.0.0.1:1"}, "forward": {"/" + m.bob.ID + "/#"}},
		"nothing to move": {"name": {"HA"}, "url": {"tcp://127.0.0.1:1"}},
	} {
		res := ann.post("/mqtt/bridges", form)
		if res.status != 303 || flash(res) == "" || flash(res) == "Bridge added; it connects in the background." {
			t.Errorf("%s: %d %q", name, res.status, flash(res))
		}
	}
	if bs, _ := m.srv.Broker.Bridges(context.Background(), m.ann.ID); len(bs) != 0 {
		t.Errorf("refused forms stored %d bridges", len(bs))
	}
}
