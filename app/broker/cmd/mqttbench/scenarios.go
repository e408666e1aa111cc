package main

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"thinx/app/broker/loadgen"
)

// anonOwner stands in for an owner ID on brokers without accounts, so every
// broker carries the same topics.
var anonOwner = strings.Repeat("0", 64)

func udid(i int) string { return fmt.Sprintf("%08x-0000-11ef-8000-000000000000", i) }

// logins returns the subscriber's and publishers' credentials and topics:
// devices and their owner on thinx, anonymous clients elsewhere.
func logins(s *server, pubs int) (sub loadgen.Login, filter string, pl []loadgen.Login, topics []string) {
	owner := s.info.Owner
	if owner == "" {
		owner = anonOwner
	}
	sub = loadgen.Login{ClientID: "bench-sub", Keepalive: 60}
	if s.info.Key != "" {
		sub.User, sub.Pass = owner, s.info.Key
	}
	for i := range pubs {
		l := loadgen.Login{ClientID: fmt.Sprintf("bench-pub-%d", i), Keepalive: 60}
		if s.info.Key != "" {
			l.User, l.Pass = udid(i), s.info.Key
		}
		pl = append(pl, l)
		topics = append(topics, "/"+owner+"/"+udid(i)+"/bench")
	}
	return sub, "/" + owner + "/+/bench", pl, topics
}

const repeats = 5

// fanin compares delivered messages per second, 10 publishers into one
// subscriber, at QoS 1 and QoS 0; the median of five runs.
func (b *bench) fanin() error {
	fmt.Fprintf(b.out, "## Fan-in: %d publishers → 1 subscriber, %d messages each, 64 B, QoS 1 window %d\n\n",
		b.cfg.pubs, b.cfg.msgs, b.cfg.window)
	fmt.Fprintln(b.out, "| QoS | thinx msg/s | lost (worst run) | CPU s / 100k | mosquitto msg/s | lost (worst run) | CPU s / 100k | ratio |")
	fmt.Fprintln(b.out, "|---|---|---|---|---|---|---|---|")
	for _, q := range strings.Split(b.cfg.qos, ",") {
		qos := byte(0)
		if strings.TrimSpace(q) == "1" {
			qos = 1
		}
		runs := map[string][]fanRun{}
		// Alternate the brokers, so a change in background load on the
		// machine hits both alike.
		for range repeats {
			for _, kind := range strings.Fields(envOr("MQTTBENCH_FANIN", "thinx mosquitto")) {
				r, used, err := b.faninOnce(kind, qos)
				if err != nil {
					return fmt.Errorf("fan-in on %s: %w", kind, err)
				}
				perMsg := used.Seconds() * 1e5 / float64(max(r.Received, 1))
				fmt.Fprintf(b.log, "fan-in QoS %d %s: %.0f msg/s, %d of %d delivered, %d duplicates, server CPU %.2f s per 100k\n",
					qos, kind, r.Rate, r.Received, r.Sent, r.Duplicates, perMsg)
				runs[kind] = append(runs[kind], fanRun{r, perMsg})
			}
		}
		t, m := median(runs["thinx"]), median(runs["mosquitto"])
		fmt.Fprintf(b.out, "| %d | %.0f | %s | %.2f | %.0f | %s | %.2f | %.2f× |\n", qos, t.Rate, lost(runs["thinx"]), t.cpu,
			m.Rate, lost(runs["mosquitto"]), m.cpu, t.Rate/m.Rate)
	}
	fmt.Fprintln(b.out)
	return nil
}

// fanRun is one fan-in with the server's processor seconds per 100,000
// messages.
type fanRun struct {
	loadgen.FanInResult
	cpu float64
}

func median(rs []fanRun) fanRun {
	if len(rs) == 0 {
		return fanRun{}
	}
	s := append([]fanRun(nil), rs...)
	sort.Slice(s, func(i, j int) bool { return s[i].Rate < s[j].Rate })
	return s[len(s)/2]
}

// lost is the worst loss of the runs, as a count and a share.
func lost(rs []fanRun) string {
	var worst fanRun
	for _, r := range rs {
		if r.Sent-r.Received > worst.Sent-worst.Received {
			worst = r
		}
	}
	if worst.Sent == 0 {
		return "0"
	}
	return fmt.Sprintf("%d (%.4f %%)", worst.Sent-worst.Received, worst.LossPercent)
}

// faninOnce runs one fan-in on a fresh server and returns the processor
// time the server spent on it.
func (b *bench) faninOnce(kind string, qos byte) (loadgen.FanInResult, time.Duration, error) {
	s, err := b.start(kind)
	if err != nil {
		return loadgen.FanInResult{}, 0, err
	}
	defer s.stop()
	sub, filter, pubs, topics := logins(s, b.cfg.pubs)
	before := s.cpu()
	r, err := loadgen.FanIn{Addr: s.info.Addr, Sub: sub, SubFilter: filter, Pubs: pubs, Topics: topics,
		Msgs: b.cfg.msgs, QoS: qos, Window: b.cfg.window, Payload: 64, Drain: 2 * time.Second}.Run()
	return r, s.cpu() - before, err
}

// idle measures resident memory per logged-in idle connection.
func (b *bench) idle() error {
	what := "idle connections"
	if b.cfg.subscribe {
		what = "idle connections, each subscribed to its device topic"
	}
	fmt.Fprintf(b.out, "## %d %s: resident memory of the server\n\n", b.cfg.conns, what)
	fmt.Fprintln(b.out, "| broker | RSS before | RSS with connections | per connection | after a GC cycle | per connection |")
	fmt.Fprintln(b.out, "|---|---|---|---|---|---|")
	for _, kind := range []string{"thinx", "mosquitto", "raw"} {
		s, err := b.start(kind)
		if err != nil {
			return err
		}
		time.Sleep(time.Second)
		before := s.rss()
		start := time.Now()
		set, err := loadgen.OpenIdle(s.info.Addr, b.cfg.conns, 100, func(i int) loadgen.Login {
			l := loadgen.Login{ClientID: fmt.Sprintf("idle-%d", i), Keepalive: 900}
			if s.info.Key != "" {
				l.User, l.Pass = udid(i), s.info.Key
			}
			return l
		})
		if err == nil && b.cfg.subscribe {
			owner := s.info.Owner
			if owner == "" {
				owner = anonOwner
			}
			err = set.Subscribe(func(i int) string { return "/" + owner + "/" + udid(i) }, 1)
		}
		if err != nil {
			if set != nil {
				set.Close()
			}
			s.stop()
			return fmt.Errorf("idle on %s: %w", kind, err)
		}
		opened := time.Since(start)
		time.Sleep(5 * time.Second) // let allocation settle
		after := s.rss()
		// A Go server collects garbage at least every two minutes and then
		// hands free pages back; ask for that now rather than wait for it.
		collected := after
		if kind != "mosquitto" {
			var m memStats
			if err := s.request("gc", &m); err == nil {
				fmt.Fprintf(b.log, "idle %s: live heap %.1f MB, stacks %.1f MB, %d goroutines\n", kind,
					float64(m.HeapInuse)/(1<<20), float64(m.StackInuse)/(1<<20), m.Goroutines)
			}
			time.Sleep(time.Second)
			collected = s.rss()
		}
		set.Close()
		s.stop()
		name := map[string]string{"thinx": "thinx", "mosquitto": "mosquitto", "raw": "embedded broker, stock settings"}[kind]
		per := func(v int64) float64 { return float64(v-before) / float64(b.cfg.conns) / 1024 }
		fmt.Fprintf(b.out, "| %s | %.1f MB | %.1f MB | %.1f KB | %.1f MB | %.1f KB |\n", name, mb(before), mb(after),
			per(after), mb(collected), per(collected))
		fmt.Fprintf(b.log, "idle %s: %d connections opened in %s\n", kind, b.cfg.conns, opened.Round(time.Millisecond))
	}
	fmt.Fprintln(b.out)
	return nil
}

func mb(n int64) float64 { return float64(n) / (1 << 20) }

// status measures publish-to-stored delay for a fleet reporting once a
// second through the tap into SQLite.
func (b *bench) status() error {
	s, err := b.start("thinx")
	if err != nil {
		return err
	}
	defer s.stop()
	var warm latency
	_ = s.request("report", &warm) // discard connection-time writes
	sent, err := loadgen.StatusLoad{Addr: s.info.Addr, Devices: b.cfg.devices,
		Login: func(i int) loadgen.Login {
			return loadgen.Login{ClientID: fmt.Sprintf("dev-%d", i), User: udid(i), Pass: s.info.Key, Keepalive: 60}
		},
		Topic:    func(i int) string { return "/" + s.info.Owner + "/" + udid(i) + "/status" },
		Interval: time.Second, Duration: b.cfg.duration, QoS: 1}.Run()
	if err != nil {
		return fmt.Errorf("status load: %w", err)
	}
	time.Sleep(time.Second)
	var l latency
	if err := s.request("report", &l); err != nil {
		return err
	}
	fmt.Fprintf(b.out, "## %d devices, one status a second for %s, through the tap into SQLite\n\n", b.cfg.devices, b.cfg.duration)
	fmt.Fprintln(b.out, "| sent | stored | p50 | p90 | p99 | max | history rows |")
	fmt.Fprintln(b.out, "|---|---|---|---|---|---|---|")
	fmt.Fprintf(b.out, "| %d | %d | %.1f ms | %.1f ms | %.1f ms | %.1f ms | %d |\n\n", sent, l.Count, l.P50, l.P90, l.P99, l.Max, l.HistoryRows)
	return nil
}

func envOr(k, d string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return d
}
