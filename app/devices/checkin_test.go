package devices_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"thinx/app"
	"thinx/app/devices"
	"thinx/app/store"
)

func TestMigratedUDIDCreatesDevice(t *testing.T) {
	e := newEnv(t)
	o := e.owner("migrant")
	const udid = "6f1c2b3a-1111-4222-8333-944455566677"
	r := e.checkin(o, o.Key, regBody(o, strings.ToUpper(udid), "moved here", `"alias":"boiler"`))
	if r.UDID != udid || r.Alias != "boiler" {
		t.Fatalf("reply %+v", r)
	}
	if _, err := e.svc.Get(context.Background(), o.ID, udid); err != nil {
		t.Fatal(err)
	}
}

func TestOtherOwnersUDIDIsRefused(t *testing.T) {
	e := newEnv(t)
	a, b := e.owner("a"), e.owner("b")
	rb := e.checkin(b, b.Key, regBody(b, "", "ok"))
	out, status := e.svc.RegisterJSON(context.Background(), a.Key, "198.51.100.7", regBody(a, rb.UDID, "hijack"))
	if status != 401 || string(out) != `{"success":false,"response":"authentication_error"}` {
		t.Fatalf("got %d %s", status, out)
	}
	d, err := e.svc.Get(context.Background(), b.ID, rb.UDID)
	if err != nil || d.Status != "ok" || d.Checkins != 1 {
		t.Fatalf("victim device changed: %+v %v", d, err)
	}
	if list, n, _ := e.svc.List(context.Background(), a.ID, app.DeviceFilter{}); n != 0 || len(list) != 0 {
		t.Fatalf("the attempt created a device for a: %d", n)
	}
	got, _, err := e.db.Audit(context.Background(), app.AuditFilter{OwnerID: b.ID, Kind: app.AuditDeviceForeign})
	if err != nil || len(got) != 1 || got[0].IP != "198.51.100.7" {
		t.Fatalf("audit in the device owner's log: %+v %v", got, err)
	}
}

func TestRevokedDeviceCannotReturn(t *testing.T) {
	e := newEnv(t)
	o := e.owner("o")
	r := e.checkin(o, o.Key, regBody(o, "", "ok"))
	var hooked []string
	e.svc.OnDeviceRevoked = func(owner, udid string) { hooked = append(hooked, owner+"/"+udid) }
	mustf(t, e.svc.Delete(context.Background(), o.ID, r.UDID, "127.0.0.1"), "delete")
	if len(hooked) != 1 || hooked[0] != o.ID+"/"+r.UDID {
		t.Fatalf("revocation hook: %v", hooked)
	}
	if _, status := e.svc.RegisterJSON(context.Background(), o.Key, "127.0.0.1", regBody(o, r.UDID, "back")); status != 401 {
		t.Fatalf("revoked UDID checked in: %d", status)
	}
	if _, err := e.svc.Get(context.Background(), o.ID, r.UDID); app.ErrorCode(err) != app.ENOTFOUND {
		t.Fatalf("revoked device still readable: %v", err)
	}
	// Without its UDID the same hardware registers as a new device.
	if r2 := e.checkin(o, o.Key, regBody(o, "", "reflashed")); r2.UDID == r.UDID {
		t.Fatal("new registration reused the revoked UDID")
	}
}

func TestHistoryTrimmedAndCountedDaily(t *testing.T) {
	e := newEnv(t)
	e.svc.CheckinsKept = 5
	o := e.owner("o")
	ctx := context.Background()
	a := e.checkin(o, o.Key, regBody(o, "", "boot")).UDID
	e.checkin(o, o.Key, regBody(o, "", "boot")) // a second device
	for i := 0; i < 19; i++ {
		status := "fine"
		if i == 3 || i == 4 {
			status = fmt.Sprintf("sensor lost #e %d", i) // two errors, one device-day
		}
		e.advance(time.Minute)
		e.checkin(o, o.Key, regBody(o, a, status))
	}
	hist, err := e.svc.Checkins(ctx, o.ID, a, 0)
	mustf(t, err, "checkins")
	if len(hist) != 5 || hist[0].Status != "fine" || !hist[0].At.Equal(e.clock()) {
		t.Fatalf("kept %d check-ins (want 5), newest %+v", len(hist), hist[0])
	}
	// The next day: a new version counts as an update.
	e.advance(24 * time.Hour)
	e.checkin(o, o.Key, regBody(o, a, "fine", `"version":"1.1.0"`))

	dash, err := e.svc.Dashboard(ctx, o.ID)
	mustf(t, err, "dashboard")
	y, today := dash.Days[len(dash.Days)-2], dash.Today
	if y.Checkins != 21 || y.NewDevices != 2 || y.Active != 2 || y.Errors != 1 || y.Updated != 0 {
		t.Errorf("yesterday %+v", y)
	}
	if today.Checkins != 1 || today.Active != 1 || today.NewDevices != 0 || today.Updated != 1 || today.Errors != 0 {
		t.Errorf("today %+v", today)
	}
	if len(dash.Days) != 30 || dash.Devices != 2 || len(dash.Recent) != 2 || dash.Recent[0].UDID != a {
		t.Errorf("dashboard %+v", dash)
	}
}

// statusTransformer stands in for the transformer engine, which is built
// and tested in its own package; here only the contract matters.
type statusTransformer struct{ fail bool }

func (s statusTransformer) Transform(_ context.Context, _, _ string, status string) (string, error) {
	if s.fail {
		return "", errors.New("script panicked")
	}
	return "Battery " + strings.TrimPrefix(status, "b=") + "V #w", nil
}

func TestTransformerOutputAndFailure(t *testing.T) {
	e := newEnv(t)
	o := e.owner("o")
	ctx := context.Background()
	e.svc.Transformer = statusTransformer{}
	udid := e.checkin(o, o.Key, regBody(o, "", "b=3.1")).UDID
	d, _ := e.svc.Get(ctx, o.ID, udid)
	if d.Status != "b=3.1" || d.StatusText != "Battery 3.1V #w" || d.Level != app.LevelWarning || d.StatusError != "" {
		t.Fatalf("transformed: %+v", d)
	}
	e.svc.Transformer = statusTransformer{fail: true}
	e.checkin(o, o.Key, regBody(o, udid, "b=2.9 #e"))
	d, _ = e.svc.Get(ctx, o.ID, udid)
	if d.Status != "b=2.9 #e" || d.StatusText != "b=2.9 #e" || d.Level != app.LevelError || d.StatusError != "script panicked" {
		t.Fatalf("after a failing transformer: %+v", d)
	}
}

// Many devices at once all land, through the group commit, and each gets
// its own UDID.
func TestConcurrentCheckinsAllCommitted(t *testing.T) {
	e := newEnv(t)
	o := e.owner("o")
	const n = 64
	var wg sync.WaitGroup
	udids := make(chan string, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, status := e.svc.RegisterJSON(context.Background(), o.Key, "127.0.0.1", regBody(o, "", "hello"))
			if status != 200 {
				t.Errorf("status %d %s", status, out)
				return
			}
			udids <- parseReply(t, out).UDID
		}()
	}
	wg.Wait()
	close(udids)
	seen := map[string]bool{}
	for u := range udids {
		seen[u] = true
	}
	_, total, err := e.svc.List(context.Background(), o.ID, app.DeviceFilter{})
	if err != nil || total != n || len(seen) != n {
		t.Fatalf("devices %d, distinct UDIDs %d, want %d (%v)", total, len(seen), n, err)
	}
	stats, _ := e.db.DailyStats(context.Background(), o.ID, store.Day(e.clock()), store.Day(e.clock()))
	if stats[0].Checkins != n || stats[0].NewDevices != n {
		t.Fatalf("counters %+v", stats[0])
	}
}

// Check-ins after Close are refused, never half-written.
func TestCheckinAfterCloseIsRefused(t *testing.T) {
	e := newEnv(t)
	o := e.owner("o")
	e.svc.Close()
	if out, status := e.svc.RegisterJSON(context.Background(), o.Key, "127.0.0.1", regBody(o, "", "late")); status != 503 {
		t.Fatalf("got %d %s", status, out)
	}
}

// A revoked key stops working at once when the revocation hook reaches
// the registry, and at once without the key cache.
func TestRevokedKeyStopsCheckins(t *testing.T) {
	for _, tc := range []struct {
		name   string
		ttl    time.Duration
		forget bool
	}{{"hook", time.Hour, true}, {"no cache", 0, false}} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.svc.KeyCacheTTL = tc.ttl
			o := e.owner("o")
			ctx := context.Background()
			if tc.forget {
				e.auth.OnKeyRevoked = e.svc.ForgetKey
			}
			udid := e.checkin(o, o.Key, regBody(o, "", "ok")).UDID
			keys, _ := e.auth.Keys(ctx, o.ID)
			mustf(t, e.auth.RevokeKey(ctx, o.ID, keys[0].ID, ""), "revoke")
			if out, status := e.svc.RegisterJSON(ctx, o.Key, "127.0.0.1", regBody(o, udid, "still here")); status != 401 {
				t.Fatalf("revoked key accepted: %d %s", status, out)
			}
		})
	}
}

// offers stands in for the update decision of the OTA feature, which is
// built elsewhere; here only the reply format matters.
type offers struct{ offer *devices.UpdateOffer }

func (o offers) Offer(context.Context, *app.Device) (*devices.UpdateOffer, error) {
	return o.offer, nil
}

func TestUpdateOfferReply(t *testing.T) {
	e := newEnv(t)
	o := e.owner("o")
	ott := strings.Repeat("ab", 32)
	e.svc.Updates = offers{&devices.UpdateOffer{OTT: ott, Version: "1.2.0"}}
	out, status := e.svc.RegisterJSON(context.Background(), o.Key, "", regBody(o, "", "ok"))
	want := `"status":"FIRMWARE_UPDATE","alias":`
	if status != 200 || !strings.Contains(string(out), want) || !strings.Contains(string(out), `"ott":"`+ott+`","version":"1.2.0","timestamp":`) ||
		strings.Contains(string(out), `"owner"`) || !strings.HasSuffix(string(out), "}}") || strings.Index(string(out), "}}") != len(out)-2 {
		t.Fatalf("reply %s", out)
	}
	// An offer that would not fit is dropped, not sent truncated.
	e.svc.Updates = offers{&devices.UpdateOffer{OTT: ott, Version: strings.Repeat("9", 400)}}
	if r := e.checkin(o, o.Key, regBody(o, "", "ok")); r.Status != "OK" {
		t.Fatalf("oversized offer sent: %+v", r)
	}
}
