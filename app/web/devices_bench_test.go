package web_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"thinx/app"
	"thinx/app/store"
)

// fillDevices gives an owner n devices of mixed names, platforms, states
// and tags, written in one transaction.
func fillDevices(b *testing.B, e *env, ownerID string, n int) {
	b.Helper()
	places := []string{"Greenhouse", "Cellar", "Garage", "Boiler", "Kitchen", "Attic", "Garden", "Pump", "Gate", "Beehive"}
	plats := []string{"platformio:esp8266", "platformio:esp32", "arduino:esp32", "micropython:esp32"}
	statuses := []string{"OK", "Battery 3.9V", "Battery 3.4V #w", "Sensor timeout #e", "Temp 21.5C"}
	err := e.db.Update(context.Background(), func(tx *store.Tx) error {
		for i := range n {
			st := statuses[i%len(statuses)]
			d := &app.Device{UDID: fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i), OwnerID: ownerID,
				MAC: fmt.Sprintf("5C:CF:7F:%02X:%02X:%02X", i>>16&255, i>>8&255, i&255), Alias: fmt.Sprintf("%s sensor %d", places[i%len(places)], i),
				Platform: plats[i%len(plats)], Firmware: "thinx-lib-esp8266:3.0.270", Version: "1.2.3", Status: st,
				Level: app.StatusLevel(st), RSSI: -40 - i%50, IP: "192.0.2.9", Tags: []string{"zone" + fmt.Sprint(i%20)},
				CreatedAt: t0.Add(-time.Duration(i) * time.Minute), UpdatedAt: t0, LastCheckin: t0.Add(-time.Duration(i) * time.Second), Checkins: 5}
			if err := tx.CreateDevice(d); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}

// timed runs one request per iteration through the whole handler chain
// and reports the 95th percentile of the server's time.
func timed(b *testing.B, e *env, path, cookie, want string) {
	b.Helper()
	b.ReportAllocs()
	var took []time.Duration
	for b.Loop() {
		rec := httptest.NewRecorder()
		req := get(path, cookie)()
		t := time.Now()
		e.srv.ServeHTTP(rec, req)
		took = append(took, time.Since(t))
		if rec.Code != 200 || !strings.Contains(rec.Body.String(), want) {
			b.Fatalf("GET %s: %d, body lacks %q", path, rec.Code, want)
		}
	}
	slices.Sort(took)
	p95 := took[len(took)*95/100]
	b.ReportMetric(float64(p95.Microseconds())/1000, "p95-ms")
	if p95 > 50*time.Millisecond {
		b.Errorf("GET %s: p95 %v exceeds the 50 ms budget", path, p95)
	}
}

// BenchmarkDeviceList is GET /devices for an owner with 10,000 devices
// (beside another owner's 10,000): the first page, searches, a filter, a
// deep page, the htmx table alone and the owner API.
func BenchmarkDeviceList(b *testing.B) {
	e := newEnv(b)
	o := e.owner("ann@example.com", false)
	other := e.owner("bob@example.com", false)
	fillDevices(b, e, o.ID, 10000)
	fillDevices(b, e, other.ID, 0)
	tok, _, err := e.auth.Login(context.Background(), o.Email, testPassword, "", "")
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct{ path, want string }{
		{"/devices", "1–50 of 10000"},
		{"/devices?q=sensor+4242", "Garage sensor 4242"},
		{"/devices?q=greenhouse", "of 1000"},
		{"/devices?status=error&sort=last_checkin", "of 2000"},
		{"/devices?tag=zone7&platform=esp32", "of 500"},
		{"/devices?page=150", "7451–7500 of 10000"},
		{"/api/v1/devices?q=sensor+4242", `"total":1`},
	} {
		b.Run(c.path, func(b *testing.B) { timed(b, e, c.path, tok, c.want) })
	}
	b.Run("baseline-query", func(b *testing.B) {
		for b.Loop() {
			if _, total, err := e.dev.List(context.Background(), o.ID, app.DeviceFilter{}); err != nil || total != 10000 {
				b.Fatal(total, err)
			}
		}
	})
}
