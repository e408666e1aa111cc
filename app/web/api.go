package web

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"thinx/views"
)

// maxAPIBody bounds every owner API request body.
const maxAPIBody = 64 << 10

// apiAuth lets a script in with an API key (a bearer token with the owner
// ID in X-Thinx-Owner, or HTTP Basic with the owner ID as user name and
// the key as password), and a browser with its console session. A body
// announced as too large is refused before anything else.
func (s *Server) apiAuth(next http.HandlerFunc) http.HandlerFunc {
	session := s.requireOwner(next)
	return func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > maxAPIBody {
			s.renderError(w, r, http.StatusRequestEntityTooLarge, fmt.Sprintf("The body is larger than %d KB.", maxAPIBody>>10))
			return
		}
		if r.Header.Get("Authorization") == "" {
			session(w, r)
			return
		}
		ownerID, key, ok := apiCredentials(r)
		if !ok {
			s.renderError(w, r, http.StatusUnauthorized, "Send Authorization: Bearer <API key> with X-Thinx-Owner: <owner ID>, or HTTP Basic with the owner ID and an API key.")
			return
		}
		if _, err := s.Auth.CheckKey(r.Context(), ownerID, key, s.clientIP(r)); err != nil {
			s.error(w, r, err)
			return
		}
		o, err := s.DB.Owner(r.Context(), ownerID)
		if err != nil || o.Disabled {
			s.renderError(w, r, http.StatusUnauthorized, "authentication_error")
			return
		}
		next(w, withValue(r, ownerKey, o))
	}
}

// apiCredentials reads the owner ID and key of either form.
func apiCredentials(r *http.Request) (ownerID, key string, ok bool) {
	if u, p, basic := r.BasicAuth(); basic {
		return strings.ToLower(strings.TrimSpace(u)), p, u != "" && p != ""
	}
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		ownerID = strings.ToLower(strings.TrimSpace(r.Header.Get("X-Thinx-Owner")))
		key = strings.TrimSpace(h[7:])
		return ownerID, key, ownerID != "" && key != ""
	}
	return "", "", false
}

// apiError is a JSON error with a status of its own, for mistakes in the
// request that no service saw.
type apiError struct {
	status int
	msg    string
}

func (e *apiError) Error() string { return e.msg }

// readJSON decodes a JSON body of at most maxAPIBody into v, refusing
// unknown fields, wrong types, trailing data and other content types.
func readJSON(w http.ResponseWriter, r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, _ := mime.ParseMediaType(ct); mt != "application/json" {
			return &apiError{http.StatusUnsupportedMediaType, "Send the body as Content-Type: application/json."}
		}
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxAPIBody))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return &apiError{http.StatusRequestEntityTooLarge, fmt.Sprintf("The body is larger than %d KB.", maxAPIBody>>10)}
	} else if err != nil {
		return &apiError{http.StatusBadRequest, "The body could not be read."}
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return &apiError{http.StatusBadRequest, "The body is empty; send a JSON object."}
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return &apiError{http.StatusBadRequest, jsonProblem(err)}
	}
	if dec.More() {
		return &apiError{http.StatusBadRequest, "The body holds more than one JSON value."}
	}
	return nil
}

// jsonProblem says what is wrong with a body in words a script author
// can act on.
func jsonProblem(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("The body is not valid JSON (at byte %d).", syn.Offset)
	case errors.As(err, &typ) && typ.Field != "":
		return fmt.Sprintf("Field %q must be %s, not %s.", typ.Field, jsonKind(typ.Type.Kind().String()), typ.Value)
	case errors.As(err, &typ):
		return fmt.Sprintf("The body must be a JSON object, not %s.", typ.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return "Unknown field " + strings.TrimPrefix(err.Error(), "json: unknown field ") + "."
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "The body is not valid JSON (it ends too early)."
	}
	return "The body is not valid JSON."
}

func jsonKind(k string) string {
	switch k {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "slice":
		return "an array"
	case "map", "struct":
		return "an object"
	case "ptr":
		return "a value of another type"
	}
	return "a number"
}

// apiFail writes an error of either kind as JSON.
func (s *Server) apiFail(w http.ResponseWriter, r *http.Request, err error) {
	var ae *apiError
	if errors.As(err, &ae) {
		s.renderError(w, r, ae.status, ae.msg)
		return
	}
	s.error(w, r, err)
}

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
