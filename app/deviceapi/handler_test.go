package deviceapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"thinx/app"
)

// scenario is one named HTTP exchange with the device API.
type scenario struct {
	name    string
	method  string
	path    string
	body    string
	headers map[string]string
	chunked bool // send the body without a length
	status  int
	want    []string // substrings the reply must contain
	forbid  []string // substrings it must not contain
}

// registered checks in a device for o and returns its UDID and alias.
func registered(t *testing.T, s *server, o owner) (string, string) {
	t.Helper()
	body := fmt.Sprintf(`{"registration":{"mac":"5CCF7FA1B2C3","owner":"%s","alias":"secret-lab-sensor"}}`, o.ID)
	reply, status := s.svc.RegisterJSON(context.Background(), o.Key, "127.0.0.1", []byte(body))
	if status != 200 {
		t.Fatalf("register: %d %s", status, reply)
	}
	var w struct{ Registration struct{ UDID, Alias string } }
	if err := json.Unmarshal(reply, &w); err != nil {
		t.Fatal(err)
	}
	return w.Registration.UDID, w.Registration.Alias
}

func TestDeviceAPIScenarios(t *testing.T) {
	s := newServer(t, nil)
	a, b := s.owner(t, "alice"), s.owner(t, "bob")
	udidA, _ := registered(t, s, a)
	udidB, aliasB := registered(t, s, b)
	reg := func(owner, fields string) string {
		return `{"registration":{"mac":"5CCF7F000001","owner":"` + owner + `"` + fields + `}}`
	}
	key := func(k string) map[string]string { return map[string]string{"Authentication": k} }
	huge := reg(a.ID, `,"status":"`+strings.Repeat("x", 17<<10)+`"`)
	authErr := []string{`{"success":false,"response":"authentication_error"}`}

	for _, sc := range []scenario{
		{name: "new device", method: "POST", path: "/device/register", body: reg(a.ID, ""), headers: key(a.Key), status: 200,
			want: []string{`"status":"OK"`, `"owner":"` + a.ID + `"`}},
		{name: "known device", method: "POST", path: "/device/register", body: reg(a.ID, `,"udid":"`+udidA+`"`), headers: key(a.Key), status: 200,
			want: []string{`"udid":"` + udidA + `"`}},
		{name: "numbers as numbers", method: "POST", path: "/device/register", body: reg(a.ID, `,"lat":50.1,"lon":14.4,"rssi":-60,"version":2.1`), headers: key(a.Key), status: 200},
		{name: "unknown fields ignored", method: "POST", path: "/device/register", body: reg(a.ID, `,"snr":"12","station":{"x":1},"ack":[1,2]`), headers: key(a.Key), status: 200},
		{name: "flat body", method: "POST", path: "/device/register", body: `{"mac":"5CCF7F000001","owner":"` + a.ID + `"}`, headers: key(a.Key), status: 200},
		{name: "authorization bearer", method: "POST", path: "/device/register", body: reg(a.ID, ""), headers: map[string]string{"Authorization": "Bearer " + a.Key}, status: 200},
		{name: "authorization bare", method: "POST", path: "/device/register", body: reg(a.ID, ""), headers: map[string]string{"Authorization": a.Key}, status: 200},
		{name: "well-formed unknown udid", method: "POST", path: "/device/register", body: reg(a.ID, `,"udid":"0a1b2c3d-0000-4000-8000-000000000001"`), headers: key(a.Key), status: 200,
			want: []string{`"udid":"0a1b2c3d-0000-4000-8000-000000000001"`}},
		{name: "missing key", method: "POST", path: "/device/register", body: reg(a.ID, ""), status: 401, want: authErr},
		{name: "wrong key", method: "POST", path: "/device/register", body: reg(a.ID, ""), headers: key(strings.Repeat("ab", 32)), status: 401, want: authErr},
		{name: "key of another owner", method: "POST", path: "/device/register", body: reg(a.ID, ""), headers: key(b.Key), status: 401, want: authErr},
		{name: "another owner's udid", method: "POST", path: "/device/register", body: reg(a.ID, `,"udid":"`+udidB+`"`), headers: key(a.Key), status: 401,
			want: authErr, forbid: []string{aliasB, b.ID, "exist"}},
		{name: "malformed json", method: "POST", path: "/device/register", body: `{"registration":{"owner":`, headers: key(a.Key), status: 400,
			want: []string{`"response":"request_invalid"`, "malformed JSON"}},
		{name: "wrong type lat", method: "POST", path: "/device/register", body: reg(a.ID, `,"lat":true`), headers: key(a.Key), status: 400,
			want: []string{"lat: want a number or a numeric string, got bool"}},
		{name: "wrong type mac", method: "POST", path: "/device/register", body: `{"registration":{"mac":5,"owner":"` + a.ID + `"}}`, headers: key(a.Key), status: 400,
			want: []string{"mac: want a string, got number"}},
		{name: "non-numeric rssi", method: "POST", path: "/device/register", body: reg(a.ID, `,"rssi":"strong"`), headers: key(a.Key), status: 400,
			want: []string{"rssi: want a number"}},
		{name: "registration not an object", method: "POST", path: "/device/register", body: `{"registration":"yes"}`, headers: key(a.Key), status: 400,
			want: []string{"request_invalid"}},
		{name: "empty body", method: "POST", path: "/device/register", headers: key(a.Key), status: 400, want: []string{`"response":"no_body"`}},
		{name: "owner missing", method: "POST", path: "/device/register", body: `{"registration":{"mac":"5CCF7F000001"}}`, headers: key(a.Key), status: 400,
			want: []string{"owner is required"}},
		{name: "udid too short", method: "POST", path: "/device/register", body: reg(a.ID, `,"udid":"1234-5678"`), headers: key(a.Key), status: 400,
			want: []string{"udid must be a 36-character UUID"}},
		{name: "udid of 37 characters", method: "POST", path: "/device/register", body: reg(a.ID, `,"udid":"`+udidA+`0"`), headers: key(a.Key), status: 400,
			want: []string{"udid must be a 36-character UUID"}},
		{name: "body over 16 KB", method: "POST", path: "/device/register", body: huge, headers: key(a.Key), status: 413, want: []string{"request_too_large"}},
		{name: "chunked body over 16 KB", method: "POST", path: "/device/register", body: huge, headers: key(a.Key), chunked: true, status: 413, want: []string{"request_too_large"}},
		{name: "wrong method", method: "GET", path: "/device/register", status: 405},
		{name: "firmware unknown ott", method: "GET", path: "/device/firmware?ott=" + strings.Repeat("c", 64), status: 403,
			want: []string{`{"success":false,"response":"OTT_UPDATE_NOT_FOUND"}`}},
		{name: "firmware without ott", method: "GET", path: "/device/firmware", status: 400, want: []string{"OTT_MISSING"}},
		{name: "firmware post no update", method: "POST", path: "/device/firmware", body: `{"mac":"5CCF7F000001","udid":"` + udidA + `","owner":"` + a.ID + `"}`,
			headers: key(a.Key), status: 200, want: []string{`{"success":false,"status":"OK"}`}},
		{name: "firmware post wrong key", method: "POST", path: "/device/firmware", body: reg(a.ID, `,"udid":"`+udidA+`"`), headers: key(b.Key), status: 401, want: authErr},
		{name: "firmware post other owner's device", method: "POST", path: "/device/firmware", body: reg(a.ID, `,"udid":"`+udidB+`"`), headers: key(a.Key), status: 401, want: authErr},
		{name: "addpush", method: "POST", path: "/device/addpush", body: `{"push":"fcm:token-1_x","udid":"` + udidA + `"}`, headers: key(a.Key), status: 200,
			want: []string{`{"success":true,"response":"push_token_registered"}`}},
		{name: "addpush other owner's device", method: "POST", path: "/device/addpush", body: `{"push":"abc","udid":"` + udidB + `"}`, headers: key(a.Key), status: 401, want: authErr},
		{name: "addpush unknown device", method: "POST", path: "/device/addpush", body: `{"push":"abc","udid":"0a1b2c3d-0000-4000-8000-00000000ffff"}`, headers: key(a.Key), status: 401, want: authErr},
		{name: "addpush wrong key", method: "POST", path: "/device/addpush", body: `{"push":"abc","udid":"` + udidA + `"}`, headers: key(b.Key), status: 401, want: authErr},
		{name: "addpush bad token", method: "POST", path: "/device/addpush", body: `{"push":"a b","udid":"` + udidA + `"}`, headers: key(a.Key), status: 400, want: []string{"push must be a push token"}},
		{name: "addpush wrong type", method: "POST", path: "/device/addpush", body: `{"push":7,"udid":"` + udidA + `"}`, headers: key(a.Key), status: 400, want: []string{"push: want a string"}},
	} {
		t.Run(sc.name, func(t *testing.T) {
			var body io.Reader = strings.NewReader(sc.body)
			if sc.chunked {
				body = io.MultiReader(body) // hides the length
			}
			req, err := http.NewRequest(sc.method, "http://"+s.addr+sc.path, body)
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range sc.headers {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != sc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, sc.status, got)
			}
			for _, w := range sc.want {
				if !bytes.Contains(got, []byte(w)) {
					t.Errorf("reply lacks %q: %s", w, got)
				}
			}
			for _, f := range sc.forbid {
				if bytes.Contains(got, []byte(f)) {
					t.Errorf("reply leaks %q: %s", f, got)
				}
			}
			if sc.status != 405 && resp.Header.Get("Content-Type") != "application/json" {
				t.Errorf("content type %q", resp.Header.Get("Content-Type"))
			}
		})
	}

	// The refused check-in with Bob's UDID is in Bob's audit log, and Bob's
	// device did not change.
	entries, _, err := s.db.Audit(context.Background(), app.AuditFilter{OwnerID: b.ID, Kind: app.AuditDeviceForeign})
	if err != nil || len(entries) != 1 {
		t.Fatalf("audit entries in the device owner's log: %v, %v", entries, err)
	}
	if tok, err := s.db.PushToken(context.Background(), udidA); err != nil || tok != "fcm:token-1_x" {
		t.Fatalf("stored push token %q, %v", tok, err)
	}
	if _, err := s.db.PushToken(context.Background(), udidB); app.ErrorCode(err) != app.ENOTFOUND {
		t.Fatalf("a refused push token was stored: %v", err)
	}
	d, err := s.svc.Get(context.Background(), b.ID, udidB)
	if err != nil || d.Checkins != 1 || d.OwnerID != b.ID {
		t.Fatalf("Bob's device after the refused check-in: %+v, %v", d, err)
	}
}
