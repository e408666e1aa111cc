package assets_test

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"thinx/assets"
)

// TestVendoredFilesMatchVersions: the vendored htmx files are the ones
// VERSIONS records, byte for byte.
func TestVendoredFilesMatchVersions(t *testing.T) {
	t.Parallel()
	f, err := os.Open(filepath.Join("vendor", "VERSIONS"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line) // name version file sha256
		if len(fields) != 4 {
			t.Fatalf("VERSIONS line %q", line)
		}
		b, err := os.ReadFile(filepath.Join("vendor", fields[2]))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		if hex.EncodeToString(sum[:]) != fields[3] {
			t.Errorf("%s %s: sha256 differs from VERSIONS", fields[0], fields[1])
		}
		// The served URL carries the same hash.
		if u := assets.URL("vendor/" + fields[2]); !strings.Contains(u, "/"+fields[3][:12]+"/") {
			t.Errorf("URL %s does not carry the file's hash", u)
		}
		n++
	}
	if n < 2 {
		t.Errorf("VERSIONS lists %d files, want htmx and its SSE extension", n)
	}
}

func TestHandler(t *testing.T) {
	t.Parallel()
	h := assets.Handler()
	css := assets.URL("app.css")
	get := func(path string, hdr ...string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", path, nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			r.Header.Set(hdr[i], hdr[i+1])
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	w := get(css)
	if w.Code != 200 || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/css") ||
		w.Header().Get("Cache-Control") != "public, max-age=31536000, immutable" || w.Header().Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("%s: %d %v", css, w.Code, w.Header())
	}
	hash := strings.Split(css, "/")[2]
	if w.Header().Get("ETag") != `"`+hash+`"` {
		t.Errorf("ETag %q", w.Header().Get("ETag"))
	}
	if w := get(css, "If-None-Match", `"`+hash+`"`); w.Code != http.StatusNotModified || w.Body.Len() != 0 {
		t.Errorf("revalidation: %d", w.Code)
	}
	if w := get(assets.Prefix + "0123456789ab/app.css"); w.Code != 200 || w.Header().Get("Cache-Control") != "no-cache" {
		t.Errorf("stale hash: %d %q", w.Code, w.Header().Get("Cache-Control"))
	}
	for _, p := range []string{assets.Prefix + "app.css", assets.Prefix + "x/nope.css", assets.Prefix + "x/assets.go", assets.Prefix + "x/vendor/VERSIONS"} {
		if w := get(p); w.Code != 404 {
			t.Errorf("%s: %d, want 404", p, w.Code)
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("URL of an unknown file did not panic")
		}
	}()
	assets.URL("missing.css")
}
