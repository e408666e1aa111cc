package transform

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// nativeKeyValue is examples/keyvalue.go.txt compiled by Go, the yardstick
// for the interpreter.
func nativeKeyValue(status string, device Device) (string, error) {
	var parts []string
	low := false
	for _, kv := range strings.Split(status, ";") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			continue
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return "", fmt.Errorf("%s: %w", k, err)
		}
		switch k {
		case "bat":
			parts = append(parts, fmt.Sprintf("Battery %.2fV", f))
			low = f < 3.3
		case "rssi":
			parts = append(parts, fmt.Sprintf("RSSI %.0f dBm", f))
		case "temp":
			parts = append(parts, fmt.Sprintf("%.1f°C", f))
		}
	}
	out := strings.Join(parts, ", ")
	if low {
		out += " #w"
	}
	return out, nil
}

const kvStatus = "bat=3.21;rssi=-67;temp=21.5"

func keyValueScript(tb testing.TB) Script {
	for _, ex := range Examples() {
		if ex.Name == "keyvalue" {
			return Script{ID: "keyvalue", Version: 1, Source: ex.Source}
		}
	}
	tb.Fatal("no keyvalue example")
	return Script{}
}

// BenchmarkTransform compares one realistic transformer (split, parse,
// convert, format) compiled natively, interpreted by yaegi, interpreted
// under the watchdog, and end to end through Engine.Run in-process and
// through a worker process, one call at a time.
func BenchmarkTransform(b *testing.B) {
	s := keyValueScript(b)
	dev := Device{Alias: "dev"}
	want, _ := nativeKeyValue(kvStatus, dev)
	b.Run("native", func(b *testing.B) {
		for b.Loop() {
			_, _ = nativeKeyValue(kvStatus, dev)
		}
	})
	u, err := compile(s.Source, compileTimeout)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("interpreted", func(b *testing.B) {
		for b.Loop() {
			if out, _ := u.fn(kvStatus, dev); out != want {
				b.Fatalf("got %q", out)
			}
		}
	})
	b.Run("watchdog", func(b *testing.B) {
		r := newRunner(1)
		for b.Loop() {
			_, _, _, _ = r.call(u, kvStatus, dev, DefaultTimeout)
		}
	})
	for _, inProcess := range []bool{true, false} {
		name := map[bool]string{true: "engine-in-process", false: "engine-worker"}[inProcess]
		b.Run(name, func(b *testing.B) {
			e := newTestEngine(b, Options{Workers: 1, InProcess: inProcess})
			for b.Loop() {
				if r, err := e.Run(context.Background(), "o", s, kvStatus, dev); err != nil || r.Output != want {
					b.Fatalf("got %q, %v", r.Output, err)
				}
			}
		})
	}
}

// BenchmarkThroughput drives the default pool of two workers with many
// concurrent callers and owners, as a busy server would, and reports
// transforms per second.
func BenchmarkThroughput(b *testing.B) {
	s := keyValueScript(b)
	e := newTestEngine(b, Options{Workers: 2})
	var owner atomic.Int64
	b.SetParallelism(32)
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		o := fmt.Sprintf("owner-%d", owner.Add(1))
		for pb.Next() {
			if _, err := e.Run(context.Background(), o, s, kvStatus, Device{}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "transforms/s")
}

// BenchmarkRunawayRecovery measures how long another owner waits when a
// runaway script starts: from the start of the runaway call to the other
// owner's transform being answered. The owners hash to the same worker.
func BenchmarkRunawayRecovery(b *testing.B) {
	e := newTestEngine(b, Options{Workers: 2, QuarantineAfter: 1 << 30})
	runaway, other := ownersOnOneSlot(2)
	loop := Script{ID: "loop", Version: 1, Source: counter}
	good := keyValueScript(b)
	if _, err := e.Run(context.Background(), other, good, kvStatus, Device{}); err != nil {
		b.Fatal(err)
	}
	var total, worst time.Duration
	for b.Loop() {
		done := make(chan struct{})
		start := time.Now()
		go func() {
			_, _ = e.Run(context.Background(), runaway, loop, "loop", Device{})
			close(done)
		}()
		if _, err := e.Run(context.Background(), other, good, kvStatus, Device{}); err != nil {
			b.Fatal(err)
		}
		d := time.Since(start)
		total += d
		worst = max(worst, d)
		<-done
	}
	b.ReportMetric(float64(total.Microseconds())/float64(b.N)/1000, "ms-to-answer")
	b.ReportMetric(float64(worst.Microseconds())/1000, "worst-ms")
}
