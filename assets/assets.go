// Package assets embeds the console's static files and serves them under
// content-hashed URLs, so browsers may cache them forever and a new release
// is fetched at once. Nothing is loaded from a CDN: the console works offline.
package assets

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
)

//go:embed app.css app.js editor.js favicon.svg vendor/*.js
var files embed.FS

// Prefix is the URL path under which assets are served.
const Prefix = "/assets/"

type asset struct {
	body  []byte
	hash  string
	ctype string
}

var byName = map[string]asset{}

func init() {
	_ = fs.WalkDir(files, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := files.ReadFile(p)
		sum := sha256.Sum256(b)
		ct := mime.TypeByExtension(path.Ext(p))
		if ct == "" {
			ct = "application/octet-stream"
		}
		byName[p] = asset{body: b, hash: hex.EncodeToString(sum[:])[:12], ctype: ct}
		return nil
	})
}

// URL returns the hashed URL of an embedded file, e.g. URL("app.css") is
// "/assets/3f2a9c1e07bd/app.css". An unknown name panics at start-up, which a
// test of every page catches.
func URL(name string) string {
	a, ok := byName[name]
	if !ok {
		panic("assets: unknown file " + name)
	}
	return Prefix + a.hash + "/" + name
}

// Handler serves /assets/<hash>/<name>. A stale hash still gets the current
// file, but without the long cache lifetime, so an old page keeps working.
func Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rest := strings.TrimPrefix(r.URL.Path, Prefix)
		hash, name, ok := strings.Cut(rest, "/")
		a, found := byName[name]
		if !ok || !found {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", a.ctype)
		w.Header().Set("X-Content-Type-Options", "nosniff")
		if hash == a.hash {
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			w.Header().Set("Cache-Control", "no-cache")
		}
		w.Header().Set("ETag", `"`+a.hash+`"`)
		if r.Header.Get("If-None-Match") == `"`+a.hash+`"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		_, _ = w.Write(a.body)
	})
}
