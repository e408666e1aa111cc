package web_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
)

// ids are the values a device route's wildcards and forms take.
type ids struct{ udid, mesh, transfer, notification, transformer string }

func randomIDs() ids {
	b := make([]byte, 16)
	rand.Read(b)
	h := hex.EncodeToString(b)
	return ids{udid: h[:8] + "-" + h[8:12] + "-4" + h[13:16] + "-8" + h[17:20] + "-" + h[20:32], mesh: "mesh-" + h[:10], transfer: h, notification: "987654", transformer: h[16:]}
}

// deviceRoutes are the routes of the device pages, transformers and MQTT:
// everything that names an owner's device or a thing attached to one.
func deviceRoutes(t *testing.T) []route {
	var src strings.Builder
	for _, f := range []string{"devices_routes.go", "transformers.go", "mqtt.go"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		src.Write(b)
	}
	var out []route
	for _, r := range routesFromSource(t) {
		if strings.Contains(src.String(), `"`+r.method+" "+r.pattern+`"`) {
			out = append(out, r)
		}
	}
	if len(out) < 25 {
		t.Fatalf("found %d device routes", len(out))
	}
	return out
}

// request builds the request a second owner sends to a route, aimed at
// the things named in x: wildcards, form fields and a JSON body.
func (x ids) request(r route) (path, body string, hdr map[string]string) {
	path = r.path(map[string]string{"udid": x.udid, "mesh": x.mesh, "transfer": x.transfer, "notification": x.notification, "transformer": x.transformer})
	if r.method == "GET" {
		return path + "?mesh=" + x.mesh + "&q=" + x.udid, "", nil
	}
	if strings.HasPrefix(r.pattern, "/api/") {
		body = `{"alias":"planted"}`
		if strings.HasSuffix(r.pattern, "/configuration") {
			body = `{"values":{"PLANTED":"1"}}`
		}
		return path, body, map[string]string{"Content-Type": "application/json"}
	}
	form := url.Values{"udid": {x.udid}, "mesh": {x.mesh}, "alias": {"planted " + x.mesh}, "tags": {"planted"}, "action": {"tags"},
		"values": {"PLANTED=1"}, "env.0.name": {"PLANTED"}, "env.0.value": {"x"}, "all": {"1"}, "response": {"yes"},
		"confirm": {"1"}, "back": {"/devices"}, "email": {"bob@example.com"},
		"source": {"package transformer"}, "name": {"planted"}, "url": {"tcp://192.0.2.9:1883"}}
	return path, form.Encode(), map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
}

// adminState is everything of the admin's that a route could change.
func adminState(t *testing.T, w *world) string {
	ctx := context.Background()
	var b strings.Builder
	for _, u := range []string{w.adminDevs.udid, w.adminDevs.udid2} {
		d, err := w.dev.Get(ctx, w.admin.ID, u)
		if err != nil {
			t.Fatalf("admin device %s: %v", u, err)
		}
		p, _ := w.dev.ConfigPushes(ctx, w.admin.ID, u)
		fmt.Fprintf(&b, "%+v %d\n", *d, len(p))
	}
	ms, _ := w.dev.Meshes(ctx, w.admin.ID)
	ts, _ := w.dev.Transfers(ctx, w.admin.ID)
	ns, _ := w.dev.Notifications(ctx, w.admin.ID, false)
	env, _ := w.dev.OwnerEnv(ctx, w.admin.ID)
	trs, _ := w.db.Transformers(ctx, w.admin.ID)
	chain, _ := w.db.DeviceTransformers(ctx, w.admin.ID, w.adminDevs.udid)
	for _, v := range []any{ms, ts, ns, env, trs, chain} {
		fmt.Fprintf(&b, "%s\n", mustJSON(v))
	}
	return b.String()
}

// TestDeviceRoutesRefuseAnotherOwner walks every device, dashboard,
// environment and API route as ann, aimed at the admin's devices, mesh,
// transfer and question: with her session and with her API key. Routes
// that name the thing in their path refuse with 403 or 404; every answer
// is the same, byte for byte, as for IDs that never existed, so it tells
// nothing; and the admin's things are unchanged.
func TestDeviceRoutesRefuseAnotherOwner(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	annKey, _, err := w.auth.CreateKey(context.Background(), w.ann.ID, "walk", "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	real := ids{w.adminDevs.udid, w.adminDevs.mesh, w.adminDevs.transfer, w.adminDevs.notification, w.transformer}
	secrets := []string{"Admin boiler", "Admin gate", "Admin mesh", "Open the valve?", "Pressure low", "Admin battery", w.adminDevs.udid2, w.admin.Email}
	before := adminState(t, w)
	walked := 0
	for _, r := range deviceRoutes(t) {
		ways := map[string]map[string]string{"session": nil}
		if strings.HasPrefix(r.pattern, "/api/v1/") {
			ways["key"] = map[string]string{"Authorization": "Bearer " + annKey, "X-Thinx-Owner": w.ann.ID}
		}
		for way, auth := range ways {
			answer := func(x ids) *resp {
				path, body, hdr := x.request(r)
				if hdr == nil {
					hdr = map[string]string{}
				}
				for k, v := range auth {
					hdr[k] = v
				}
				c := w.clients["ann"]
				if auth != nil {
					c = w.client()
				}
				// A message left by the previous answer would show on
				// the next page only.
				u, _ := url.Parse(w.ts.URL)
				c.hc.Jar.SetCookies(u, []*http.Cookie{{Name: "thinx_flash", Value: "", Path: "/", MaxAge: -1}})
				return c.do(r.method, path, strings.NewReader(body), hdr)
			}
			got, fake := answer(real), randomIDs()
			want := answer(fake)
			name := r.method + " " + r.pattern + " (" + way + ")"
			walked++
			if strings.ContainsAny(r.pattern, "{") && r.pattern != "/{$}" && got.status != 403 && got.status != 404 {
				t.Errorf("%s: %d, want 403 or 404", name, got.status)
			}
			if got.status != want.status || got.header.Get("Location") != want.header.Get("Location") {
				t.Errorf("%s: %d %q for the admin's IDs, %d %q for unknown ones", name, got.status, got.header.Get("Location"), want.status, want.header.Get("Location"))
			}
			swap := strings.NewReplacer(fake.udid, real.udid, fake.mesh, real.mesh, fake.transfer, real.transfer, fake.notification, real.notification,
				fake.transformer, real.transformer)
			if swap.Replace(want.body) != got.body {
				t.Errorf("%s: the answer differs from the one for unknown IDs:\n%s\n---\n%s", name, excerpt(got.body), excerpt(want.body))
			}
			if flash(got) != swap.Replace(flash(want)) {
				t.Errorf("%s: message %q, for unknown IDs %q", name, flash(got), flash(want))
			}
			for _, s := range secrets {
				if strings.Contains(got.body, s) || strings.Contains(flash(got), s) {
					t.Errorf("%s: leaks %q", name, s)
				}
			}
		}
	}
	if walked < 30 {
		t.Errorf("walked %d requests", walked)
	}
	if after := adminState(t, w); after != before {
		t.Errorf("the admin's devices changed:\n%s\n---\n%s", before, after)
	}
}

// flash is the message a redirect carries in its cookie.
func flash(r *resp) string {
	c := r.cookie("thinx_flash")
	if c == nil {
		return ""
	}
	_, enc, _ := strings.Cut(c.Value, ":")
	b, _ := decodeFlash(enc)
	return string(b)
}

func decodeFlash(s string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(s) }

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
