package broker

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestStrictJSON(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{"a":1}`, `{"a":1}`},
		{`{ title: "x", type: "actionable" }`, `{"title":"x","type":"actionable"}`},
		{`{title:'it''s',}`, ``},
		{`{title:'say "hi"'}`, `{"title":"say \"hi\""}`},
		{`{title:'it\'s'}`, `{"title":"it's"}`},
		{`{a:[1,2,],b:{c:true,},}`, `{"a":[1,2],"b":{"c":true}}`},
		{`{ "notification" : { title: "Q", body: "Open?", type: "actionable", response_type: "bool" } }`,
			`{"notification":{"title":"Q","body":"Open?","type":"actionable","response_type":"bool"}}`},
		{`{a:undefined}`, ``},
		{`{a:1} x`, ``},
		{`{a:"\x"}`, ``},
		{`{a:1`, ``},
		{`{,}`, ``},
		{strings.Repeat("[", 40) + strings.Repeat("]", 40), ``},
	} {
		got, err := strictJSON([]byte(tc.in))
		if tc.want == "" {
			if err == nil {
				t.Errorf("strictJSON(%q) = %s, want an error", tc.in, got)
			}
			continue
		}
		if err != nil || string(got) != tc.want {
			t.Errorf("strictJSON(%q) = %s, %v; want %s", tc.in, got, err, tc.want)
		}
	}
}

func TestParseStatus(t *testing.T) {
	m, err := parseStatus([]byte(`{ "status" : "disconnected" }`))
	if err != nil || m.Status == nil || *m.Status != "disconnected" {
		t.Errorf("last will: %+v %v", m, err)
	}
	m, err = parseStatus([]byte(`{"connected":false}`))
	if err != nil || m.Connected == nil || *m.Connected {
		t.Errorf("connected: %+v %v", m, err)
	}
	m, err = parseStatus([]byte(`{ notification: { title: "Door", body: "Open it?", type: "actionable", response_type: "bool" } }`))
	if err != nil || m.Notification == nil || m.Notification.Title != "Door" || !m.Notification.Actionable() ||
		m.Notification.ResponseType != "bool" || !json.Valid(m.Notification.Raw) {
		t.Errorf("notification: %+v %v", m.Notification, err)
	}
	m, err = parseStatus([]byte(`{ title: "Update Successful", body: "1.2.0", type: "success" }`))
	if err != nil || m.Notification == nil || m.Notification.Type != "success" {
		t.Errorf("bare notification: %+v %v", m, err)
	}
	m, err = parseStatus([]byte(`{"registration":{"mac":"5CCF7FA1B2C3","owner":"x"}}`))
	if err != nil || !json.Valid(m.Registration) || !strings.Contains(string(m.Registration), `"mac"`) {
		t.Errorf("registration: %s %v", m.Registration, err)
	}
	m, err = parseStatus([]byte(" Battery low "))
	if err != nil || m.Status == nil || *m.Status != "Battery low" {
		t.Errorf("plain text: %+v %v", m, err)
	}
	for _, bad := range []string{"", "   ", `{"status":1}`, `{"connected":"yes"}`, `{"registration":"x"}`,
		`{"notification":{"title":1}}`, `{"other":true}`, "\xff\xfe", `{status:}`, strings.Repeat("x", 2000)} {
		if m, err := parseStatus([]byte(bad)); err == nil {
			t.Errorf("parseStatus(%q) = %+v, want an error", bad, m)
		}
	}
}

// FuzzStrictJSON: never panics, always yields valid JSON, and leaves the
// meaning of strict JSON alone.
func FuzzStrictJSON(f *testing.F) {
	for _, s := range []string{`{"a":1}`, `{ title: "x", type: 'y', }`, `[1,"2",{a:null}]`, `{"a":"\u00e9\n"}`, `"x"`, `-1.5e3`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := strictJSON(in)
		if err != nil {
			return
		}
		if !json.Valid(out) {
			t.Fatalf("strictJSON(%q) = %q, not JSON", in, out)
		}
		if json.Valid(in) {
			var a, b any
			if json.Unmarshal(in, &a) != nil || json.Unmarshal(out, &b) != nil || !reflect.DeepEqual(a, b) {
				t.Fatalf("strictJSON changed the meaning of %q: %q", in, out)
			}
		}
	})
}

// FuzzParseStatus: any payload is either understood or refused, never a
// panic, and what is understood is well formed.
func FuzzParseStatus(f *testing.F) {
	for _, s := range []string{`{ "status" : "disconnected" }`, `{"connected":true}`, `{registration:{mac:"x"}}`,
		`{notification:{title:"t",type:"actionable"}}`, `plain`, `{title:"Update Successful",type:"success"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		m, err := parseStatus(in)
		if err != nil {
			return
		}
		if m.Registration != nil && !json.Valid(m.Registration) {
			t.Fatalf("registration is not JSON: %q", m.Registration)
		}
		if m.Notification != nil && !json.Valid(m.Notification.Raw) {
			t.Fatalf("notification is not JSON: %q", m.Notification.Raw)
		}
	})
}
