package broker

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestLogin(t *testing.T) {
	f := newFixture(t)
	url := f.tcpURL()
	for _, tc := range []struct {
		name, user, pass string
		ok               bool
	}{
		{"device with its owner's key", f.A.udid, f.A.key, true},
		{"owner with its key", f.A.id, f.A.key, true},
		{"device with another owner's key", f.A.udid, f.B.key, false},
		{"owner with another owner's key", f.B.id, f.A.key, false},
		{"device with a wrong key", f.A.udid, strings.Repeat("0", 64), false},
		{"unknown device", "00000000-0000-11ef-8000-000000000000", f.A.key, false},
		{"malformed user name", "admin", f.A.key, false},
		{"no password", f.A.udid, "", false},
		{"anonymous", "", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := dial(url, tc.user, tc.pass, "client-"+strings.ReplaceAll(tc.name, " ", "-"))
			if tc.ok && err != nil {
				t.Fatalf("refused: %v", err)
			}
			if !tc.ok && err == nil {
				c.Disconnect(0)
				t.Fatal("accepted")
			}
			if c != nil {
				c.Disconnect(0)
			}
		})
	}

	// The reason codes a stock client sees, in both protocol versions.
	h, p := hostPort(f.srv.Addr("tcp"))
	out, code := mosquitto(t, "mosquitto_pub", "-h", h, "-p", p, "-u", f.A.udid, "-P", f.B.key, "-t", "x", "-m", "x")
	if code == 0 || !strings.Contains(strings.ToLower(out), "not authorised") {
		t.Errorf("MQTT 3.1.1 wrong key: exit %d, %q; want a not-authorised refusal", code, out)
	}
	out, code = mosquitto(t, "mosquitto_pub", "-V", "mqttv5", "-h", h, "-p", p, "-u", f.A.udid, "-P", f.B.key, "-t", "x", "-m", "x")
	if code == 0 || !strings.Contains(strings.ToLower(out), "bad user name or password") {
		t.Errorf("MQTT 5 wrong key: exit %d, %q; want bad user name or password", code, out)
	}
	out, code = mosquitto(t, "mosquitto_pub", "-h", h, "-p", p, "-t", "x", "-m", "x")
	if code == 0 {
		t.Errorf("anonymous publish accepted: %q", out)
	}
}

func TestRevokedKeyEndsSession(t *testing.T) {
	f := newFixture(t)
	dev := mustDial(t, f.tcpURL(), f.A.udid, f.A.key, "5CCF7FA1B2C3")
	owner := mustDial(t, f.tcpURL(), f.A.id, f.A.key, "dashboard")
	other := mustDial(t, f.tcpURL(), f.B.udid, f.B.key, "5CCF7FA1B2C4")

	if err := f.auth.RevokeKey(context.Background(), f.A.id, f.A.keyID, "127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	dev.waitLost(t)
	owner.waitLost(t)
	if !other.IsConnectionOpen() {
		t.Error("another owner's session ended too")
	}
	if c, err := dial(f.tcpURL(), f.A.udid, f.A.key, "5CCF7FA1B2C3"); err == nil {
		c.Disconnect(0)
		t.Fatal("a revoked key logged in again")
	}
}

func TestDeletedDeviceEndsSession(t *testing.T) {
	f := newFixture(t)
	dev := mustDial(t, f.tcpURL(), f.A.udid, f.A.key, "5CCF7FA1B2C3")
	f.sink.wait(t, "online", func(c sinkCall) bool { return c.Kind == "online" && c.Online })
	if !f.srv.Online(f.A.udid) {
		t.Fatal("Online is false for a connected device")
	}
	f.reg.remove(f.A.udid)
	f.srv.DisconnectDevice(f.A.udid)
	dev.waitLost(t)
	if f.srv.Online(f.A.udid) {
		t.Error("Online is still true")
	}
	if c, err := dial(f.tcpURL(), f.A.udid, f.A.key, "5CCF7FA1B2C3"); err == nil {
		c.Disconnect(0)
		t.Fatal("a deleted device logged in again")
	}
}

// The periodic re-check catches a revocation that bypassed DisconnectKey.
func TestRecheckEndsSession(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.RecheckInterval = 50 * time.Millisecond })
	f.auth.OnKeyRevoked = nil
	dev := mustDial(t, f.tcpURL(), f.A.udid, f.A.key, "5CCF7FA1B2C3")
	if err := f.auth.RevokeKey(context.Background(), f.A.id, f.A.keyID, "127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	dev.waitLost(t)
}

func TestClients(t *testing.T) {
	f := newFixture(t)
	mustDial(t, f.tcpURL(), f.A.udid, f.A.key, "5CCF7FA1B2C3").sub(t, "/"+f.A.id+"/"+f.A.udid, 1)
	mustDial(t, f.tcpURL(), f.B.udid, f.B.key, "5CCF7FA1B2C3") // same client ID, other owner
	f.sink.wait(t, "online", func(c sinkCall) bool { return c.Kind == "online" && c.UDID == f.B.udid })
	list := f.srv.Clients(f.A.id)
	if len(list) != 1 {
		t.Fatalf("owner A sees %d clients, want 1: %+v", len(list), list)
	}
	c := list[0]
	if c.ClientID != "5CCF7FA1B2C3" || c.UDID != f.A.udid || c.Kind != KindDevice || len(c.Subscriptions) != 1 {
		t.Errorf("client info %+v", c)
	}
	if !f.srv.Online(f.A.udid) || !f.srv.Online(f.B.udid) {
		t.Error("both devices should be online: equal client IDs of two owners must not take each other over")
	}
}

// Disabling an owner ends its sessions once the broker is told, and no
// device of it logs in again.
func TestDisabledOwner(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	dev := mustDial(t, f.tcpURL(), f.B.udid, f.B.key, "5CCF7FA1B2C4")
	admin, err := f.db.Owner(ctx, f.A.id)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.auth.SetDisabled(ctx, admin, f.B.id, true, "127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	f.srv.InvalidateOwner(f.B.id)
	dev.waitLost(t)
	for _, user := range []string{f.B.udid, f.B.id} {
		if c, err := dial(f.tcpURL(), user, f.B.key, "again"); err == nil {
			c.Disconnect(0)
			t.Errorf("%s of a disabled owner logged in", user)
		}
	}
	if err := f.auth.SetDisabled(ctx, admin, f.B.id, false, "127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	f.srv.InvalidateOwner(f.B.id)
	mustDial(t, f.tcpURL(), f.B.udid, f.B.key, "5CCF7FA1B2C4")
}
