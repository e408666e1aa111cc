// Package deviceapi serves the device-facing HTTP endpoints of the THiNX
// protocol: registration and check-in, firmware requests and push tokens.
// Replies are byte-for-byte what the existing device libraries parse: one
// line of JSON, with Content-Length, never chunked.
package deviceapi

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"thinx/app/devices"
)

// Recommended limits for the listeners that serve these endpoints. Devices
// send a few hundred bytes at once; anything slower or bigger is broken or
// hostile.
const (
	// MaxBodyBytes bounds a request body; more is 413.
	MaxBodyBytes = 16 << 10
	// ReadHeaderTimeout is the value to set on http.Server.ReadHeaderTimeout.
	ReadHeaderTimeout = 5 * time.Second
	// BodyTimeout is how long a handler waits for a whole body; the
	// handlers set it themselves with http.ResponseController, so it holds
	// even on a server without a ReadTimeout.
	BodyTimeout = 10 * time.Second
	// IdleTimeout is the value to set on http.Server.IdleTimeout.
	IdleTimeout = 60 * time.Second
)

// Handler serves the device endpoints.
type Handler struct {
	Devices *devices.Service
	Log     *slog.Logger

	// Firmware serves GET and POST /device/firmware once an update source
	// exists; nil answers that no update waits.
	Firmware http.Handler
	// ClientIP extracts the device's address; nil takes the connection's.
	ClientIP func(*http.Request) string

	MaxBody     int64
	BodyTimeout time.Duration
}

// New returns a handler with the recommended limits.
func New(svc *devices.Service, log *slog.Logger) *Handler {
	if log == nil {
		log = slog.Default()
	}
	return &Handler{Devices: svc, Log: log, MaxBody: MaxBodyBytes, BodyTimeout: BodyTimeout}
}

// Register mounts the endpoints on mux. Mount them on the plain HTTP and
// the HTTPS listener alike: the libraries use both.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST /device/register", h.deviceCall(h.Devices.RegisterJSON))
	mux.HandleFunc("POST /device/addpush", h.deviceCall(h.Devices.AddPushJSON))
	mux.HandleFunc("GET /device/firmware", h.firmwareGet)
	mux.HandleFunc("POST /device/firmware", h.firmwarePost)
}

// deviceMethod is the shape of every device method of the service.
type deviceMethod func(ctx context.Context, key, ip string, body []byte) ([]byte, int)

// deviceCall adapts a service method: read the body within limits, pass
// the key and address, write the reply.
func (h *Handler) deviceCall(fn deviceMethod) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, ok := h.readBody(w, r)
		if !ok {
			return
		}
		reply, status := fn(r.Context(), apiKey(r), h.clientIP(r), body)
		if status >= 500 {
			h.Log.Error("device request failed", "path", r.URL.Path, "status", status)
		}
		writeJSON(w, status, reply)
	}
}

// apiKey takes the key from "Authentication" (what the libraries send), or
// from "Authorization" with or without "Bearer".
func apiKey(r *http.Request) string {
	if k := strings.TrimSpace(r.Header.Get("Authentication")); k != "" {
		return k
	}
	a := strings.TrimSpace(r.Header.Get("Authorization"))
	if len(a) > 7 && strings.EqualFold(a[:7], "bearer ") {
		a = strings.TrimSpace(a[7:])
	}
	return a
}

func (h *Handler) clientIP(r *http.Request) string {
	if h.ClientIP != nil {
		return h.ClientIP(r)
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// readBody reads the whole body within MaxBody bytes and BodyTimeout. On
// failure it has answered already (413, 408 or 400).
func (h *Handler) readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	if r.ContentLength > h.MaxBody {
		writeJSON(w, http.StatusRequestEntityTooLarge, devices.ErrorReply(devices.RespTooLarge, ""))
		return nil, false
	}
	rc := http.NewResponseController(w)
	if err := rc.SetReadDeadline(time.Now().Add(h.BodyTimeout)); err != nil {
		h.Log.Warn("set body deadline", "err", err)
	}
	var buf bytes.Buffer
	if r.ContentLength > 0 {
		buf.Grow(int(r.ContentLength))
	}
	_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, h.MaxBody))
	_ = rc.SetReadDeadline(time.Time{})
	var tooBig *http.MaxBytesError
	switch {
	case err == nil:
		return buf.Bytes(), true
	case errors.As(err, &tooBig):
		writeJSON(w, http.StatusRequestEntityTooLarge, devices.ErrorReply(devices.RespTooLarge, ""))
	case errors.Is(err, os.ErrDeadlineExceeded):
		w.Header().Set("Connection", "close")
		writeJSON(w, http.StatusRequestTimeout, devices.ErrorReply(devices.RespTimeout, ""))
	case errors.Is(err, io.ErrUnexpectedEOF):
		writeJSON(w, http.StatusBadRequest, devices.ErrorReply(devices.RespInvalid, "the body ended early"))
	default:
		writeJSON(w, http.StatusBadRequest, devices.ErrorReply(devices.RespInvalid, "the body could not be read"))
	}
	return nil, false
}

// writeJSON sends a small reply with an exact Content-Length, so it goes
// out in one piece and never chunked.
func writeJSON(w http.ResponseWriter, status int, body []byte) {
	hdr := w.Header()
	hdr["Content-Type"] = []string{"application/json"}
	hdr["Content-Length"] = []string{strconv.Itoa(len(body))}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func (h *Handler) firmwareGet(w http.ResponseWriter, r *http.Request) {
	if h.Firmware != nil {
		h.Firmware.ServeHTTP(w, r)
		return
	}
	if r.URL.Query().Get("ott") == "" {
		writeJSON(w, http.StatusBadRequest, devices.ErrorReply("OTT_MISSING", ""))
		return
	}
	writeJSON(w, http.StatusForbidden, devices.ErrorReply("OTT_UPDATE_NOT_FOUND", ""))
}

func (h *Handler) firmwarePost(w http.ResponseWriter, r *http.Request) {
	if h.Firmware != nil {
		h.Firmware.ServeHTTP(w, r)
		return
	}
	h.deviceCall(h.Devices.FirmwareJSON)(w, r)
}
