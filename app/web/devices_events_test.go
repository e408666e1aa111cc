package web_test

import (
	"bufio"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"thinx/app"
	"thinx/app/events"
	"thinx/app/web"
)

// stream is an open event stream read line by line in the background.
type stream struct {
	res    *http.Response
	lines  chan string
	cancel context.CancelFunc
}

func (c *client) stream(t *testing.T, path string) *stream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", c.base+path, nil)
	res, err := c.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	s := &stream{res: res, lines: make(chan string, 1000), cancel: cancel}
	go func() {
		defer close(s.lines)
		sc := bufio.NewScanner(res.Body)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			s.lines <- sc.Text()
		}
	}()
	t.Cleanup(func() { cancel(); res.Body.Close() })
	return s
}

// event waits for the next event and returns its name and data.
func (s *stream) event(t *testing.T, wait time.Duration) (name, data string, ok bool) {
	t.Helper()
	timeout := time.After(wait)
	var lines []string
	for {
		select {
		case l, open := <-s.lines:
			if !open {
				return "", "", false
			}
			switch {
			case strings.HasPrefix(l, "event: "):
				name = strings.TrimPrefix(l, "event: ")
			case strings.HasPrefix(l, "data: "):
				lines = append(lines, strings.TrimPrefix(l, "data: "))
			case l == "" && name != "":
				return name, strings.Join(lines, "\n"), true
			}
		case <-timeout:
			return "", "", false
		}
	}
}

func TestDeviceEventsStreamRows(t *testing.T) {
	t.Parallel()
	f := newFleet(t)
	ann := f.clients["ann"].stream(t, "/devices/events")
	bob := f.clients["bob"].stream(t, "/devices/events")
	if ct := ann.res.Header.Get("Content-Type"); ann.res.StatusCode != 200 || ct != "text/event-stream" {
		t.Fatalf("stream: %d %q", ann.res.StatusCode, ct)
	}
	for _, s := range []*stream{ann, bob} {
		if l := <-s.lines; l != "retry: 3000" {
			t.Fatalf("first line %q", l)
		}
	}
	for f.bus.Subscribers(f.ann.ID) != 1 || f.bus.Subscribers(f.bob.ID) != 1 {
		time.Sleep(time.Millisecond)
	}

	// A check-in through the device endpoint's service re-renders the row.
	f.checkin(f.ann.ID, f.annKey, f.green, "Greenhouse", "Too hot 41C #w", "5CCF7F0000A1")
	name, data, ok := ann.event(t, 5*time.Second)
	if !ok || name != "device-"+f.green {
		t.Fatalf("event %q ok=%v", name, ok)
	}
	for _, want := range []string{`<tr id="device-` + f.green + `" sse-swap="device-` + f.green + `" hx-swap="outerHTML">`,
		`<span class="badge warning">warning</span>`, "Too hot 41C", `href="/devices/` + f.green + `"`, "Greenhouse"} {
		if !strings.Contains(data, want) {
			t.Errorf("row lacks %q:\n%s", want, data)
		}
	}
	if strings.Contains(data, "#w") {
		t.Error("the marker is in the row text")
	}
	// A status over MQTT and an edit in the console stream too.
	if err := f.dev.Status(context.Background(), f.ann.ID, f.cellar, "Tank full"); err != nil {
		t.Fatal(err)
	}
	if name, data, _ := ann.event(t, 5*time.Second); name != "device-"+f.cellar || !strings.Contains(data, "Tank full") {
		t.Errorf("status event %q: %s", name, data)
	}
	alias := "Renamed pump"
	if _, err := f.dev.Update(context.Background(), f.ann.ID, f.cellar, app.DeviceUpdate{Alias: &alias}, ""); err != nil {
		t.Fatal(err)
	}
	if _, data, _ := ann.event(t, 5*time.Second); !strings.Contains(data, "Renamed pump") {
		t.Errorf("edit event: %s", data)
	}
	// A revoked device's row says so and stops listening.
	if err := f.dev.Delete(context.Background(), f.ann.ID, f.garage, ""); err != nil {
		t.Fatal(err)
	}
	if name, data, _ := ann.event(t, 5*time.Second); name != "device-"+f.garage || !strings.Contains(data, "This device was removed.") || strings.Contains(data, "sse-swap") {
		t.Errorf("revoke event %q: %s", name, data)
	}
	// Bob heard none of it.
	if name, data, ok := bob.event(t, 300*time.Millisecond); ok {
		t.Errorf("bob got %q: %s", name, data)
	}

	// Closing the tab ends the subscription.
	ann.cancel()
	deadline := time.Now().Add(5 * time.Second)
	for f.bus.Subscribers(f.ann.ID) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the subscription outlived the request")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if res := f.client().get("/devices/events"); res.status != 303 {
		t.Errorf("visitor: %d", res.status)
	}
}

// TestDeviceEventsSlowTabIsDropped: a tab that falls behind is dropped by
// the bus, and its stream ends so the browser reconnects.
func TestDeviceEventsSlowTabIsDropped(t *testing.T) {
	t.Parallel()
	f := newFleet(t)
	s := f.clients["bob"].stream(t, "/devices/events")
	<-s.lines
	for f.bus.Subscribers(f.bob.ID) != 1 {
		time.Sleep(time.Millisecond)
	}
	d := f.device(f.bob.ID, f.bobDev)
	for range 20000 {
		f.bus.Publish(events.Event{OwnerID: f.bob.ID, Kind: "checkin", Subject: d.UDID, Data: d})
	}
	deadline := time.After(10 * time.Second)
	for {
		select {
		case _, open := <-s.lines:
			if !open {
				if f.bus.Subscribers(f.bob.ID) != 0 {
					t.Error("still subscribed")
				}
				return
			}
		case <-deadline:
			t.Fatal("the stream did not end after the subscriber was dropped")
		}
	}
}

// TestDeviceEventsHeartbeat: an idle stream gets a comment now and then,
// so proxies keep it open. Not parallel: it shortens a package setting.
func TestDeviceEventsHeartbeat(t *testing.T) {
	defer web.SetHeartbeat(20 * time.Millisecond)()
	f := newFleet(t)
	s := f.clients["ann"].stream(t, "/devices/events")
	pings := 0
	deadline := time.After(5 * time.Second)
	for pings < 3 {
		select {
		case l, open := <-s.lines:
			if !open {
				t.Fatal("the stream ended")
			}
			if l == ": ping" {
				pings++
			}
		case <-deadline:
			t.Fatalf("%d heartbeats in 5 s", pings)
		}
	}
}
