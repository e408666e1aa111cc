package devices_test

import (
	"context"
	"testing"
	"time"

	"thinx/app"
	"thinx/app/devices"
)

func ptr[T any](v T) *T { return &v }

func TestListFilters(t *testing.T) {
	e := newEnv(t)
	o, other := e.owner("o"), e.owner("other")
	ctx := context.Background()
	mk := func(alias, platform, status string) string {
		return e.checkin(o, o.Key, regBody(o, "", status, `"alias":"`+alias+`"`, `"platform":"`+platform+`"`)).UDID
	}
	boiler := mk("Boiler", "platformio:esp8266", "warm")
	fridge := mk("fridge", "arduino:esp32", "door open #w")
	door := mk("door", "platformio:esp8266", "jammed #e")
	e.checkin(other, other.Key, regBody(other, "", "x", `"alias":"Boiler twin"`))
	_, err := e.svc.Update(ctx, o.ID, fridge, app.DeviceUpdate{Tags: &[]string{"kitchen", "cold"}}, "")
	mustf(t, err, "tag")
	mustf(t, e.svc.SetOnline(ctx, o.ID, door, true), "online")
	e.advance(72 * time.Hour)
	e.checkin(o, o.Key, regBody(o, boiler, "warm")) // only the boiler is fresh

	for _, tc := range []struct {
		name string
		f    app.DeviceFilter
		want []string
	}{
		{"all by name", app.DeviceFilter{}, []string{boiler, door, fridge}},
		{"name descending", app.DeviceFilter{Sort: "-alias"}, []string{fridge, door, boiler}},
		{"latest check-in first", app.DeviceFilter{Sort: "last_checkin"}, []string{boiler}},
		{"search name", app.DeviceFilter{Search: "boil"}, []string{boiler}},
		{"search status", app.DeviceFilter{Search: "jammed"}, []string{door}},
		{"search like chars are literal", app.DeviceFilter{Search: "%"}, nil},
		{"tag", app.DeviceFilter{Tag: "kitchen"}, []string{fridge}},
		{"platform by mcu", app.DeviceFilter{Platform: "esp8266"}, []string{boiler, door}},
		{"platform by builder", app.DeviceFilter{Platform: "arduino"}, []string{fridge}},
		{"errors", app.DeviceFilter{Level: app.LevelError}, []string{door}},
		{"warnings", app.DeviceFilter{Level: app.LevelWarning}, []string{fridge}},
		{"online", app.DeviceFilter{Online: ptr(true)}, []string{door}},
		{"offline", app.DeviceFilter{Online: ptr(false)}, []string{boiler, fridge}},
		{"stale", app.DeviceFilter{Stale: true}, []string{door, fridge}},
		{"page 2 of 2", app.DeviceFilter{PerPage: 2, Page: 2}, []string{fridge}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			list, total, err := e.svc.List(ctx, o.ID, tc.f)
			mustf(t, err, "list")
			var got []string
			for _, d := range list {
				got = append(got, d.UDID)
			}
			if tc.name == "latest check-in first" {
				got = got[:1]
			} else if tc.f.PerPage == 0 && total != len(got) {
				t.Errorf("total %d for %d rows", total, len(got))
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("got %v, want %v", got, tc.want)
				}
			}
		})
	}
	dash, err := e.svc.Dashboard(ctx, o.ID)
	mustf(t, err, "dashboard")
	if dash.Devices != 3 || dash.Online != 1 || dash.Errors != 1 || dash.Warnings != 1 || dash.Stale != 2 {
		t.Errorf("dashboard counts %+v", dash)
	}
	if _, _, err := e.svc.List(ctx, o.ID, app.DeviceFilter{Sort: "owner_id; DROP TABLE devices"}); app.ErrorCode(err) != app.EINVALID {
		t.Fatalf("unknown sort: %v", err)
	}
	if _, _, err := e.svc.List(ctx, o.ID, app.DeviceFilter{Level: "panic"}); app.ErrorCode(err) != app.EINVALID {
		t.Fatalf("unknown level: %v", err)
	}
}

func TestUpdateAndEnvironmentSecrets(t *testing.T) {
	e := newEnv(t)
	o := e.owner("o")
	ctx := context.Background()
	udid := e.checkin(o, o.Key, regBody(o, "", "ok", `"alias":"first-name"`)).UDID
	u := app.DeviceUpdate{
		Alias: ptr("Hall light"), Description: ptr("above the door"), Category: ptr("#12ab34"), Icon: ptr("bulb"),
		AutoUpdate: ptr(true), TimezoneAbbr: ptr("CET"), TimezoneOffset: ptr(1.0), Lat: ptr(50.0), Lon: ptr(14.0),
		Env: &[]app.EnvVar{{Name: "THINX_ENV_SSID", Value: "home"}, {Name: "THINX_ENV_PASS", Value: "hunter22", Secret: true}},
	}
	_, err := e.svc.Update(ctx, o.ID, udid, u, "127.0.0.1")
	mustf(t, err, "update")
	d, err := e.svc.Get(ctx, o.ID, udid)
	mustf(t, err, "get")
	if d.Alias != "Hall light" || !d.AutoUpdate || d.Category != "#12ab34" || d.TimezoneOffset != 1 || d.Lat != 50 {
		t.Fatalf("device %+v", d)
	}
	if len(d.Env) != 2 || d.Env[0].Name != "THINX_ENV_PASS" || d.Env[0].Value != "" || !d.Env[0].Secret || d.Env[1].Value != "home" {
		t.Fatalf("env as shown %+v", d.Env)
	}
	// The device keeps the alias the owner chose.
	if r := e.checkin(o, o.Key, regBody(o, udid, "ok", `"alias":"device-name"`)); r.Alias != "Hall light" || !r.AutoUpdate {
		t.Fatalf("reply %+v", r)
	}
	// Saving the form again with the secret left blank keeps its value.
	_, err = e.svc.Update(ctx, o.ID, udid, app.DeviceUpdate{Env: &[]app.EnvVar{{Name: "THINX_ENV_PASS", Secret: true}}}, "")
	mustf(t, err, "update env")
	raw, _ := e.db.DeviceEnv(ctx, udid)
	if len(raw) != 1 || raw[0].Value != "hunter22" {
		t.Fatalf("stored env %+v", raw)
	}
	for name, bad := range map[string]app.DeviceUpdate{
		"empty alias":       {Alias: ptr(" ")},
		"alias with braces": {Alias: ptr("a}}b")},
		"bad colour":        {Category: ptr("red")},
		"bad latitude":      {Lat: ptr(91.0), Lon: ptr(0.0)},
		"bad env name":      {Env: &[]app.EnvVar{{Name: "1X", Value: "v"}}},
		"new secret blank":  {Env: &[]app.EnvVar{{Name: "TOKEN", Secret: true}}},
		"duplicate tag":     {Tags: &[]string{"a", "a"}},
	} {
		if _, err := e.svc.Update(ctx, o.ID, udid, bad, ""); app.ErrorCode(err) != app.EINVALID {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestOwnerEnvironment(t *testing.T) {
	e := newEnv(t)
	o := e.owner("o")
	ctx := context.Background()
	mustf(t, e.svc.SetOwnerEnv(ctx, o.ID, []app.EnvVar{{Name: "MQTT_HOST", Value: "h"}, {Name: "API_TOKEN", Value: "t0k", Secret: true}}, ""), "set")
	env, err := e.svc.OwnerEnv(ctx, o.ID)
	if err != nil || len(env) != 2 || env[0].Name != "API_TOKEN" || env[0].Value != "" || !env[0].Set {
		t.Fatalf("owner env %+v %v", env, err)
	}
	if err := e.svc.SetOwnerEnv(ctx, o.ID, []app.EnvVar{{Name: "bad-name", Value: "x"}}, ""); app.ErrorCode(err) != app.EINVALID {
		t.Fatalf("bad name: %v", err)
	}
}

// A restart finds no device online: the broker has no sessions yet.
func TestStartResetsOnline(t *testing.T) {
	e := newEnv(t)
	o := e.owner("o")
	ctx := context.Background()
	udid := e.checkin(o, o.Key, regBody(o, "", "ok")).UDID
	mustf(t, e.svc.SetOnline(ctx, o.ID, udid, true), "online")
	e.svc.Close()
	again := devices.New(e.db, e.auth, e.bus, nil)
	mustf(t, again.Start(), "start")
	defer again.Close()
	if d, _ := again.Get(ctx, o.ID, udid); d.Online {
		t.Fatal("device still online after a restart")
	}
}
