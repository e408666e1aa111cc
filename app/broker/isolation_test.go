package broker

import (
	"fmt"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/mochi-mqtt/server/v2/packets"
)

// TestIsolation: two owners, each attacking the other as a device and as
// the owner, with every topic pattern that could reach the other's tree,
// subscribing and publishing. Nothing crosses.
func TestIsolation(t *testing.T) {
	f := newFixture(t)
	for _, dir := range []struct {
		name             string
		attacker, victim tenant
		attackerIsAdmin  bool
	}{{"A attacks B", f.A, f.B, true}, {"B attacks A", f.B, f.A, false}} {
		t.Run(dir.name, func(t *testing.T) { isolation(t, f, dir.attacker, dir.victim, dir.attackerIsAdmin) })
	}
}

func isolation(t *testing.T, f *fixture, att, vic tenant, admin bool) {
	v := "/" + vic.id
	// The victim's own clients, and a retained message in its tree.
	vDev := mustDial(t, f.tcpURL(), vic.udid, vic.key, "victim-dev")
	vDev.sub(t, v+"/"+vic.udid+"/#", 1)
	vOwn := mustDial(t, f.tcpURL(), vic.id, vic.key, "victim-owner")
	vOwn.sub(t, v+"/#", 1)
	if err := vDev.pub(t, v+"/"+vic.udid+"/status", 1, true, `{"status":"secret retained"}`); err != nil {
		t.Fatal(err)
	}
	vOwn.expect(t, v+"/"+vic.udid+"/status", `{"status":"secret retained"}`)
	vDev.expect(t, v+"/"+vic.udid+"/status", `{"status":"secret retained"}`)
	// A subscriber may get the message twice, live and as a retained
	// replay, when the publish races its SUBACK; only later ones count.
	time.Sleep(100 * time.Millisecond)
	for _, c := range []*testClient{vDev, vOwn} {
		for len(c.msgs) > 0 {
			<-c.msgs
		}
	}

	patterns := []string{"#", "+/#", "+", "/+", "/#", "/+/#", "+/+/#", "/+/+", "/+/+/status", v + "/#", v + "/+",
		v + "/+/status", v + "/" + vic.udid, v + "/" + vic.udid + "/#", v + "/" + vic.udid + "/status", v + "/shared/#",
		v, "+/" + vic.id + "/#", "$SYS/#", "$share/g/#", "$share/g/" + v + "/#"}
	logins := []struct{ kind, user string }{{"device", att.udid}, {"owner", att.id}}
	var listeners []*testClient
	for _, l := range logins {
		for _, ver := range []uint{4, 5} {
			if ver == 5 {
				continue // paho speaks 3.1.1; MQTT 5 is covered by mosquitto_sub below
			}
			c := mustDial(t, f.tcpURL(), l.user, att.key, fmt.Sprintf("att-%s-%d", l.kind, ver),
				func(o *paho.ClientOptions) { o.SetProtocolVersion(ver) })
			for _, p := range patterns {
				q := c.sub(t, p, 1)
				sysForAdmin := admin && l.kind == "owner" && p == "$SYS/#"
				if q != 0x80 && !sysForAdmin {
					t.Errorf("%s %s: subscription to %q granted QoS %d", l.kind, l.user[:8], p, q)
				}
			}
			listeners = append(listeners, c)
		}
	}

	// MQTT 5: a stock client gets reason code 0x87 for each refusal.
	h, port := hostPort(f.srv.Addr("tcp"))
	out, _ := mosquitto(t, "mosquitto_sub", "-V", "mqttv5", "-h", h, "-p", port, "-u", att.udid, "-P", att.key,
		"-t", "#", "-t", v+"/#", "-t", "+/#", "-C", "1", "-W", "2")
	if !strings.Contains(out, "All subscription requests were denied") {
		t.Errorf("MQTT 5 subscribe to the other tree: %q", out)
	}

	// Publishing into the victim's tree: QoS 0 is dropped silently, QoS 1
	// ends an MQTT 3.1.1 session and gets PUBACK 0x87 in MQTT 5.
	targets := []string{v + "/" + vic.udid, v + "/" + vic.udid + "/status", v + "/shared/x", v + "/x", v}
	own := map[string]string{"device": "/" + att.id + "/" + att.udid, "owner": "/" + att.id + "/#"}
	for _, l := range logins {
		for _, tp := range targets {
			c := mustDial(t, f.tcpURL(), l.user, att.key, "att-pub")
			_ = c.pub(t, tp, 0, true, `{"status":"forged"}`)
			// The session survives a refused QoS 0 publish: a later
			// subscription to its own tree still works.
			if q := c.sub(t, own[l.kind], 0); q != 0 {
				t.Fatalf("%s: session unusable after a refused QoS 0 publish (granted %d)", l.kind, q)
			}
			_ = c.pub(t, tp, 1, false, `{"status":"forged"}`)
			c.waitLost(t)
			c.Disconnect(0)
		}
		out, _ := mosquitto(t, "mosquitto_pub", "-V", "mqttv5", "-d", "-h", h, "-p", port, "-u", l.user, "-P", att.key,
			"-t", v+"/"+vic.udid+"/status", "-q", "1", "-m", `{"status":"forged"}`)
		if !strings.Contains(out, "PUBACK") || !strings.Contains(out, "135") {
			t.Errorf("MQTT 5 forbidden publish: want PUBACK with reason 135, got %q", out)
		}
	}
	vDev.quiet(t, 300*time.Millisecond)
	vOwn.quiet(t, 10*time.Millisecond)
	for _, c := range f.sink.snapshot() {
		if c.Kind == "status" && c.Value == "forged" {
			t.Fatalf("a forged status reached the sink: %+v", c)
		}
	}

	// Even a subscription that slipped past the subscribe check (forced into
	// the broker here) delivers nothing: the ACL runs again per delivery.
	for _, cl := range f.srv.mq.Clients.GetAll() {
		if ss := f.srv.sess.get(cl); ss != nil && ss.owner == att.id {
			sub := packets.Subscription{Filter: "#", Qos: 1}
			f.srv.mq.Topics.Subscribe(cl.ID, sub)
			cl.State.Subscriptions.Add(sub.Filter, sub)
		}
	}
	if err := vDev.pub(t, v+"/"+vic.udid+"/status", 1, false, `{"status":"secret live"}`); err != nil {
		t.Fatal(err)
	}
	vOwn.expect(t, v+"/"+vic.udid+"/status", `{"status":"secret live"}`)
	time.Sleep(300 * time.Millisecond)
	for _, c := range listeners {
		for len(c.msgs) > 0 {
			if m := <-c.msgs; !strings.HasPrefix(m.Topic(), "$SYS/") || !admin {
				t.Fatalf("the attacker received %s: %q", m.Topic(), m.Payload())
			}
		}
	}
}
