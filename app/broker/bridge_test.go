package broker

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"thinx/app"
	"thinx/app/store"
)

// remoteBroker runs the distribution's mosquitto on a free loopback port,
// as a stand-in for an external broker such as Home Assistant's.
type remoteBroker struct {
	t    *testing.T
	port int
	conf string
	cmd  *exec.Cmd
}

// startMosquitto runs mosquitto; conf, if given, replaces the default
// configuration (an anonymous listener) and gets the port.
func startMosquitto(t *testing.T, conf ...func(port int) string) *remoteBroker {
	t.Helper()
	if _, err := exec.LookPath("mosquitto"); err != nil {
		t.Skip("mosquitto not installed")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	path := filepath.Join(t.TempDir(), "mosquitto.conf")
	body := fmt.Sprintf("listener %d 127.0.0.1\nallow_anonymous true\npersistence false\n", port)
	if len(conf) > 0 {
		body = conf[0](port)
	}
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	rb := &remoteBroker{t: t, port: port, conf: path}
	rb.start()
	t.Cleanup(rb.stop)
	return rb
}

func (rb *remoteBroker) start() {
	rb.t.Helper()
	rb.cmd = exec.Command("mosquitto", "-c", rb.conf)
	var out bytes.Buffer
	rb.cmd.Stdout, rb.cmd.Stderr = &out, &out
	if err := rb.cmd.Start(); err != nil {
		rb.t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", rb.addr()); err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			rb.t.Fatalf("mosquitto did not start: %s", out.String())
		}
	}
}

func (rb *remoteBroker) stop() {
	if rb.cmd != nil && rb.cmd.Process != nil {
		rb.cmd.Process.Kill()
		rb.cmd.Wait()
		rb.cmd = nil
	}
}

func (rb *remoteBroker) addr() string { return fmt.Sprintf("127.0.0.1:%d", rb.port) }

// waitBridge waits until the owner's bridge reaches state.
func waitBridge(t *testing.T, s *Server, owner, state string) BridgeState {
	t.Helper()
	var st []BridgeState
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if st = s.BridgeStatus(owner); len(st) == 1 && st[0].State == state {
			return st[0]
		}
	}
	t.Fatalf("bridge not %s: %+v", state, st)
	return BridgeState{}
}

func TestBridge(t *testing.T) {
	remote := startMosquitto(t)
	f := newFixture(t)
	ctx := context.Background()
	a := "/" + f.A.id + "/" + f.A.udid

	// A non-admin owner's bridge may only carry its own tree.
	if _, err := f.srv.SaveBridge(ctx, f.B.id, "127.0.0.1", Bridge{Name: "x", URL: "tcp://" + remote.addr(),
		Forward: []string{"/" + f.A.id + "/#"}, Enabled: true}); app.ErrorCode(err) != app.EINVALID {
		t.Errorf("forwarding another owner's tree: %v, want EINVALID", err)
	}
	if _, err := f.srv.SaveBridge(ctx, f.B.id, "127.0.0.1", Bridge{Name: "x", URL: "http://example.com",
		Forward: []string{"#"}, Enabled: true}); app.ErrorCode(err) != app.EINVALID {
		t.Errorf("bad URL: %v, want EINVALID", err)
	}

	b, err := f.srv.SaveBridge(ctx, f.B.id, "127.0.0.1", Bridge{Name: "home", URL: "tcp://" + remote.addr(),
		Username: "thinx", Password: "s3cret-bridge-password", RemotePrefix: "ha",
		Forward: []string{"+/status"}, Subscribe: []string{"ha/+/+"}, QoS: 1, Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	if b.Forward[0] != "/"+f.B.id+"/+/status" || b.Password != "" || !b.HasPassword {
		t.Errorf("saved bridge %+v", b)
	}
	var sealed []byte
	if err := f.db.ReadDB().QueryRow(`SELECT password_enc FROM mqtt_bridges WHERE id = ?`, b.ID).Scan(&sealed); err != nil {
		t.Fatal(err)
	}
	if !store.IsSealed(sealed) || bytes.Contains(sealed, []byte("s3cret")) {
		t.Errorf("password stored as %q, want it sealed with the data directory's key", sealed)
	}
	if err := f.srv.DeleteBridge(ctx, f.A.id, "127.0.0.1", b.ID); app.ErrorCode(err) != app.ENOTFOUND {
		t.Errorf("owner A deleted owner B's bridge: %v", err)
	}
	if len(f.srv.BridgeStatus(f.A.id)) != 0 {
		t.Error("owner A sees owner B's bridge")
	}
	waitBridge(t, f.srv, f.B.id, "connected")

	// Out: a device status of B reaches the remote broker, prefixed.
	watcher := mustDial(t, "tcp://"+remote.addr(), "", "", "watcher")
	watcher.sub(t, "ha/#", 1)
	devB := mustDial(t, f.tcpURL(), f.B.udid, f.B.key, "5CCF7FA1B2C4")
	devB.sub(t, "/"+f.B.id+"/"+f.B.udid, 1)
	b1 := "/" + f.B.id + "/" + f.B.udid
	if err := devB.pub(t, b1+"/status", 1, false, `{"status":"to home assistant"}`); err != nil {
		t.Fatal(err)
	}
	watcher.expect(t, "ha"+b1+"/status", `{"status":"to home assistant"}`)

	// In: a command from the remote side reaches the device.
	if err := watcher.pub(t, "ha"+b1, 1, false, "switch on"); err != nil {
		t.Fatal(err)
	}
	devB.expect(t, b1, "switch on")

	// A remote topic that maps outside B's tree (here: onto A's device) is
	// dropped.
	devA := mustDial(t, f.tcpURL(), f.A.udid, f.A.key, "5CCF7FA1B2C3")
	devA.sub(t, a, 1)
	if err := watcher.pub(t, "ha"+a, 1, false, "sneaky"); err != nil {
		t.Fatal(err)
	}
	devA.quiet(t, 300*time.Millisecond)
	if st := f.srv.BridgeStatus(f.B.id); len(st) != 1 || st[0].Dropped == 0 {
		t.Errorf("the foreign message was not counted as dropped: %+v", st)
	}

	// The remote broker goes away and comes back: the bridge reconnects.
	remote.stop()
	st := waitBridge(t, f.srv, f.B.id, "reconnecting")
	if st.Sent == 0 || st.Received == 0 {
		t.Errorf("status counters %+v", st)
	}
	remote.start()
	waitBridge(t, f.srv, f.B.id, "connected")
	watcher2 := mustDial(t, "tcp://"+remote.addr(), "", "", "watcher2")
	watcher2.sub(t, "ha/#", 1)
	if err := devB.pub(t, b1+"/status", 1, false, `{"status":"after reconnect"}`); err != nil {
		t.Fatal(err)
	}
	watcher2.expect(t, "ha"+b1+"/status", `{"status":"after reconnect"}`)

	// Deleting stops it.
	if err := f.srv.DeleteBridge(ctx, f.B.id, "127.0.0.1", b.ID); err != nil {
		t.Fatal(err)
	}
	if len(f.srv.BridgeStatus(f.B.id)) != 0 {
		t.Error("a deleted bridge still runs")
	}
	list, _ := f.srv.Bridges(ctx, f.B.id)
	if len(list) != 0 {
		t.Errorf("bridges after delete: %+v", list)
	}
}

// TestBridgeTLS: a bridge to a broker that wants TLS and a password.
func TestBridgeTLS(t *testing.T) {
	dir := t.TempDir()
	_, pool, caPath := selfSigned(t, dir)
	passwd := filepath.Join(dir, "passwd")
	if out, err := exec.Command("mosquitto_passwd", "-b", "-c", passwd, "thinx", "bridge-secret").CombinedOutput(); err != nil {
		t.Skipf("mosquitto_passwd: %v %s", err, out)
	}
	remote := startMosquitto(t, func(port int) string {
		// "user root": mosquitto started as root would otherwise switch to
		// its own user, which cannot read the test's private directory.
		return fmt.Sprintf("listener %d 127.0.0.1\ncertfile %s\nkeyfile %s\nallow_anonymous false\npassword_file %s\npersistence false\nuser root\n",
			port, filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"), passwd)
	})
	ca, err := os.ReadFile(caPath)
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t)
	ctx := context.Background()
	b := Bridge{Name: "tls", URL: "ssl://" + remote.addr(), Username: "thinx", Password: "wrong", CACert: string(ca),
		Forward: []string{"+/status"}, Enabled: true}
	saved, err := f.srv.SaveBridge(ctx, f.A.id, "127.0.0.1", b)
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if st := f.srv.BridgeStatus(f.A.id); len(st) == 1 && st[0].Error != "" {
			break // refused, and the console can say why
		}
		if time.Now().After(deadline) {
			t.Fatalf("a wrong password left no error: %+v", f.srv.BridgeStatus(f.A.id))
		}
	}
	b.ID, b.Password = saved.ID, "bridge-secret"
	if _, err := f.srv.SaveBridge(ctx, f.A.id, "127.0.0.1", b); err != nil {
		t.Fatal(err)
	}
	waitBridge(t, f.srv, f.A.id, "connected")
	watcher := mustDial(t, "ssl://"+remote.addr(), "thinx", "bridge-secret", "watcher",
		func(o *paho.ClientOptions) { o.SetTLSConfig(&tls.Config{RootCAs: pool}) })
	watcher.sub(t, "#", 1)
	dev := mustDial(t, f.tcpURL(), f.A.udid, f.A.key, "5CCF7FA1B2C3")
	status := "/" + f.A.id + "/" + f.A.udid + "/status"
	if err := dev.pub(t, status, 1, false, `{"status":"over tls"}`); err != nil {
		t.Fatal(err)
	}
	watcher.expect(t, status, `{"status":"over tls"}`)

	// An update without a password keeps the stored one.
	b.Password, b.Name = "", "tls renamed"
	if _, err := f.srv.SaveBridge(ctx, f.A.id, "127.0.0.1", b); err != nil {
		t.Fatal(err)
	}
	waitBridge(t, f.srv, f.A.id, "connected")

	// A password sealed the older way, with a key kept in the database, is
	// re-sealed with the key file at the next start, and the old key goes.
	key := bytes.Repeat([]byte{7}, 32)
	block, _ := aes.NewCipher(key)
	aead, _ := cipher.NewGCM(block)
	nonce := make([]byte, aead.NonceSize())
	legacy := aead.Seal(nonce, nonce, []byte("bridge-secret"), []byte("mqtt bridge"))
	if err := f.db.Update(ctx, func(tx *store.Tx) error {
		if err := tx.SetSetting("secret.bridge", key); err != nil {
			return err
		}
		return tx.SetMQTTBridgePassword(saved.ID, legacy)
	}); err != nil {
		t.Fatal(err)
	}
	f.restart()
	waitBridge(t, f.srv, f.A.id, "connected")
	var stored []byte
	if err := f.db.ReadDB().QueryRow(`SELECT password_enc FROM mqtt_bridges WHERE id = ?`, saved.ID).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if !store.IsSealed(stored) {
		t.Errorf("the older password was not re-sealed: %q", stored)
	}
	if _, err := f.db.Setting(ctx, "secret.bridge"); app.ErrorCode(err) != app.ENOTFOUND {
		t.Errorf("the key in the database is still there: %v", err)
	}
}
