package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"thinx/app"
)

// featurePages are sections whose feature serves a real page, so they no
// longer show the "nothing here yet" text.
var featurePages = map[string]bool{"/": true, "/devices": true, "/environment": true, "/transformers": true}

// adminDevices are the things of the admin that other owners reach for in
// the route-walking tests: two devices, a mesh, a transfer to bob that is
// still open and a question one device asks.
type adminDevices struct {
	udid, udid2  string
	alias        string
	mesh         string
	transfer     string
	notification string
}

func newAdminDevices(t testing.TB, e *env, admin *app.Owner, key, bobEmail string) adminDevices {
	t.Helper()
	ctx := context.Background()
	a := adminDevices{alias: "Admin boiler"}
	a.udid = e.checkin(admin.ID, key, "", a.alias, "Pressure low #w", "5CCF7F000001")
	a.udid2 = e.checkin(admin.ID, key, "", "Admin gate", "OK", "5CCF7F000002")
	m, err := e.dev.CreateMesh(ctx, admin.ID, "", "Admin mesh", "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	a.mesh = m.ID
	if err := e.dev.AttachMesh(ctx, admin.ID, m.ID, []string{a.udid}, "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	tr, err := e.dev.RequestTransfer(ctx, admin.ID, bobEmail, []string{a.udid2}, false, "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	a.transfer = tr.ID
	if err := e.dev.Notification(ctx, admin.ID, a.udid, app.Notification{Title: "Open the valve?", ResponseType: "bool"}); err != nil {
		t.Fatal(err)
	}
	ns, err := e.dev.Notifications(ctx, admin.ID, true)
	if err != nil || len(ns) != 1 {
		t.Fatalf("notifications: %v %v", ns, err)
	}
	a.notification = fmt.Sprint(ns[0].ID)
	return a
}

// checkin registers a device the way the ESP8266 library does, through the
// registry's check-in, and returns its UDID. udid "" registers a new one.
// extra fields ("platform":"…") override the defaults.
func (e *env) checkin(ownerID, key, udid, alias, status, mac string, extra ...string) string {
	e.t.Helper()
	fields := []string{`"mac":"` + mac + `"`, `"firmware":"thinx-lib-esp8266:3.0.270"`, `"version":"1.0.0"`,
		`"owner":"` + ownerID + `"`, `"alias":"` + alias + `"`, `"status":"` + status + `"`, `"rssi":"-61"`}
	if !strings.Contains(strings.Join(extra, ","), `"platform"`) {
		fields = append(fields, `"platform":"platformio:esp8266"`)
	}
	fields = append(fields, extra...)
	if udid != "" {
		fields = append(fields, `"udid":"`+udid+`"`)
	}
	body := []byte(`{"registration":{` + strings.Join(fields, ",") + `}}`)
	out, status2 := e.dev.RegisterJSON(context.Background(), key, "192.0.2.7", body)
	if status2 != 200 {
		e.t.Fatalf("check-in: %d %s", status2, out)
	}
	var r struct{ Registration struct{ UDID string } }
	if err := json.Unmarshal(out, &r); err != nil || !app.IsUDID(r.Registration.UDID) {
		e.t.Fatalf("check-in reply %s: %v", out, err)
	}
	return r.Registration.UDID
}

// ownerWithKey adds an owner and an API key, returning the key.
func (e *env) ownerWithKey(email string) (*app.Owner, string) {
	e.t.Helper()
	o := e.owner(email, false)
	key, _, err := e.auth.CreateKey(context.Background(), o.ID, "devices", "192.0.2.1")
	if err != nil {
		e.t.Fatal(err)
	}
	return o, key
}

// fleet is a console where ann has devices of several kinds and bob has
// one of his own that must never show up on her pages.
type fleet struct {
	*env
	ann, bob       *app.Owner
	annKey, bobKey string
	green, cellar  string // UDIDs: a healthy device and one in error
	garage         string // a warning, on esp32
	bobDev         string
	clients        map[string]*client
}

func newFleet(t *testing.T) *fleet {
	t.Helper()
	e := newEnv(t)
	f := &fleet{env: e}
	f.ann, f.annKey = e.ownerWithKey("ann@example.com")
	f.bob, f.bobKey = e.ownerWithKey("bob@example.com")
	f.green = e.checkin(f.ann.ID, f.annKey, "", "Greenhouse", "Temp 21C", "5CCF7F0000A1")
	f.cellar = e.checkin(f.ann.ID, f.annKey, "", "Cellar pump", "Low water #e", "5CCF7F0000A2", `"platform":"platformio:esp32"`)
	f.garage = e.checkin(f.ann.ID, f.annKey, "", "Garage door", "Door open #w", "5CCF7F0000A3", `"platform":"arduino:esp32"`)
	f.bobDev = e.checkin(f.bob.ID, f.bobKey, "", "Bobs hidden sensor", "Bob status 42", "5CCF7F0000B1")
	tags := []string{"outdoor", "north"}
	if _, err := e.dev.Update(context.Background(), f.ann.ID, f.green, app.DeviceUpdate{Tags: &tags}, ""); err != nil {
		t.Fatal(err)
	}
	f.clients = map[string]*client{"ann": e.login(f.ann.Email), "bob": e.login(f.bob.Email)}
	return f
}

// device reads a device as the registry has it now.
func (f *fleet) device(owner, udid string) *app.Device {
	f.t.Helper()
	d, err := f.dev.Get(context.Background(), owner, udid)
	if err != nil {
		f.t.Fatalf("device %s: %v", udid, err)
	}
	return d
}

// follow GETs the Location of a redirect, where the flash message shows.
func (c *client) follow(r *resp) *resp {
	c.t.Helper()
	loc := r.header.Get("Location")
	if r.status/100 != 3 || loc == "" {
		c.t.Fatalf("not a redirect: %d\n%s", r.status, excerpt(r.body))
	}
	return c.get(loc)
}
