package deviceapi_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"thinx/app"
)

// The requests below are byte-for-byte what the device libraries write;
// the parsers mirror how each library reads the reply. A physical device
// cannot be part of a test, so its network code is reproduced here.

// espRequest is THiNXLib's send_data(): println() ends lines with CRLF and
// the body is sent with println too, so two extra bytes follow it.
func espRequest(host, key string, body []byte) []byte {
	var b bytes.Buffer
	b.WriteString("POST /device/register HTTP/1.1\r\n")
	b.WriteString("Host: " + host + "\r\n")
	b.WriteString("Authentication: " + key + "\r\n")
	b.WriteString("Accept: application/json\r\n")
	b.WriteString("Origin: device\r\n")
	b.WriteString("Content-Type: application/json\r\n")
	b.WriteString("User-Agent: THiNX-Client\r\n")
	b.WriteString("Connection: close\r\n")
	fmt.Fprintf(&b, "Content-Length: %d\r\n", len(body))
	b.WriteString("\r\n")
	b.Write(body)
	b.WriteString("\r\n")
	return b.Bytes()
}

// espRegistration is what THiNXLib keeps of a reply.
type espRegistration struct {
	Success    *bool  `json:"success"`
	Status     string `json:"status"`
	UDID       string `json:"udid"`
	Owner      string `json:"owner"`
	Alias      string `json:"alias"`
	AutoUpdate *bool  `json:"auto_update"`
	Timestamp  int64  `json:"timestamp"`
}

// espParse reads a reply the way THiNXLib's fetch_data() and parse() do:
// header lines until one shorter than 3 bytes, then at most 511 body bytes
// into a 512-byte buffer, then the text from {"registration" to the first
// "}}" must be valid JSON.
func espParse(t *testing.T, raw []byte) espRegistration {
	t.Helper()
	r := bufio.NewReader(bytes.NewReader(raw))
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("headers never ended: %q", raw)
		}
		if len(strings.TrimSuffix(line, "\n")) < 3 {
			break
		}
	}
	body, _ := r.ReadBytes(0)
	if len(body) > 511 {
		t.Fatalf("body of %d bytes overflows the library's 512-byte buffer", len(body))
	}
	payload := string(body)
	start := strings.Index(payload, `{"registration"`)
	end := strings.Index(payload, "}}")
	if start < 0 || end < start {
		t.Fatalf("no registration object in %q", payload)
	}
	var w struct{ Registration espRegistration }
	if err := json.Unmarshal([]byte(payload[start:end+2]), &w); err != nil {
		t.Fatalf("library parse of %q: %v", payload[start:end+2], err)
	}
	reg := w.Registration
	if reg.Success == nil || !*reg.Success || reg.Status != "OK" || !app.IsUDID(reg.UDID) || reg.Owner == "" ||
		reg.Alias == "" || reg.Timestamp == 0 || reg.AutoUpdate == nil {
		t.Fatalf("registration lacks fields the library stores: %s", payload[start:end+2])
	}
	return reg
}

// checkWireShape asserts what every reply must look like on the wire.
func checkWireShape(t *testing.T, raw []byte) {
	t.Helper()
	head, body, ok := bytes.Cut(raw, []byte("\r\n\r\n"))
	if !ok {
		t.Fatalf("no header end in %q", raw)
	}
	h := strings.ToLower(string(head))
	for _, want := range []string{"content-type: application/json\r\n", fmt.Sprintf("content-length: %d", len(body))} {
		if !strings.Contains(h+"\r\n", want) {
			t.Errorf("reply headers lack %q:\n%s", want, head)
		}
	}
	if strings.Contains(h, "chunked") {
		t.Errorf("reply is chunked:\n%s", head)
	}
	if len(body) >= 500 || bytes.ContainsAny(body, "\r\n") {
		t.Errorf("body must be one line under 500 bytes, got %d: %q", len(body), body)
	}
}

func TestESP8266Library(t *testing.T) {
	s := newServer(t, nil)
	o := s.owner(t, "esp")
	body := fmt.Sprintf(`{"registration":{"mac":"5CCF7FA1B2C3","firmware":"thinx-lib-esp8266:3.0.270","version":"1.0.0","commit":"0c48a9ab","owner":"%s","alias":"unnamed","status":"Registered","lat":"0.00","lon":"0.00","rssi":"-67","platform":"platformio:esp8266"}}`, o.ID)
	raw := roundTrip(t, s.addr, espRequest("thinx.local", o.Key, []byte(body)))
	checkWireShape(t, raw)
	first := espParse(t, raw)
	if first.Owner != o.ID || first.Alias == "unnamed" {
		t.Fatalf("first registration: %+v", first)
	}
	// The next check-in sends the UDID and alias the device stored.
	body = strings.Replace(body, `"alias":"unnamed"`, `"alias":"`+first.Alias+`","udid":"`+first.UDID+`"`, 1)
	raw = roundTrip(t, s.addr, espRequest("thinx.local", o.Key, []byte(body)))
	checkWireShape(t, raw)
	next := espParse(t, raw)
	if next.UDID != first.UDID || next.Alias != first.Alias {
		t.Fatalf("check-in changed identity: %+v → %+v", first, next)
	}
}

// uPyRequest is micropython-lib urequests.post(url, data=…, headers=…):
// HTTP/1.0, Host without the port, the caller's headers, Content-Length.
func uPyRequest(key string, body []byte) []byte {
	var b bytes.Buffer
	b.WriteString("POST /device/register HTTP/1.0\r\n")
	b.WriteString("Host: 127.0.0.1\r\n")
	b.WriteString("Authentication: " + key + "\r\n")
	b.WriteString("Content-Type: application/json\r\n")
	b.WriteString("Origin: device\r\n")
	b.WriteString("User-Agent: THiNX-Client\r\n")
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n", len(body))
	b.Write(body)
	return b.Bytes()
}

// uPyParse is urequests: the status from the first line, headers until a
// bare CRLF (it refuses chunked replies), then json() of all the rest.
func uPyParse(t *testing.T, raw []byte) map[string]any {
	t.Helper()
	r := bufio.NewReader(bytes.NewReader(raw))
	status, _ := r.ReadString('\n')
	if f := strings.Fields(status); len(f) < 2 || f[1] != "200" {
		t.Fatalf("status line %q", status)
	}
	for {
		l, err := r.ReadString('\n')
		if err != nil {
			t.Fatal("headers never ended")
		}
		if l == "\r\n" {
			break
		}
		if strings.Contains(strings.ToLower(l), "chunked") {
			t.Fatal("urequests does not support chunked replies")
		}
	}
	var v map[string]any
	dec := json.NewDecoder(r)
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("ujson.loads: %v", err)
	}
	return v
}

func TestMicroPythonClient(t *testing.T) {
	s := newServer(t, nil)
	o := s.owner(t, "upy")
	// ujson.dumps separates with ", " and ": "; the client sends "hash".
	body := fmt.Sprintf(`{"registration": {"mac": "5CCF7F0A0B0C", "owner": "%s", "hash": "1a2b3c", "platform": "micropython", "alias": "", "firmware": "thinx-upy:0.1", "version": "0.1"}}`, o.ID)
	v := uPyParse(t, roundTrip(t, s.addr, uPyRequest(o.Key, []byte(body))))
	reg, _ := v["registration"].(map[string]any)
	udid, _ := reg["udid"].(string)
	if reg["status"] != "OK" || reg["owner"] != o.ID || !app.IsUDID(udid) {
		t.Fatalf("reply: %v", v)
	}
	d, err := s.svc.Get(t.Context(), o.ID, udid)
	if err != nil || d.Checksum != "1a2b3c" || d.Platform != "micropython" || d.MAC != "5C:CF:7F:0A:0B:0C" {
		t.Fatalf("stored device %+v, %v", d, err)
	}
}

// luaRequest is NodeMCU's http.post(url, headers, body): the firmware's
// own request line and headers, then thinx.lua's header string (note
// "Authentication:" without a space), then Content-Length.
func luaRequest(addr, key string, body []byte) []byte {
	var b bytes.Buffer
	b.WriteString("POST /device/register HTTP/1.1\r\n")
	b.WriteString("Host: " + addr + "\r\n")
	b.WriteString("Connection: close\r\n")
	b.WriteString("Authentication:" + key + "\r\n")
	b.WriteString("Accept: application/json\r\n")
	b.WriteString("Origin: device\r\n")
	b.WriteString("Content-Type: application/json\r\n")
	b.WriteString("User-Agent: THiNX-Client\r\n")
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n", len(body))
	b.Write(body)
	return b.Bytes()
}

func TestNodeMCULuaClient(t *testing.T) {
	s := newServer(t, nil)
	o := s.owner(t, "lua")
	// thinx.lua's registration_json_body(), with an empty UDID before the
	// first registration and the MAC as wifi.sta.getmac() returns it.
	body := func(udid string) []byte {
		return []byte(`{"registration": {"mac": "5c:cf:7f:11:22:33", "firmware": "thinx-lua:1.0", "commit": "abc123", "version": "1.0", "checksum": "abc123", "alias": "", "udid" :"` +
			udid + `", "owner" : "` + o.ID + `", "platform":"nodemcu" }}`)
	}
	raw := roundTrip(t, s.addr, luaRequest(s.addr, o.Key, body("")))
	_, payload, _ := bytes.Cut(raw, []byte("\r\n\r\n"))
	var v struct{ Registration map[string]any } // cjson.decode of the whole body
	if err := json.Unmarshal(payload, &v); err != nil {
		t.Fatalf("cjson.decode(%q): %v", payload, err)
	}
	udid, _ := v.Registration["udid"].(string)
	if !app.IsUDID(udid) || v.Registration["owner"] != o.ID || v.Registration["alias"] == "" {
		t.Fatalf("reply: %s", payload)
	}
	raw = roundTrip(t, s.addr, luaRequest(s.addr, o.Key, body(udid)))
	if !bytes.Contains(raw, []byte(udid)) || !bytes.HasPrefix(raw, []byte("HTTP/1.1 200")) {
		t.Fatalf("second check-in: %q", raw)
	}
	d, err := s.svc.Get(t.Context(), o.ID, udid)
	if err != nil || d.MAC != "5C:CF:7F:11:22:33" || d.Checkins != 2 || d.Platform != "nodemcu" {
		t.Fatalf("stored device %+v, %v", d, err)
	}
}
