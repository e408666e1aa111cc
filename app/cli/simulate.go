package cli

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"thinx/app"
)

// Bounds of `thinx simulate`: it is a load tool, so it must not be able to
// become a flood by accident.
const (
	simMaxDevices  = 10000
	simMinInterval = 10 * time.Millisecond
	simTimeout     = 10 * time.Second
)

// runSimulate is `thinx simulate`: it behaves like N ESP8266 devices with
// THiNXLib, each checking in every interval on a new TCP connection with
// the library's exact request, keeping the UDID, alias and owner the server
// gives it. It stops after --duration, or when ctx ends, and prints one
// summary line.
func runSimulate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, err := simParse(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	} else if err != nil {
		fmt.Fprintf(stderr, "thinx simulate: %v\n", err)
		return 2
	}
	if cfg.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.duration)
		defer cancel()
	}
	var ok, failed atomic.Int64
	var firstErr sync.Once
	start := time.Now()
	var wg sync.WaitGroup
	for i := 0; i < cfg.devices; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := &simDevice{cfg: cfg, mac: "5CCF7F" + strings.ToUpper(simHex(3)), owner: cfg.owner, alias: "unnamed"}
			d.run(ctx, &ok, &failed, func(err error) {
				firstErr.Do(func() { fmt.Fprintf(stderr, "thinx simulate: first failure: %v\n", err) })
			})
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	fmt.Fprintf(stdout, "simulate: %d devices, %d check-ins ok, %d failed, %.1f check-ins/s over %s\n",
		cfg.devices, ok.Load(), failed.Load(), float64(ok.Load())/elapsed.Seconds(), elapsed.Round(time.Millisecond))
	if failed.Load() > 0 {
		return 1
	}
	return 0
}

// simConfig is the parsed command line.
type simConfig struct {
	addr, host, owner, key string
	devices                int
	interval, duration     time.Duration
}

func simParse(args []string, stderr io.Writer) (simConfig, error) {
	fs := flag.NewFlagSet("thinx simulate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	server := fs.String("server", "http://127.0.0.1:7442", "device API to check in with (plain HTTP, as the devices use)")
	owner := fs.String("owner", "", "owner ID (64 hex)")
	key := fs.String("key", "", "API key of the owner")
	n := fs.Int("devices", 10, fmt.Sprintf("number of simulated devices (1 to %d)", simMaxDevices))
	interval := fs.Duration("interval", 10*time.Second, "time between check-ins of one device")
	duration := fs.Duration("duration", 0, "stop after this long (default: run until interrupted)")
	if err := fs.Parse(args); err != nil {
		return simConfig{}, err
	}
	c := simConfig{owner: strings.ToLower(*owner), key: *key, devices: *n, interval: *interval, duration: *duration}
	u, err := url.Parse(*server)
	switch {
	case fs.NArg() > 0:
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case err != nil || u.Scheme != "http" || u.Host == "" || (u.Path != "" && u.Path != "/"):
		return c, fmt.Errorf("--server %q: want http://host:port (devices check in over plain HTTP)", *server)
	case !app.IsHex64(c.owner):
		return c, errors.New("--owner: want the 64-hex owner ID")
	case c.key == "":
		return c, errors.New("--key is required")
	case c.devices < 1 || c.devices > simMaxDevices:
		return c, fmt.Errorf("--devices must be between 1 and %d", simMaxDevices)
	case c.interval < simMinInterval:
		return c, fmt.Errorf("--interval must be at least %s", simMinInterval)
	case c.duration < 0:
		return c, errors.New("--duration must not be negative")
	}
	c.host, c.addr = u.Hostname(), u.Host
	if u.Port() == "" {
		c.addr = net.JoinHostPort(u.Hostname(), "80")
	}
	return c, nil
}

// simDevice is one simulated device and what it has stored.
type simDevice struct {
	cfg                     simConfig
	mac, owner, udid, alias string
}

// run checks in at a random moment within the first interval (so N devices
// do not arrive at once), then every interval, until ctx ends.
func (d *simDevice) run(ctx context.Context, ok, failed *atomic.Int64, report func(error)) {
	wait := time.Duration(simRand(int64(d.cfg.interval)))
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		if err := d.checkin(ctx); err != nil {
			if runEnded(ctx) {
				return // cut off by the end of the run, not a failure
			}
			failed.Add(1)
			report(err)
		} else {
			ok.Add(1)
		}
		wait = d.cfg.interval
	}
}

// runEnded reports whether the run is over: ctx is done, or its deadline
// has passed, which a dial bound to that deadline can report a moment
// before ctx itself is done.
func runEnded(ctx context.Context) bool {
	if ctx.Err() != nil {
		return true
	}
	dl, ok := ctx.Deadline()
	return ok && !time.Now().Before(dl)
}

// checkin sends THiNXLib's request on a new connection and reads the reply
// the way the library does.
func (d *simDevice) checkin(ctx context.Context) error {
	dialer := net.Dialer{Timeout: simTimeout}
	c, err := dialer.DialContext(ctx, "tcp", d.cfg.addr)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(simTimeout))
	if _, err := c.Write(d.request()); err != nil {
		return err
	}
	raw, err := io.ReadAll(io.LimitReader(c, 4096))
	if err != nil {
		return err
	}
	return d.parse(raw)
}

// request is the library's send_data(): CRLF line ends, and the body sent
// with println, so two bytes follow it.
func (d *simDevice) request() []byte {
	reg := map[string]string{
		"mac": d.mac, "firmware": "thinx-lib-esp8266:3.0.270", "version": "3.0.270", "owner": d.owner,
		"alias": d.alias, "status": simStatus(), "lat": "0.00", "lon": "0.00",
		"rssi": fmt.Sprint(-40 - simRand(50)), "platform": "platformio:esp8266",
	}
	if d.udid != "" {
		reg["udid"] = d.udid
	}
	body, _ := json.Marshal(map[string]any{"registration": reg})
	var b bytes.Buffer
	fmt.Fprintf(&b, "POST /device/register HTTP/1.1\r\nHost: %s\r\nAuthentication: %s\r\nAccept: application/json\r\n"+
		"Origin: device\r\nContent-Type: application/json\r\nUser-Agent: THiNX-Client\r\nConnection: close\r\n"+
		"Content-Length: %d\r\n\r\n%s\r\n", d.cfg.host, d.cfg.key, len(body), body)
	return b.Bytes()
}

// parse keeps what the library keeps from a reply: the text from
// {"registration" to the first "}}", at most 511 body bytes.
func (d *simDevice) parse(raw []byte) error {
	status, _, _ := bytes.Cut(raw, []byte("\r\n"))
	_, body, found := bytes.Cut(raw, []byte("\r\n\r\n"))
	if !bytes.HasPrefix(status, []byte("HTTP/1.1 200 ")) || !found {
		return fmt.Errorf("server answered %q", simShort(raw))
	}
	if len(body) > 511 {
		return fmt.Errorf("reply of %d bytes overflows the library's buffer", len(body))
	}
	start, end := bytes.Index(body, []byte(`{"registration"`)), bytes.Index(body, []byte("}}"))
	if start < 0 || end < start {
		return fmt.Errorf("no registration in %q", simShort(body))
	}
	var w struct {
		Registration struct{ Status, Owner, Alias, UDID string }
	}
	if err := json.Unmarshal(body[start:end+2], &w); err != nil {
		return fmt.Errorf("reply the library cannot parse: %v", err)
	}
	r := w.Registration
	if r.Status != "OK" && r.Status != "FIRMWARE_UPDATE" || len(r.UDID) <= 4 {
		return fmt.Errorf("unexpected registration %q", simShort(body))
	}
	d.udid = r.UDID
	if len(r.Owner) > 1 {
		d.owner = r.Owner
	}
	if len(r.Alias) > 1 {
		d.alias = r.Alias
	}
	return nil
}

// simStatus picks a status string; some carry warning or error markers.
func simStatus() string {
	switch n := simRand(20); {
	case n == 0:
		return "Sensor lost #e"
	case n < 3:
		return fmt.Sprintf("Battery %d.%dV #w", 2, 8+simRand(2))
	default:
		return fmt.Sprintf("Running, %d.%d°C", 18+simRand(8), simRand(10))
	}
}

func simRand(n int64) int64 {
	if n <= 0 {
		return 0
	}
	v, err := rand.Int(rand.Reader, big.NewInt(n))
	if err != nil {
		return 0
	}
	return v.Int64()
}

func simHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func simShort(b []byte) string {
	if len(b) > 120 {
		b = b[:120]
	}
	return string(b)
}
