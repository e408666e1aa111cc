package web_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"thinx/app"
)

// editForm is the device page's edit form as a browser sends it.
func editForm(changes map[string]string) url.Values {
	f := url.Values{"alias": {"Greenhouse west"}, "description": {"By the tomatoes"}, "category": {"#aa3300"},
		"icon": {"leaf"}, "tags": {"outdoor, south"}, "timezone_abbr": {"CET"}, "timezone_offset": {"1"},
		"lat": {"50.1"}, "lon": {"14.4"}, "auto_update": {"1"}}
	for k, v := range changes {
		if v == "" {
			f.Del(k)
		} else {
			f.Set(k, v)
		}
	}
	return f
}

func TestDevicePage(t *testing.T) {
	t.Parallel()
	f := newFleet(t)
	page := "/devices/" + f.cellar
	run(t, f.env, f.clients, []scenario{
		{name: "everything about the device", as: "ann", path: page, status: 200,
			want: []string{"Cellar pump", f.cellar, "5C:CF:7F:00:00:A2", "platformio:esp32", "thinx-lib-esp8266:3.0.270",
				"Low water #e", `<span class="badge error">error</span>`, "Run transformers now", `action="` + page + `/run"`,
				`type="color"`, `name="env.0.name"`, "Push configuration", "Revoke this device", `data-confirm="Revoke`,
				`<svg viewBox=`, "<title>", "Check-ins per hour", "RSSI", `href="/transformers"`}},
		{name: "upper-case UDID", as: "ann", path: "/devices/" + strings.ToUpper(f.cellar), status: 200, want: []string{"Cellar pump"}},
		{name: "malformed UDID", as: "ann", path: "/devices/not-a-udid", status: 404, want: []string{"Device not found."}},
		{name: "unknown UDID", as: "ann", path: "/devices/00000000-0000-4000-8000-000000000000", status: 404},
		{name: "bob's device", as: "ann", path: "/devices/" + f.bobDev, status: 404, forbid: []string{"Bobs hidden sensor", "Bob status"}},
		{name: "save", as: "ann", method: "POST", path: page, form: editForm(nil), status: 303, location: page},
		{name: "bad colour", as: "ann", method: "POST", path: page, form: editForm(map[string]string{"category": "red", "alias": "Typed name"}), status: 422,
			want: []string{"The category colour must look like #1a2b3c.", `value="Typed name"`}},
		{name: "unknown icon", as: "ann", method: "POST", path: page, form: editForm(map[string]string{"icon": "skull"}), status: 422, want: []string{"Choose one of the icons"}},
		{name: "latitude not a number", as: "ann", method: "POST", path: page, form: editForm(map[string]string{"lat": "north"}), status: 422, want: []string{"decimal degrees"}},
		{name: "latitude alone", as: "ann", method: "POST", path: page, form: editForm(map[string]string{"lon": ""}), status: 422, want: []string{"both latitude and longitude"}},
		{name: "latitude out of range", as: "ann", method: "POST", path: page, form: editForm(map[string]string{"lat": "91"}), status: 422, want: []string{"Latitude must be between"}},
		{name: "offset not a number", as: "ann", method: "POST", path: page, form: editForm(map[string]string{"timezone_offset": "one"}), status: 422},
		{name: "empty name", as: "ann", method: "POST", path: page, form: editForm(map[string]string{"alias": " "}), status: 422, want: []string{"must not be empty"}},
		{name: "bad tag", as: "ann", method: "POST", path: page, form: editForm(map[string]string{"tags": "two words"}), status: 422, want: []string{"Tag &#34;two words&#34;"}},
		{name: "save bob's device", as: "ann", method: "POST", path: "/devices/" + f.bobDev, form: editForm(nil), status: 404, forbid: []string{"Bobs hidden sensor"}},
		{name: "save a malformed UDID", as: "ann", method: "POST", path: "/devices/nope", form: editForm(nil), status: 404},
	})
	d := f.device(f.ann.ID, f.cellar)
	if d.Alias != "Greenhouse west" || d.Description != "By the tomatoes" || d.Category != "#aa3300" || d.Icon != "leaf" ||
		strings.Join(d.Tags, ",") != "outdoor,south" || !d.AutoUpdate || d.TimezoneAbbr != "CET" || d.TimezoneOffset != 1 || d.Lat != 50.1 || d.Lon != 14.4 {
		t.Errorf("saved device: %+v", d)
	}
	if b := f.device(f.bob.ID, f.bobDev); b.Alias != "Bobs hidden sensor" {
		t.Error("bob's device changed")
	}
	// Unticking means off; "no colour" clears the category.
	ann := f.clients["ann"]
	ann.post(page, editForm(map[string]string{"auto_update": "", "no_category": "1"}))
	if d := f.device(f.ann.ID, f.cellar); d.AutoUpdate || d.Category != "" {
		t.Errorf("unticked: auto %v, category %q", d.AutoUpdate, d.Category)
	}
	body := ann.get(page).body
	for _, want := range []string{"Greenhouse west", `value="outdoor, south"`, `value="50.1"`, "🌱"} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q after saving", want)
		}
	}
}

func TestDeviceEnvironment(t *testing.T) {
	t.Parallel()
	f := newFleet(t)
	ann, path := f.clients["ann"], "/devices/"+f.green+"/env"
	res := ann.post(path, url.Values{"env.0.name": {"WIFI_SSID"}, "env.0.value": {"garden"}, "env.1.name": {"WIFI_PASS"},
		"env.1.value": {"s3cret-value"}, "env.1.secret": {"1"}, "env.2.name": {""}, "env.2.value": {""}})
	if page := ann.follow(res); !strings.Contains(page.body, "Variables saved.") || strings.Contains(page.body, "s3cret-value") ||
		!strings.Contains(page.body, `value="garden"`) || !strings.Contains(page.body, "set — leave empty to keep") {
		t.Fatalf("after saving:\n%s", excerpt(page.body))
	}
	// Saving again without the secret's value keeps it; a removed row goes.
	ann.post(path, url.Values{"env.0.name": {"WIFI_SSID"}, "env.0.value": {"garden"}, "env.0.remove": {"1"},
		"env.1.name": {"WIFI_PASS"}, "env.1.value": {""}, "env.1.secret": {"1"}})
	env, err := f.db.DeviceEnv(context.Background(), f.green)
	if err != nil || len(env) != 1 || env[0].Name != "WIFI_PASS" || env[0].Value != "s3cret-value" || !env[0].Secret {
		t.Fatalf("stored env %+v %v", env, err)
	}
	for name, form := range map[string]url.Values{
		"bad name":                 {"env.0.name": {"1BAD"}, "env.0.value": {"x"}},
		"value without a name":     {"env.0.name": {""}, "env.0.value": {"x"}},
		"new secret without value": {"env.0.name": {"TOKEN"}, "env.0.secret": {"1"}},
		"twice":                    {"env.0.name": {"A"}, "env.1.name": {"A"}},
		"bad row number":           {"env.x.name": {"A"}},
	} {
		res := ann.post(path, form)
		if page := ann.follow(res); !strings.Contains(page.body, `class="flash error"`) {
			t.Errorf("%s: no error shown", name)
		}
	}
	if env2, _ := f.db.DeviceEnv(context.Background(), f.green); len(env2) != 1 || env2[0].Value != "s3cret-value" {
		t.Errorf("a refused form changed the environment: %+v", env2)
	}
	if res := ann.post("/devices/"+f.bobDev+"/env", url.Values{"env.0.name": {"X"}}); res.status != 404 {
		t.Errorf("bob's device env: %d", res.status)
	}
}

func TestDeviceConfigRunAndRevoke(t *testing.T) {
	t.Parallel()
	f := newFleet(t)
	ann, page := f.clients["ann"], "/devices/"+f.green
	if err := f.dev.SetOwnerEnv(context.Background(), f.ann.ID, []app.EnvVar{{Name: "MQTT_HOST", Value: "10.0.0.2"}}, ""); err != nil {
		t.Fatal(err)
	}
	res := ann.post(page+"/config", url.Values{"owner_env": {"MQTT_HOST"}, "values": {"LED=on\r\nINTERVAL=60\r\n"}})
	body := ann.follow(res).body
	for _, want := range []string{"Configuration queued until the device connects.", `<span class="badge info">pending</span>`, "INTERVAL, LED, MQTT_HOST", `value="MQTT_HOST"`} {
		if !strings.Contains(body, want) {
			t.Errorf("after a push the page lacks %q", want)
		}
	}
	for form, want := range map[string]string{
		"values=NOEQUALS":        "Line 1 of the values is not KEY=value.",
		"owner_env=MISSING":      "Not pushed: MISSING is not set in the owner environment.",
		"values=":                "Choose at least one variable to push.",
		"values=A%3D1%0AA%3D2":   "A is listed twice",
		"values=1BAD%3Dx":        "Variable name",
		"device_env=NOT_THERE_X": "NOT_THERE_X is not set in the device environment.",
	} {
		v, _ := url.ParseQuery(form)
		if got := ann.follow(ann.post(page+"/config", v)).body; !strings.Contains(got, want) {
			t.Errorf("push %s: page lacks %q", form, want)
		}
	}
	pushes := f.count(`SELECT COUNT(*) FROM config_pushes`)
	if res := ann.post("/devices/"+f.bobDev+"/config", url.Values{"values": {"A=1"}}); res.status != 404 {
		t.Errorf("push to bob's device: %d", res.status)
	}
	if f.count(`SELECT COUNT(*) FROM config_pushes`) != pushes || pushes != 1 {
		t.Errorf("config pushes: %d", pushes)
	}

	// Run the transformers again: the status is recomputed from the raw one.
	if res := ann.post(page+"/run", nil); res.status != 303 || !strings.Contains(ann.follow(res).body, "Transformers ran on the last status.") {
		t.Errorf("run: %d", res.status)
	}
	if res := ann.post("/devices/"+f.bobDev+"/run", nil); res.status != 404 {
		t.Errorf("run on bob's device: %d", res.status)
	}

	// Revoke.
	if res := ann.post("/devices/"+f.bobDev+"/delete", nil); res.status != 404 {
		t.Errorf("revoke bob's device: %d", res.status)
	}
	res = ann.post(page+"/delete", nil)
	if res.status != 303 || res.header.Get("Location") != "/devices" || !strings.Contains(ann.follow(res).body, "Device revoked") {
		t.Fatalf("revoke: %d", res.status)
	}
	if res := ann.get(page); res.status != 404 {
		t.Errorf("revoked device page: %d", res.status)
	}
	out, status := f.dev.RegisterJSON(context.Background(), f.annKey, "192.0.2.7",
		[]byte(`{"registration":{"mac":"5CCF7F0000A1","owner":"`+f.ann.ID+`","udid":"`+f.green+`"}}`))
	if status == 200 {
		t.Errorf("a revoked device checked in again: %s", out)
	}
	if f.device(f.bob.ID, f.bobDev) == nil {
		t.Error("bob lost his device")
	}
}
