package transform

import (
	"context"
	"testing"
)

// Each example runs on a sample status like a device would send.
func TestExamples(t *testing.T) {
	cases := map[string]struct {
		status string
		dev    Device
		want   string
	}{
		"battery":    {"ba0d5a", Device{}, "Battery 3.42V"},
		"sigfox":     {"ba40533333086a2d", Device{}, "Battery 3.30V, 21.5°C, 45% RH"},
		"json":       {`{"temp":21.5,"hum":40,"fw":"1.2.3"}`, Device{Version: "1.2.2"}, "21.5°C, 40% RH, firmware 1.2.3"},
		"thresholds": {"71.5", Device{Env: map[string]string{"ERROR_ABOVE": "70"}}, "Temperature 71.5°C #e"},
		"keyvalue":   {"bat=3.21;rssi=-67;temp=21.5", Device{}, "Battery 3.21V, RSSI -67 dBm, 21.5°C #w"},
	}
	e := newTestEngine(t, Options{})
	examples := Examples()
	if len(examples) != len(cases) {
		t.Fatalf("%d examples, %d test cases", len(examples), len(cases))
	}
	for _, ex := range examples {
		t.Run(ex.Name, func(t *testing.T) {
			if probs := Check(ex.Source); len(probs) > 0 {
				t.Fatalf("Check: %v", probs)
			}
			c, ok := cases[ex.Name]
			if !ok {
				t.Fatalf("no sample status for example %q", ex.Name)
			}
			if ex.Title == "" {
				t.Error("example has no title comment")
			}
			r, err := e.Run(context.Background(), "owner", Script{ID: ex.Name, Version: 1, Source: ex.Source}, c.status, c.dev)
			if err != nil {
				t.Fatal(err)
			}
			if r.Output != c.want {
				t.Errorf("got %q, want %q", r.Output, c.want)
			}
		})
	}
}
