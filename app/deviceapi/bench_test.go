package deviceapi_test

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Check-in throughput, side by side with a bare net/http handler doing
// the same one-row SQLite write, in one run:
//
//	go test ./app/deviceapi -run '^$' -bench Checkin -benchtime 20000x
//
// Each benchmark runs both arms with the same load and reports requests
// per second, p50/p99 latency and the server's CPU per check-in for each,
// plus the ratio thinx/bare.

const benchClients = 32

func BenchmarkCheckinKeepAlive(b *testing.B) {
	compareArms(b, false)
}

func BenchmarkCheckinNewConnection(b *testing.B) {
	compareArms(b, true)
}

// benchRounds alternates the arms so that load from elsewhere on the
// machine falls on both alike; medians are reported.
const benchRounds = 5

func compareArms(b *testing.B, newConn bool) {
	thinx := benchServerFor(b, "thinx")
	bare := benchServerFor(b, "bare")
	n := max(b.N/benchRounds, 1)
	var ours, base []loadResult
	b.ResetTimer()
	for r := 0; r < benchRounds; r++ {
		if r%2 == 0 {
			ours = append(ours, runLoad(b, thinx, newConn, n))
			base = append(base, runLoad(b, bare, newConn, n))
		} else {
			base = append(base, runLoad(b, bare, newConn, n))
			ours = append(ours, runLoad(b, thinx, newConn, n))
		}
	}
	b.StopTimer()
	ratios := make([]loadResult, benchRounds)
	for i := range ratios {
		ratios[i].rate = ours[i].rate / base[i].rate
	}
	o, bs := median(ours), median(base)
	b.ReportMetric(o.rate, "thinx-checkins/s")
	b.ReportMetric(bs.rate, "bare-checkins/s")
	b.ReportMetric(median(ratios).rate, "ratio")
	b.ReportMetric(o.p50, "thinx-p50-ms")
	b.ReportMetric(o.p99, "thinx-p99-ms")
	b.ReportMetric(bs.p50, "bare-p50-ms")
	b.ReportMetric(bs.p99, "bare-p99-ms")
	b.ReportMetric(o.cpu, "thinx-cpu-µs/checkin")
	b.ReportMetric(bs.cpu, "bare-cpu-µs/checkin")
}

// median takes the median of each figure separately.
func median(rs []loadResult) loadResult {
	pick := func(f func(loadResult) float64) float64 {
		v := make([]float64, len(rs))
		for i, r := range rs {
			v[i] = f(r)
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	return loadResult{
		rate: pick(func(r loadResult) float64 { return r.rate }),
		p50:  pick(func(r loadResult) float64 { return r.p50 }),
		p99:  pick(func(r loadResult) float64 { return r.p99 }),
		cpu:  pick(func(r loadResult) float64 { return r.cpu }),
	}
}

type loadResult struct {
	rate, p50, p99, cpu float64
}

// runLoad sends n check-ins from benchClients concurrent clients, each
// for a known device, and measures them.
func runLoad(b *testing.B, s *benchServer, newConn bool, n int) loadResult {
	bodies := make([][]byte, len(s.info.UDIDs))
	for i, u := range s.info.UDIDs {
		status := "Running"
		switch i % 10 {
		case 3:
			status = "Battery low #w"
		case 7:
			status = "Sensor lost #e"
		}
		bodies[i] = []byte(fmt.Sprintf(`{"registration":{"mac":"5CCF7F%06X","firmware":"thinx-lib-esp8266:3.0.270","version":"1.0.0","owner":"%s","alias":"unnamed","udid":"%s","status":"%s","lat":"0.00","lon":"0.00","rssi":"-67","platform":"platformio:esp8266"}}`,
			i, s.info.Owner, u, status))
	}
	send := keepAliveSender(s)
	if newConn {
		send = newConnSender(s)
	}
	var next atomic.Int64
	var failed atomic.Int64
	lat := make([][]time.Duration, benchClients)
	cpu0 := s.cpuTime()
	start := time.Now()
	var wg sync.WaitGroup
	for c := 0; c < benchClients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1))
				if i > n {
					return
				}
				t0 := time.Now()
				if err := send(bodies[i%len(bodies)]); err != nil {
					if failed.Add(1) == 1 {
						b.Error(err)
					}
					continue
				}
				lat[c] = append(lat[c], time.Since(t0))
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpu := s.cpuTime() - cpu0
	if failed.Load() > 0 {
		b.Fatalf("%d of %d check-ins failed", failed.Load(), n)
	}
	all := slices.Concat(lat...)
	slices.Sort(all)
	ms := func(q float64) float64 { return float64(all[int(q*float64(len(all)-1))]) / 1e6 }
	return loadResult{
		rate: float64(n) / elapsed.Seconds(),
		p50:  ms(0.50),
		p99:  ms(0.99),
		cpu:  float64(cpu.Microseconds()) / float64(n),
	}
}

// keepAliveSender posts through a client that keeps its connections.
func keepAliveSender(s *benchServer) func([]byte) error {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: benchClients, DisableCompression: true}}
	url := "http://" + s.info.Addr + "/device/register"
	return func(body []byte) error {
		req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
		req.Header.Set("Authentication", s.info.Key)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Origin", "device")
		req.Header.Set("User-Agent", "THiNX-Client")
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		reply, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("status %d: %s", resp.StatusCode, reply)
		}
		return nil
	}
}

// newConnSender writes the ESP8266 library's request on a new connection
// each time, as devices do, and reads until the server closes.
func newConnSender(s *benchServer) func([]byte) error {
	return func(body []byte) error {
		c, err := net.Dial("tcp", s.info.Addr)
		if err != nil {
			return err
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(30 * time.Second))
		if _, err := c.Write(espRequest("thinx.local", s.info.Key, body)); err != nil {
			return err
		}
		reply, err := io.ReadAll(c)
		if err != nil {
			return err
		}
		if !bytes.HasPrefix(reply, []byte("HTTP/1.1 200 ")) {
			return fmt.Errorf("reply %q", reply)
		}
		return nil
	}
}
