package devices_test

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"

	"thinx/app"
	"thinx/app/devices"
	"thinx/app/store"
)

// recorder stands in for the broker's Publisher and records what would be
// published; the broker's own tests cover a real MQTT connection.
type recorder struct {
	mu     sync.Mutex
	online map[string]bool
	fail   bool
	msgs   []published
}

type published struct {
	topic   string
	payload string
	qos     byte
}

func (r *recorder) Publish(topic string, payload []byte, qos byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail {
		return errors.New("broker unavailable")
	}
	r.msgs = append(r.msgs, published{topic, string(payload), qos})
	return nil
}

func (r *recorder) Online(udid string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.online[udid]
}

func (r *recorder) set(udid string, online bool) {
	r.mu.Lock()
	r.online[udid] = online
	r.mu.Unlock()
}

func (r *recorder) take() []published {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := r.msgs
	r.msgs = nil
	return m
}

func TestConfigPushPendingThenDelivered(t *testing.T) {
	e := newEnv(t)
	o := e.owner("o")
	ctx := context.Background()
	pub := &recorder{online: map[string]bool{}}
	e.svc.Publisher = pub
	off := e.checkin(o, o.Key, regBody(o, "", "ok")).UDID
	on := e.checkin(o, o.Key, regBody(o, "", "ok")).UDID
	pub.set(on, true)
	mustf(t, e.svc.SetOwnerEnv(ctx, o.ID, []app.EnvVar{{Name: "THINX_ENV_SSID", Value: "office"}, {Name: "THINX_ENV_PASS", Value: "p{a}}ss", Secret: true}}, ""), "owner env")
	_, err := e.svc.Update(ctx, o.ID, off, app.DeviceUpdate{Env: &[]app.EnvVar{{Name: "LED", Value: "red"}}}, "")
	mustf(t, err, "device env")

	res, err := e.svc.PushConfig(ctx, o.ID, []string{off, on}, app.ConfigRequest{
		OwnerEnv: []string{"THINX_ENV_SSID", "THINX_ENV_PASS"}, Values: map[string]string{"MODE": "eco"},
	}, "")
	mustf(t, err, "push")
	if res.OK != 2 || res.Items[0].Message != devices.MsgQueued || res.Items[1].Message != devices.MsgDelivered {
		t.Fatalf("result %+v", res)
	}
	msgs := pub.take()
	want := `{"configuration":{"MODE":"eco","THINX_ENV_PASS":"p\u007ba\u007d\u007dss","THINX_ENV_SSID":"office"}}`
	if len(msgs) != 1 || msgs[0].topic != "/"+o.ID+"/"+on || msgs[0].payload != want || msgs[0].qos != 1 {
		t.Fatalf("published %+v", msgs)
	}

	// The message waiting for the offline device is stored encrypted.
	rows, err := e.db.ReadDB().Query(`SELECT payload FROM config_pushes`)
	mustf(t, err, "read pushes")
	for rows.Next() {
		var raw []byte
		mustf(t, rows.Scan(&raw), "scan")
		if !store.IsSealed(raw) || bytes.Contains(raw, []byte("office")) || bytes.Contains(raw, []byte("THINX_ENV")) {
			t.Errorf("configuration message stored as %q", raw)
		}
	}
	rows.Close()

	// A second push for the offline device, with its own variable.
	_, err = e.svc.PushConfig(ctx, o.ID, []string{off}, app.ConfigRequest{DeviceEnv: []string{"LED"}}, "")
	mustf(t, err, "push 2")
	if got := pub.take(); len(got) != 0 {
		t.Fatalf("published to an offline device: %v", got)
	}
	// It connects: nothing yet, since it has not subscribed. It subscribes
	// to its topic: both wait no longer, in order; doing it again sends
	// nothing.
	pub.set(off, true)
	mustf(t, e.svc.SetOnline(ctx, o.ID, off, true), "online")
	if got := pub.take(); len(got) != 0 {
		t.Fatalf("published before the device subscribed: %v", got)
	}
	mustf(t, e.svc.DeviceListening(ctx, o.ID, off), "listening")
	msgs = pub.take()
	if len(msgs) != 2 || msgs[0].payload != want || msgs[1].payload != `{"configuration":{"LED":"red"}}` {
		t.Fatalf("delivered on subscribe %+v", msgs)
	}
	mustf(t, e.svc.DeviceListening(ctx, o.ID, off), "listening again")
	if got := pub.take(); len(got) != 0 {
		t.Fatalf("delivered twice: %v", got)
	}
	d, _ := e.svc.Get(ctx, o.ID, off)
	if !d.Online {
		t.Fatal("device not marked online")
	}
	hist, _ := e.svc.ConfigPushes(ctx, o.ID, off)
	if len(hist) != 2 || hist[0].DeliveredAt.IsZero() || hist[0].Payload != nil || hist[1].Keys[1] != "THINX_ENV_PASS" {
		t.Fatalf("push history %+v", hist)
	}
}

func TestConfigPushFailuresStayPending(t *testing.T) {
	e := newEnv(t)
	o, other := e.owner("o"), e.owner("other")
	ctx := context.Background()
	pub := &recorder{online: map[string]bool{}, fail: true}
	e.svc.Publisher = pub
	udid := e.checkin(o, o.Key, regBody(o, "", "ok")).UDID
	theirs := e.checkin(other, other.Key, regBody(other, "", "ok")).UDID
	pub.set(udid, true)

	res, err := e.svc.PushConfig(ctx, o.ID, []string{udid, theirs}, app.ConfigRequest{Values: map[string]string{"A": "1"}}, "")
	mustf(t, err, "push")
	if res.OK != 1 || res.Failed != 1 || res.Items[0].Message != devices.MsgQueued || res.Items[1].Message != "Device not found." {
		t.Fatalf("result %+v", res)
	}
	// The broker refused; the message waits for the next connect.
	pub.fail = false
	mustf(t, e.svc.DeviceConnected(ctx, o.ID, udid), "connected")
	if got := pub.take(); len(got) != 1 {
		t.Fatalf("redelivery %+v", got)
	}

	for name, req := range map[string]app.ConfigRequest{
		"nothing":            {},
		"missing device var": {DeviceEnv: []string{"NOPE"}},
		"bad name":           {Values: map[string]string{"no spaces": "x"}},
	} {
		res, err := e.svc.PushConfig(ctx, o.ID, []string{udid}, req, "")
		if err == nil && res.Failed == 0 {
			t.Errorf("%s: accepted %+v", name, res)
		}
	}
	if got := pub.take(); len(got) != 0 {
		t.Fatalf("bad pushes were published: %v", got)
	}
}

func TestNotificationAnswer(t *testing.T) {
	e := newEnv(t)
	o, other := e.owner("o"), e.owner("other")
	ctx := context.Background()
	pub := &recorder{online: map[string]bool{}}
	e.svc.Publisher = pub
	udid := e.checkin(o, o.Key, regBody(o, "", "ok")).UDID
	q := app.Notification{Title: "Update Available", Body: "Install now?", Type: "actionable", ResponseType: "bool"}
	mustf(t, e.svc.Notification(ctx, o.ID, udid, q), "ask")
	if err := e.svc.Notification(ctx, other.ID, udid, q); app.ErrorCode(err) != app.ENOTFOUND {
		t.Fatalf("question filed under another owner: %v", err)
	}
	open, _ := e.svc.Notifications(ctx, o.ID, true)
	if len(open) != 1 {
		t.Fatalf("open questions %v", open)
	}
	if err := e.svc.Answer(ctx, o.ID, open[0].ID, "yes"); app.ErrorCode(err) != app.ECONFLICT {
		t.Fatalf("answer to an offline device: %v", err)
	}
	pub.set(udid, true)
	if err := e.svc.Answer(ctx, other.ID, open[0].ID, "yes"); app.ErrorCode(err) != app.ENOTFOUND {
		t.Fatalf("another owner answered: %v", err)
	}
	if err := e.svc.Answer(ctx, o.ID, open[0].ID, "maybe"); app.ErrorCode(err) != app.EINVALID {
		t.Fatalf("non-boolean answer: %v", err)
	}
	mustf(t, e.svc.Answer(ctx, o.ID, open[0].ID, "yes"), "answer")
	msgs := pub.take()
	if len(msgs) != 1 || msgs[0].payload != `{"notification":{"response_type":"bool","response":true}}` || msgs[0].topic != "/"+o.ID+"/"+udid {
		t.Fatalf("published %+v", msgs)
	}
	if open, _ := e.svc.Notifications(ctx, o.ID, true); len(open) != 0 {
		t.Fatalf("still open %v", open)
	}
}
