package cli_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"thinx/app/auth"
	"thinx/app/devices"
	"thinx/app/store"
	"thinx/app/transform"
)

// Status messages transformed and stored per second, end to end through
// the device registry (group commit into SQLite) and the transformer
// worker processes, beside the same load with no transformer attached:
//
//	go test ./app/cli -run '^$' -bench StatusPipeline -benchtime 20000x
func BenchmarkStatusPipeline(b *testing.B) {
	for _, arm := range []string{"pass-through", "transformed"} {
		b.Run(arm, func(b *testing.B) { statusPipeline(b, arm == "transformed") })
	}
}

func statusPipeline(b *testing.B, transformed bool) {
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	db, err := store.Open(ctx, b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	keys := auth.NewService(db, log)
	o, err := keys.CreateOwner(ctx, "bench@example.com", "bench password", false)
	if err != nil {
		b.Fatal(err)
	}
	key, _, err := keys.CreateKey(ctx, o.ID, "bench", "")
	if err != nil {
		b.Fatal(err)
	}
	engine, err := transform.NewEngine(transform.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer engine.Close()
	tr := transform.NewService(db, engine, log)
	dev := devices.New(db, keys, nil, log)
	dev.Transformer = tr
	if err := dev.Start(); err != nil {
		b.Fatal(err)
	}
	defer dev.Close()

	udids := make([]string, 1000)
	for i := range udids {
		reply, status := dev.RegisterJSON(ctx, key, "127.0.0.1", []byte(`{"registration":{"owner":"`+o.ID+`","mac":"5CCF7F000000","status":"boot"}}`))
		var r struct{ Registration struct{ UDID string } }
		if err := json.Unmarshal(reply, &r); err != nil || status != 200 {
			b.Fatalf("register: %d %s", status, reply)
		}
		udids[i] = r.Registration.UDID
	}
	if transformed {
		t, err := tr.Save(ctx, o.ID, "", "Battery", transform.Examples()[0].Source, "")
		if err != nil {
			b.Fatal(err)
		}
		for _, u := range udids {
			if err := tr.Attach(ctx, o.ID, u, []string{t.ID}, ""); err != nil {
				b.Fatal(err)
			}
		}
	}
	var n atomic.Int64
	b.SetParallelism(16)
	b.ResetTimer()
	t0 := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			u := udids[int(n.Add(1))%len(udids)]
			if err := dev.Status(ctx, o.ID, u, "ba0d5a"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(t0).Seconds(), "statuses/s")
	b.StopTimer()
	d, err := dev.Get(ctx, o.ID, udids[1]) // the first status goes to udids[1]
	if want := map[bool]string{true: "Battery 3.42V", false: "ba0d5a"}[transformed]; err != nil || d.StatusLine() != want || d.StatusError != "" {
		b.Fatalf("stored status %q (error %q), want %q: %v", d.StatusLine(), d.StatusError, want, err)
	}
}
