package web

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Metrics counts HTTP requests and serves Prometheus text. Other features
// add gauges and counters through Gauge.
type Metrics struct {
	start time.Time

	mu       sync.Mutex
	requests map[reqKey]uint64
	buckets  []float64
	hist     map[string]*histogram
	gauges   map[string]gauge
}

type reqKey struct {
	route string
	code  int
}

type histogram struct {
	counts []uint64
	sum    float64
	n      uint64
}

type gauge struct {
	help, kind string
	fn         func() float64
}

// NewMetrics starts counting now.
func NewMetrics() *Metrics {
	return &Metrics{
		start:    time.Now(),
		requests: map[reqKey]uint64{},
		buckets:  []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		hist:     map[string]*histogram{},
		gauges:   map[string]gauge{},
	}
}

// Gauge registers a value read at scrape time. kind is "gauge" or "counter".
func (m *Metrics) Gauge(name, kind, help string, fn func() float64) {
	m.mu.Lock()
	m.gauges[name] = gauge{help: help, kind: kind, fn: fn}
	m.mu.Unlock()
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(c int) {
	if w.code == 0 {
		w.code = c
	}
	w.ResponseWriter.WriteHeader(c)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = 200
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach Flush and deadlines (SSE).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// instrument records each request under its route pattern (never the raw
// path, so IDs in URLs cannot blow up the number of series).
func (m *Metrics) instrument(mux *http.ServeMux, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t0 := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		_, route := mux.Handler(r)
		if route == "" {
			route = "unmatched"
		}
		m.observe(route, sw.code, time.Since(t0).Seconds())
	})
}

func (m *Metrics) observe(route string, code int, secs float64) {
	if code == 0 {
		code = 200
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.requests[reqKey{route, code}]++
	h := m.hist[route]
	if h == nil {
		h = &histogram{counts: make([]uint64, len(m.buckets))}
		m.hist[route] = h
	}
	for i, b := range m.buckets {
		if secs <= b {
			h.counts[i]++
		}
	}
	h.sum += secs
	h.n++
}

// Write writes every metric in the Prometheus text format.
func (m *Metrics) Write(w io.Writer) {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	cpu := float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
	p := func(name, kind, help string, v float64) {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n%s %s\n", name, help, name, kind, name, strconv.FormatFloat(v, 'g', -1, 64))
	}
	p("process_cpu_seconds_total", "counter", "User and system CPU time spent in seconds.", cpu)
	p("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", float64(rss()))
	p("process_start_time_seconds", "gauge", "Start time of the process since the Unix epoch in seconds.", float64(m.start.Unix()))
	p("go_goroutines", "gauge", "Number of goroutines.", float64(runtime.NumGoroutine()))
	p("go_memstats_heap_alloc_bytes", "gauge", "Bytes of allocated heap objects.", float64(ms.HeapAlloc))
	p("go_memstats_sys_bytes", "gauge", "Bytes obtained from the system.", float64(ms.Sys))

	m.mu.Lock()
	defer m.mu.Unlock()
	fmt.Fprint(w, "# HELP thinx_http_requests_total HTTP requests by route and status code.\n# TYPE thinx_http_requests_total counter\n")
	keys := make([]reqKey, 0, len(m.requests))
	for k := range m.requests {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].route != keys[j].route {
			return keys[i].route < keys[j].route
		}
		return keys[i].code < keys[j].code
	})
	for _, k := range keys {
		fmt.Fprintf(w, "thinx_http_requests_total{route=%q,code=\"%d\"} %d\n", k.route, k.code, m.requests[k])
	}
	fmt.Fprint(w, "# HELP thinx_http_request_duration_seconds HTTP request duration by route.\n# TYPE thinx_http_request_duration_seconds histogram\n")
	routes := make([]string, 0, len(m.hist))
	for r := range m.hist {
		routes = append(routes, r)
	}
	sort.Strings(routes)
	for _, r := range routes {
		h := m.hist[r]
		for i, b := range m.buckets {
			fmt.Fprintf(w, "thinx_http_request_duration_seconds_bucket{route=%q,le=\"%g\"} %d\n", r, b, h.counts[i])
		}
		fmt.Fprintf(w, "thinx_http_request_duration_seconds_bucket{route=%q,le=\"+Inf\"} %d\n", r, h.n)
		fmt.Fprintf(w, "thinx_http_request_duration_seconds_sum{route=%q} %g\nthinx_http_request_duration_seconds_count{route=%q} %d\n", r, h.sum, r, h.n)
	}
	names := make([]string, 0, len(m.gauges))
	for n := range m.gauges {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		g := m.gauges[n]
		p(n, g.kind, g.help, g.fn())
	}
}

// rss reads the resident set size from /proc; 0 where there is none.
func rss() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseInt(f[1], 10, 64)
	return pages * int64(os.Getpagesize())
}
