package web

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"time"

	"thinx/app"
	"thinx/app/events"
	"thinx/views"
)

// Live updates of the device list.
const sseBuffer = 64 // events a slow tab may fall behind before it is dropped

// sseHeartbeat keeps idle streams open through proxies that close quiet
// connections (often after 30 or 60 seconds). Tests shorten it.
var sseHeartbeat = 25 * time.Second

// deviceEvents streams the owner's device changes as server-sent events:
// "device-<udid>" with the re-rendered table row as data, which htmx swaps
// in place.
func (s *Server) deviceEvents(w http.ResponseWriter, r *http.Request) {
	var buf bytes.Buffer
	s.stream(w, r, func(ev events.Event) (string, string, error) {
		d, isDevice := ev.Data.(*app.Device)
		if !isDevice || !app.IsUDID(ev.Subject) {
			return "", "", nil
		}
		buf.Reset()
		var err error
		if ev.Kind == "revoked" || d.OwnerID != owner(r).ID {
			err = views.DeviceGoneRow(ev.Subject).Render(r.Context(), &buf)
		} else {
			err = views.DeviceRowView(views.DeviceRow{D: d, Stale: s.Devices.Stale(d)}).Render(r.Context(), &buf)
		}
		return "device-" + ev.Subject, buf.String(), err
	})
}

// stream sends the owner's events as server-sent events, each turned into
// a named event by render (an empty name skips it). It ends when the
// browser goes away or the bus drops a subscriber that fell behind; the
// browser then reconnects.
func (s *Server) stream(w http.ResponseWriter, r *http.Request, render func(events.Event) (name, data string, err error)) {
	if s.Events == nil {
		s.error(w, r, app.Errorf(app.ENOTIMPLEMENTED, "Live updates are off."))
		return
	}
	rc := http.NewResponseController(w)
	// The listener's read and write timeouts are for ordinary requests;
	// this one lasts as long as the tab is open.
	_ = rc.SetReadDeadline(time.Time{})
	_ = rc.SetWriteDeadline(time.Time{})
	sub := s.Events.Subscribe(owner(r).ID, sseBuffer)
	defer sub.Close()

	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	// The retry hint and a first comment tell the browser it is connected.
	if _, err := fmt.Fprint(w, "retry: 3000\n: connected\n\n"); err != nil || rc.Flush() != nil {
		return
	}
	tick := time.NewTicker(sseHeartbeat)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-tick.C:
			if _, err := fmt.Fprint(w, ": ping\n\n"); err != nil || rc.Flush() != nil {
				return
			}
		case ev, ok := <-sub.C:
			if !ok {
				return // dropped as too slow
			}
			name, data, err := render(ev)
			if err != nil {
				s.Log.Error("render live event", "kind", ev.Kind, "err", err)
				return
			}
			if name == "" {
				continue
			}
			if writeEvent(w, name, data) != nil || rc.Flush() != nil {
				return
			}
		}
	}
}

// writeEvent writes one server-sent event; every line of data gets its own
// "data:" field, as the format requires.
func writeEvent(w http.ResponseWriter, name, data string) error {
	var b strings.Builder
	b.WriteString("event: " + name + "\n")
	for _, line := range strings.Split(strings.ReplaceAll(data, "\r", ""), "\n") {
		b.WriteString("data: " + line + "\n")
	}
	b.WriteString("\n")
	_, err := fmt.Fprint(w, b.String())
	return err
}
