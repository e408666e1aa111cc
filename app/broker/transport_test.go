package broker

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// selfSigned makes a certificate for 127.0.0.1 and localhost and writes it
// to dir as ca.pem (for clients) and cert.pem with key.pem (for mosquitto).
func selfSigned(t *testing.T, dir string) (*tls.Config, *x509.CertPool, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, IsCA: true, BasicConstraintsValid: true,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	path := filepath.Join(dir, "ca.pem")
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{path: certPEM, filepath.Join(dir, "cert.pem"): certPEM,
		filepath.Join(dir, "key.pem"): pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})} {
		if err := os.WriteFile(name, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}, pool, path
}

func TestTLS(t *testing.T) {
	dir := t.TempDir()
	cfg, pool, caPath := selfSigned(t, dir)
	f := newFixture(t, func(o *Options) { o.TLSAddr, o.TLSConfig = "127.0.0.1:0", cfg })
	url := "ssl://" + f.srv.Addr("tls")
	withCA := func(o *paho.ClientOptions) { o.SetTLSConfig(&tls.Config{RootCAs: pool}) }
	dev := mustDial(t, url, f.A.udid, f.A.key, "5CCF7FA1B2C3", withCA)
	topic := "/" + f.A.id + "/" + f.A.udid
	dev.sub(t, topic, 1)
	if err := f.srv.Publish(topic, []byte("over tls"), 1); err != nil {
		t.Fatal(err)
	}
	dev.expect(t, topic, "over tls")
	if c, err := dial(url, f.A.udid, f.B.key, "x", withCA); err == nil {
		c.Disconnect(0)
		t.Error("wrong key accepted over TLS")
	}

	h, p := hostPort(f.srv.Addr("tls"))
	out, code := mosquitto(t, "mosquitto_pub", "-h", h, "-p", p, "--cafile", caPath, "-u", f.A.id, "-P", f.A.key,
		"-t", topic, "-m", "from mosquitto_pub", "-q", "1")
	if code != 0 {
		t.Fatalf("mosquitto_pub over TLS: %d %q", code, out)
	}
	dev.expect(t, topic, "from mosquitto_pub")
}

func TestWebSocket(t *testing.T) {
	f := newFixture(t)
	topic := "/" + f.A.id + "/" + f.A.udid
	dev := mustDial(t, "ws://"+f.srv.Addr("ws")+"/mqtt", f.A.udid, f.A.key, "browser")
	dev.sub(t, topic, 1)
	if err := f.srv.Publish(topic, []byte("over websocket"), 1); err != nil {
		t.Fatal(err)
	}
	dev.expect(t, topic, "over websocket")
	if c, err := dial("ws://"+f.srv.Addr("ws")+"/mqtt", f.B.id, f.A.key, "x"); err == nil {
		c.Disconnect(0)
		t.Error("wrong key accepted over WebSocket")
	}

	// The same handler mounted on another HTTP server (the console's port).
	mux := http.NewServeMux()
	mux.Handle("/mqtt", f.srv.WebSocketHandler())
	web := httptest.NewServer(mux)
	defer web.Close()
	mounted := mustDial(t, "ws://"+strings.TrimPrefix(web.URL, "http://")+"/mqtt", f.A.id, f.A.key, "console")
	mounted.sub(t, "/"+f.A.id+"/#", 0)
	if err := dev.pub(t, topic+"/status", 0, false, `{"status":"ws"}`); err != nil {
		t.Fatal(err)
	}
	mounted.expect(t, topic+"/status", `{"status":"ws"}`)
	resp, err := http.Get(web.URL + "/mqtt")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUpgradeRequired {
		t.Errorf("plain GET: %d, want 426", resp.StatusCode)
	}
}
