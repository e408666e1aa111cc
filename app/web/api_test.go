package web_test

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
)

func TestOwnerAPI(t *testing.T) {
	t.Parallel()
	f := newFleet(t)
	bearer := map[string]string{"Authorization": "Bearer " + f.annKey, "X-Thinx-Owner": f.ann.ID}
	basic := map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte(f.ann.ID+":"+f.annKey))}
	jsonH := func(h map[string]string) map[string]string {
		out := map[string]string{"Content-Type": "application/json"}
		for k, v := range h {
			out[k] = v
		}
		return out
	}
	dev := "/api/v1/devices/" + f.green
	fail := `"success":false`
	run(t, f.env, f.clients, []scenario{
		{name: "list with a bearer key", path: "/api/v1/devices", header: bearer, status: 200,
			want: []string{`"success":true`, `"total":3`, `"alias":"Greenhouse"`, `"status":"Low water #e"`, `"level":"error"`, `"per_page":50`}, forbid: []string{"Bobs hidden sensor", "key_hash"}},
		{name: "list with HTTP Basic", path: "/api/v1/devices?status=error", header: basic, status: 200, want: []string{`"total":1`, "Cellar pump"}, forbid: []string{"Greenhouse"}},
		{name: "list with the console session", as: "ann", path: "/api/v1/devices?q=garage", status: 200, want: []string{`"total":1`, "Garage door"}},
		{name: "paging", path: "/api/v1/devices?per_page=1&page=3&sort=-alias", header: bearer, status: 200, want: []string{`"total":3`, `"page":3`, "Cellar pump"}, forbid: []string{"Greenhouse"}},
		{name: "empty page is an empty array", path: "/api/v1/devices?page=9", header: bearer, status: 200, want: []string{`"devices":[]`}},
		{name: "bad filter", path: "/api/v1/devices?online=perhaps", header: bearer, status: 422, want: []string{fail, "online must be yes or no"}},
		{name: "one device", path: dev, header: bearer, status: 200, want: []string{`"udid":"` + f.green + `"`, `"tags":["outdoor","north"]`}},
		{name: "no credentials", path: "/api/v1/devices", status: 401, want: []string{fail}},
		{name: "wrong key", path: "/api/v1/devices", header: map[string]string{"Authorization": "Bearer " + strings.Repeat("0", 64), "X-Thinx-Owner": f.ann.ID}, status: 401, want: []string{fail, "authentication_error"}},
		{name: "bob's key with ann's ID", path: "/api/v1/devices", header: map[string]string{"Authorization": "Bearer " + f.bobKey, "X-Thinx-Owner": f.ann.ID}, status: 401},
		{name: "bearer without owner", path: "/api/v1/devices", header: map[string]string{"Authorization": "Bearer " + f.annKey}, status: 401, want: []string{"X-Thinx-Owner"}},
		{name: "unknown scheme", path: "/api/v1/devices", header: map[string]string{"Authorization": "Token " + f.annKey}, status: 401},
		{name: "bad UDID", path: "/api/v1/devices/nope", header: bearer, status: 404, want: []string{fail, "Device not found."}},
		{name: "bob's device", path: "/api/v1/devices/" + f.bobDev, header: bearer, status: 404, forbid: []string{"Bobs hidden sensor"}},

		{name: "patch", method: "PATCH", path: dev, header: jsonH(bearer), status: 200,
			body: `{"alias":"Glasshouse","tags":["a","b"],"auto_update":true,"lat":49.5,"lon":17.25,"timezone_offset":-5.5,"env":[{"name":"PIN","value":"4"}]}`,
			want: []string{`"success":true`, `"alias":"Glasshouse"`, `"auto_update":true`, `"lat":49.5`}},
		{name: "patch malformed JSON", method: "PATCH", path: dev, header: jsonH(bearer), body: `{"alias":`, status: 400, want: []string{fail, "not valid JSON"}},
		{name: "patch wrong type", method: "PATCH", path: dev, header: jsonH(bearer), body: `{"alias":42}`, status: 400, want: []string{`Field \"alias\" must be a string, not number.`}},
		{name: "patch wrong type in a list", method: "PATCH", path: dev, header: jsonH(bearer), body: `{"tags":"a,b"}`, status: 400, want: []string{`\"tags\" must be an array`}},
		{name: "patch boolean as string", method: "PATCH", path: dev, header: jsonH(bearer), body: `{"auto_update":"yes"}`, status: 400, want: []string{"true or false"}},
		{name: "patch unknown field", method: "PATCH", path: dev, header: jsonH(bearer), body: `{"alias":"x","owner":"someone"}`, status: 400, want: []string{`Unknown field \"owner\".`}},
		{name: "patch an array", method: "PATCH", path: dev, header: jsonH(bearer), body: `[1]`, status: 400, want: []string{"must be a JSON object"}},
		{name: "patch two values", method: "PATCH", path: dev, header: jsonH(bearer), body: `{} {}`, status: 400, want: []string{"more than one JSON value"}},
		{name: "patch empty", method: "PATCH", path: dev, header: jsonH(bearer), body: ` `, status: 400, want: []string{"empty"}},
		{name: "patch as a form", method: "PATCH", path: dev, header: bearer, body: `alias=x`, status: 415, want: []string{"application/json"}},
		{name: "patch invalid value", method: "PATCH", path: dev, header: jsonH(bearer), body: `{"category":"blue"}`, status: 422, want: []string{"colour"}},
		{name: "patch lat alone", method: "PATCH", path: dev, header: jsonH(bearer), body: `{"lat":1}`, status: 422, want: []string{"lat and lon together"}},
		{name: "patch oversized", method: "PATCH", path: dev, header: jsonH(bearer), body: `{"description":"` + strings.Repeat("a", 70<<10) + `"}`, status: 413, want: []string{fail, "larger than 64 KB"}},
		{name: "patch bad UDID", method: "PATCH", path: "/api/v1/devices/zz", header: jsonH(bearer), body: `{"alias":"x"}`, status: 404},
		{name: "patch bob's device", method: "PATCH", path: "/api/v1/devices/" + f.bobDev, header: jsonH(bearer), body: `{"alias":"mine"}`, status: 404, forbid: []string{"Bobs hidden sensor"}},

		{name: "push", method: "POST", path: dev + "/configuration", header: jsonH(bearer), body: `{"values":{"MODE":"eco"},"device_env":["PIN"]}`, status: 200,
			want: []string{`"success":true`, `"ok":1`, "queued until the device connects"}},
		{name: "push a missing variable", method: "POST", path: dev + "/configuration", header: jsonH(bearer), body: `{"owner_env":["NOPE"]}`, status: 422,
			want: []string{`"success":false`, `"failed":1`, "NOPE is not set"}},
		{name: "push nothing", method: "POST", path: dev + "/configuration", header: jsonH(bearer), body: `{}`, status: 422, want: []string{"at least one variable"}},
		{name: "push unknown field", method: "POST", path: dev + "/configuration", header: jsonH(bearer), body: `{"vals":{}}`, status: 400, want: []string{`Unknown field \"vals\"`}},
		{name: "push wrong type", method: "POST", path: dev + "/configuration", header: jsonH(bearer), body: `{"values":{"A":1}}`, status: 400, want: []string{"must be a string"}},
		{name: "push to bob's device", method: "POST", path: "/api/v1/devices/" + f.bobDev + "/configuration", header: jsonH(bearer), body: `{"values":{"A":"1"}}`, status: 404},

		{name: "delete bob's device", method: "DELETE", path: "/api/v1/devices/" + f.bobDev, header: bearer, status: 404},
		{name: "delete", method: "DELETE", path: "/api/v1/devices/" + f.garage, header: bearer, status: 200, want: []string{`"success":true`}},
		{name: "delete again", method: "DELETE", path: "/api/v1/devices/" + f.garage, header: bearer, status: 404},
		{name: "cross-site PATCH with the session", as: "ann", method: "PATCH", path: dev, header: map[string]string{"Content-Type": "application/json", "Origin": "http://evil.example"},
			body: `{"alias":"pwned"}`, status: 403, want: []string{"sent from another site"}},
		{name: "cross-site DELETE with the session", as: "ann", method: "DELETE", path: dev, header: map[string]string{"Sec-Fetch-Site": "cross-site"}, status: 403},
		{name: "cross-site push with a key", method: "POST", path: dev + "/configuration", header: map[string]string{"Authorization": "Bearer " + f.annKey, "X-Thinx-Owner": f.ann.ID, "Content-Type": "application/json", "Origin": "http://evil.example"},
			body: `{"values":{"A":"1"}}`, status: 403},
		{name: "description", path: "/api/v1/openapi.yaml", status: 200, want: []string{"openapi: 3.0.3", "/api/v1/devices/{udid}/configuration", "X-Thinx-Owner"}},
		{name: "API page", as: "ann", path: "/api", status: 200, want: []string{`href="/api/v1/openapi.yaml"`, f.ann.ID, "Authorization: Bearer"}},
	})
	d := f.device(f.ann.ID, f.green)
	if d.Alias != "Glasshouse" || !d.AutoUpdate || d.Lat != 49.5 || d.Lon != 17.25 || d.TimezoneOffset != -5.5 || len(d.Env) != 1 || strings.Join(d.Tags, ",") != "a,b" {
		t.Errorf("patched device: %+v", d)
	}
	if b := f.device(f.bob.ID, f.bobDev); b.Alias != "Bobs hidden sensor" {
		t.Error("bob's device changed")
	}
	// The list answer decodes into the documented shape.
	res := f.client().do("GET", "/api/v1/devices", nil, bearer)
	var out struct {
		Success bool `json:"success"`
		Devices []struct {
			UDID, Alias string
		} `json:"devices"`
		Total int `json:"total"`
	}
	if err := json.Unmarshal([]byte(res.body), &out); err != nil || !out.Success || out.Total != 2 || len(out.Devices) != 2 {
		t.Errorf("list: %v %+v", err, out)
	}
	if ct := res.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
}

// TestOwnerAPIRefusesDisabledOwners: a key keeps nothing open once its
// owner is disabled.
func TestOwnerAPIRefusesDisabledOwners(t *testing.T) {
	t.Parallel()
	f := newFleet(t)
	h := map[string]string{"Authorization": "Bearer " + f.annKey, "X-Thinx-Owner": f.ann.ID}
	if res := f.client().do("GET", "/api/v1/devices", nil, h); res.status != 200 {
		t.Fatalf("before: %d", res.status)
	}
	admin := f.owner("root@example.com", true)
	if err := f.auth.SetDisabled(t.Context(), admin, f.ann.ID, true, ""); err != nil {
		t.Fatal(err)
	}
	if res := f.client().do("GET", "/api/v1/devices", nil, h); res.status != 401 || strings.Contains(res.body, "Greenhouse") {
		t.Errorf("disabled owner's key: %d", res.status)
	}
}
