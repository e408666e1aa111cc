package web

import (
	_ "embed"
	"net/http"

	"thinx/views"
)

// openAPISpec describes the owner API; it is served as written.
//
//go:embed api_openapi.yaml
var openAPISpec []byte

// openAPI serves the API description. It holds nothing secret, so scripts
// and tools may fetch it without credentials.
func (s *Server) openAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/yaml; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(openAPISpec)
}

// apiPage explains the owner API and links its description.
func (s *Server) apiPage(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, views.APIView(views.APIPage{Page: s.page(r, "", "Owner API"), Base: s.baseURL(r)}))
}
