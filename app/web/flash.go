package web

import (
	"encoding/base64"
	"net/http"
	"strings"
)

const respKey ctxKey = 100

// withResponse lets takeFlash clear the cookie it read.
func withResponse(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, withValue(r, respKey, w))
	})
}

func encodeFlash(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func cutFlash(v string) (kind, text string, ok bool) {
	kind, enc, found := strings.Cut(v, ":")
	if !found || (kind != "ok" && kind != "error" && kind != "info") {
		return "", "", false
	}
	b, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil || len(b) > 500 {
		return "", "", false
	}
	return kind, string(b), true
}
