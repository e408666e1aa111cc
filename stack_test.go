package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestWholeStack runs the built binary with HTTP and MQTT on, and walks a
// device's life through every layer: a check-in, a status transformer
// saved in the console and attached, statuses over HTTP and over MQTT
// transformed, a configuration push reaching the device over MQTT, and a
// revoked key ending the device's live MQTT session. The device is played
// by hand-made HTTP requests and Debian's mosquitto clients (no physical
// device exists here).
func TestWholeStack(t *testing.T) {
	t.Parallel()
	for _, tool := range []string{"mosquitto_pub", "mosquitto_sub"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is missing: install mosquitto-clients (make deps)", tool)
		}
	}
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	r := thinx(t, dir, password+"\n", nil, "user", "add", "--data", data, "--email", "stack@example.com", "--admin")
	owner := strings.TrimSpace(r.stdout)
	key := strings.TrimSpace(thinx(t, dir, "", nil, "apikey", "new", "--data", data, "--email", "stack@example.com", "--alias", "devices").stdout)
	if len(owner) != 64 || len(key) != 64 {
		t.Fatalf("owner %q key %q", owner, key)
	}

	httpAddr, mqttAddr := freeAddr(t), freeAddr(t)
	s, _, err := start(t, dir, "http://"+httpAddr+"/healthz", nil, "serve", "--data", data, "--http", httpAddr,
		"--https", "off", "--mqtt", mqttAddr, "--mqtts", "off", "--mqtt-ws", "off")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + httpAddr
	c := browser()
	if res, err := c.PostForm(base+"/login", url.Values{"email": {"stack@example.com"}, "password": {password}}); err != nil || res.StatusCode != 303 {
		t.Fatalf("login: %v %v", res, err)
	}

	// First check-in: the device gets its UDID.
	udid := checkin(t, base, owner, key, "", "booting")

	// A transformer saved and attached in the console.
	src, err := os.ReadFile("app/transform/examples/battery.go.txt")
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.PostForm(base+"/transformers/new", url.Values{"alias": {"Battery"}, "source": {string(src)}, "action": {"save"}})
	if err != nil || res.StatusCode != 303 || !strings.HasPrefix(res.Header.Get("Location"), "/transformers/") {
		t.Fatalf("save transformer: %v %v", res, err)
	}
	tid := strings.TrimPrefix(res.Header.Get("Location"), "/transformers/")
	if res, err := c.PostForm(base+"/transformers/"+tid+"/attach", url.Values{"udid": {udid}}); err != nil || res.StatusCode != 303 {
		t.Fatalf("attach: %v %v", res, err)
	}

	// Over HTTP.
	checkin(t, base, owner, key, udid, "ba0d5a")
	waitStatus(t, c, base, udid, "Battery 3.42V")

	// Over MQTT, as the device, with its UDID and the key.
	mq := strings.Split(mqttAddr, ":")
	pub := exec.Command("mosquitto_pub", "-h", mq[0], "-p", mq[1], "-u", udid, "-P", key, "-t", "/"+owner+"/"+udid+"/status",
		"-m", `{ "status" : "ba0e10" }`, "-q", "1")
	if out, err := pub.CombinedOutput(); err != nil {
		t.Fatalf("mosquitto_pub: %v %s", err, out)
	}
	waitStatus(t, c, base, udid, "Battery 3.60V")

	// A push while the device is offline waits; it is delivered when the
	// device connects. A push while it is connected goes out at once. Both
	// carry values, and neither is retained.
	push := func(name, value string) {
		t.Helper()
		req, _ := http.NewRequest("POST", base+"/api/v1/devices/"+udid+"/configuration", strings.NewReader(`{"values":{"`+name+`":"`+value+`"}}`))
		req.Header.Set("Content-Type", "application/json")
		if res, err := c.Do(req); err != nil || res.StatusCode/100 != 2 {
			t.Fatalf("push: %v %v", res, err)
		}
	}
	push("THINX_ENV_SSID", "garden")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	sub := exec.CommandContext(ctx, "mosquitto_sub", "-h", mq[0], "-p", mq[1], "-u", udid, "-P", key, "-i", "5CCF7FA1B2C3",
		"-t", "/"+owner+"/"+udid, "-v")
	stdout, _ := sub.StdoutPipe()
	if err := sub.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 10)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	expect := func(want string) {
		t.Helper()
		select {
		case l := <-lines:
			if !strings.Contains(l, want) {
				t.Errorf("the device got %q, want %s", l, want)
			}
		case <-ctx.Done():
			t.Fatalf("%s never reached the device", want)
		}
	}
	expect(`{"configuration":{"THINX_ENV_SSID":"garden"}}`)
	push("THINX_ENV_PASS", "secret-pass")
	expect(`{"configuration":{"THINX_ENV_PASS":"secret-pass"}}`)

	// The device asks a question in the old libraries' form (keys without
	// quotes); the owner answers it in the console; the answer reaches the
	// device in the form the libraries parse.
	ask := exec.Command("mosquitto_pub", "-h", mq[0], "-p", mq[1], "-u", udid, "-P", key, "-t", "/"+owner+"/"+udid+"/status",
		"-m", `{ notification: { title: "Open the valve?", body: "Soil is dry", type: "actionable", response_type: "bool" } }`)
	if out, err := ask.CombinedOutput(); err != nil {
		t.Fatalf("mosquitto_pub: %v %s", err, out)
	}
	answerPath := regexp.MustCompile(`/notifications/[0-9]+/answer`)
	var dash string
	waitFor(t, func() bool { dash = get(t, c, base+"/"); return answerPath.MatchString(dash) }, func() string { return "no question on the dashboard" })
	if !strings.Contains(dash, "Open the valve?") {
		t.Error("the dashboard does not show the question")
	}
	if res, err := c.PostForm(base+answerPath.FindString(dash), url.Values{"response": {"yes"}}); err != nil || res.StatusCode != 303 {
		t.Fatalf("answer: %v %v", res, err)
	}
	expect(`{"notification":{"response_type":"bool","response":true}}`)

	// Revoking the key ends the live session: mosquitto_sub exits.
	keysPage := get(t, c, base+"/api/keys")
	var keys struct{ Keys []struct{ ID int64 } }
	if err := json.Unmarshal([]byte(keysPage), &keys); err != nil || len(keys.Keys) != 1 {
		t.Fatalf("keys: %s %v", keysPage, err)
	}
	if res, err := c.PostForm(base+"/keys/"+strconv.FormatInt(keys.Keys[0].ID, 10)+"/revoke", nil); err != nil || res.StatusCode != 303 {
		t.Fatalf("revoke: %v %v", res, err)
	}
	done := make(chan error, 1)
	go func() { done <- sub.Wait() }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the revoked key's MQTT session stayed connected")
	}
	if code := checkinStatus(t, base, owner, key, udid, "after revoke"); code != 401 {
		t.Errorf("check-in with the revoked key: %d", code)
	}
	if code := s.stop(t); code != 0 {
		t.Errorf("exit %d\n%s", code, s.stderr.String())
	}
}

// checkin posts a registration the way the ESP8266 library does and
// returns the UDID of the reply.
func checkin(t *testing.T, base, owner, key, udid, status string) string {
	t.Helper()
	body := `{"registration":{"mac":"5CCF7FA1B2C3","owner":"` + owner + `","status":"` + status + `","platform":"platformio:esp8266","version":"1.0.0"`
	if udid != "" {
		body += `,"udid":"` + udid + `"`
	}
	req, _ := http.NewRequest("POST", base+"/device/register", strings.NewReader(body+"}}"))
	req.Header.Set("Authentication", key)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", "device")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var reply struct{ Registration struct{ UDID string } }
	b, _ := io.ReadAll(res.Body)
	if err := json.Unmarshal(b, &reply); err != nil || res.StatusCode != 200 || len(reply.Registration.UDID) != 36 {
		t.Fatalf("check-in: %d %s", res.StatusCode, b)
	}
	return reply.Registration.UDID
}

func checkinStatus(t *testing.T, base, owner, key, udid, status string) int {
	t.Helper()
	body := `{"registration":{"mac":"5CCF7FA1B2C3","owner":"` + owner + `","udid":"` + udid + `","status":"` + status + `"}}`
	req, _ := http.NewRequest("POST", base+"/device/register", strings.NewReader(body))
	req.Header.Set("Authentication", key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

func get(t *testing.T, c *http.Client, u string) string {
	t.Helper()
	res, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return string(b)
}

// waitStatus polls the owner API until the device's shown status is want.
func waitStatus(t *testing.T, c *http.Client, base, udid, want string) {
	t.Helper()
	last := ""
	waitFor(t, func() bool {
		var d struct {
			Device struct {
				StatusText string `json:"status_text"`
			}
		}
		last = get(t, c, base+"/api/v1/devices/"+udid)
		_ = json.Unmarshal([]byte(last), &d)
		return d.Device.StatusText == want
	}, func() string { return "device status is not " + want + ": " + last })
}

func waitFor(t *testing.T, ok func() bool, why ...func() string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			msg := "timed out waiting"
			for _, w := range why {
				msg += ": " + w()
			}
			t.Fatal(msg)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
