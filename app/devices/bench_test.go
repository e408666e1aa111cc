package devices_test

import (
	"context"
	"sync/atomic"
	"testing"
)

// The check-in path without HTTP: parse, key check, group commit, reply.
//
//	go test ./app/devices -run '^$' -bench RegisterJSON -benchmem
func BenchmarkRegisterJSON(b *testing.B) {
	e := newEnv(b)
	o := e.owner("bench")
	var bodies [][]byte
	for i := 0; i < 1000; i++ {
		r := e.checkin(o, o.Key, regBody(o, "", "boot"))
		bodies = append(bodies, regBody(o, r.UDID, "Running"))
	}
	var n atomic.Int64
	b.SetParallelism(16)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			if out, status := e.svc.RegisterJSON(context.Background(), o.Key, "127.0.0.1", bodies[int(i)%len(bodies)]); status != 200 {
				b.Fatalf("%d %s", status, out)
			}
		}
	})
}
