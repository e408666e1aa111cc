package devices_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"thinx/app"
	"thinx/app/store"
)

// seedDevices inserts n devices for an owner straight through the store:
// varied names, platforms, statuses, tags and check-in times, about 1 in
// 100 named "kitchen …".
func seedDevices(tb testing.TB, e *env, ownerID string, n int) {
	tb.Helper()
	platforms := []string{"platformio:esp8266", "arduino:esp32", "micropython", "nodemcu"}
	statuses := []string{"Running", "Battery 3.1V #w", "Sensor lost #e", "OK"}
	now := e.clock()
	err := e.db.Update(context.Background(), func(tx *store.Tx) error {
		for i := 0; i < n; i++ {
			alias := fmt.Sprintf("device-%05d", i)
			if i%100 == 7 {
				alias = fmt.Sprintf("kitchen sensor %d", i)
			}
			st := statuses[i%len(statuses)]
			d := &app.Device{UDID: fmt.Sprintf("%08x-%s-4000-8000-%012x", i, ownerID[:4], i), OwnerID: ownerID, Alias: alias,
				MAC: fmt.Sprintf("5C:CF:7F:%02X:%02X:%02X", i>>16&0xff, i>>8&0xff, i&0xff), Platform: platforms[i%len(platforms)],
				Firmware: "thinx-lib-esp8266:3.0.270", Version: "1.0.0", Status: st, StatusText: st, Level: app.StatusLevel(st),
				Tags: []string{fmt.Sprintf("floor-%d", i%10)}, CreatedAt: now, UpdatedAt: now,
				LastCheckin: now.Add(-time.Duration(i%5000) * time.Minute), Checkins: 10}
			if err := tx.CreateDevice(d); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
}

// Device list pages with 10,000 devices for the owner (and as many for
// another owner in the same database); reports p95 per query in ms.
//
//	go test ./app/devices -run '^$' -bench DeviceList
func BenchmarkDeviceList(b *testing.B) {
	e := newEnv(b)
	o, other := e.owner("big"), e.owner("neighbour")
	seedDevices(b, e, o.ID, 10000)
	seedDevices(b, e, other.ID, 10000)
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		f    app.DeviceFilter
	}{
		{"first-page", app.DeviceFilter{}},
		{"search", app.DeviceFilter{Search: "kitchen"}},
		{"search-miss", app.DeviceFilter{Search: "no such device"}},
		{"tag", app.DeviceFilter{Tag: "floor-3"}},
		{"errors", app.DeviceFilter{Level: app.LevelError}},
		{"stale", app.DeviceFilter{Stale: true}},
		{"by-last-checkin", app.DeviceFilter{Sort: "last_checkin"}},
		{"page-100", app.DeviceFilter{Page: 100, PerPage: 50}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			lat := make([]time.Duration, 0, b.N)
			for i := 0; i < b.N; i++ {
				t0 := time.Now()
				list, total, err := e.svc.List(ctx, o.ID, tc.f)
				lat = append(lat, time.Since(t0))
				if err != nil || (total > 0 && len(list) == 0) {
					b.Fatalf("%v, %d rows of %d", err, len(list), total)
				}
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)*95/100])/1e6, "p95-ms")
		})
	}
	b.Run("dashboard", func(b *testing.B) {
		lat := make([]time.Duration, 0, b.N)
		for i := 0; i < b.N; i++ {
			t0 := time.Now()
			if _, err := e.svc.Dashboard(ctx, o.ID); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(t0))
		}
		slices.Sort(lat)
		b.ReportMetric(float64(lat[len(lat)*95/100])/1e6, "p95-ms")
	})
}
