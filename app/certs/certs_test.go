package certs

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/acme/autocert"
)

func TestSelfSignedIsMadeOnceAndKept(t *testing.T) {
	dir := t.TempDir()
	c1, fp1, err := SelfSigned(dir)
	if err != nil {
		t.Fatal(err)
	}
	c2, fp2, err := SelfSigned(dir)
	if err != nil || fp1 != fp2 || string(c1.Certificate[0]) != string(c2.Certificate[0]) {
		t.Fatalf("second start made a new certificate: %v %s %s", err, fp1, fp2)
	}
	if len(fp1) != 32*3-1 || strings.ToUpper(fp1) != fp1 {
		t.Errorf("fingerprint %q", fp1)
	}
	leaf, err := x509.ParseCertificate(c1.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := leaf.VerifyHostname("localhost"); err != nil {
		t.Error(err)
	}
	if err := leaf.VerifyHostname("127.0.0.1"); err != nil {
		t.Error(err)
	}
	st, err := os.Stat(filepath.Join(dir, "tls", "selfsigned.key"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("key file: %v %v", st, err)
	}
}

func TestSelfSignedRefusesABrokenFile(t *testing.T) {
	dir := t.TempDir()
	if _, _, err := SelfSigned(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tls", "selfsigned.crt"), []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := SelfSigned(dir); err == nil || !strings.Contains(err.Error(), "load self-signed certificate") {
		t.Errorf("a damaged certificate: %v", err)
	}
}

// serve runs a TLS server with cfg and returns the certificate presented
// for serverName.
func presented(t *testing.T, cfg *tls.Config, serverName string) *x509.Certificate {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.NotFoundHandler())
	srv.TLS = cfg
	srv.StartTLS()
	defer srv.Close()
	conn, err := tls.Dial("tcp", srv.Listener.Addr().String(), &tls.Config{ServerName: serverName, InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0]
}

func TestConfigWithoutDomainServesTheSelfSigned(t *testing.T) {
	self, fp, err := SelfSigned(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cfg, wrap := Config("", nil, self, "")
	if got := Fingerprint(presented(t, cfg, "localhost").Raw); got != fp {
		t.Errorf("presented %s, want %s", got, fp)
	}
	h := http.NotFoundHandler()
	if wrap(h) == nil {
		t.Error("no handler without a domain")
	}
}

// With a domain, names ACME can never issue for (an IP, a LAN name) still
// get the self-signed certificate. The ACME server itself is on the
// internet and is not contacted here.
func TestConfigWithDomainFallsBackForOtherNames(t *testing.T) {
	self, fp, err := SelfSigned(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := Config("thinx.example.com", autocert.DirCache(t.TempDir()), self, "")
	for _, name := range []string{"thinx.local", "raspberrypi"} {
		if got := Fingerprint(presented(t, cfg, name).Raw); got != fp {
			t.Errorf("%s: presented %s, want the self-signed %s", name, got, fp)
		}
	}
	found := false
	for _, p := range cfg.NextProtos {
		found = found || p == "acme-tls/1"
	}
	if !found {
		t.Error("TLS-ALPN-01 is not offered")
	}
}
