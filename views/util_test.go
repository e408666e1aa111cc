package views

import (
	"testing"
	"time"
)

func TestSpan(t *testing.T) {
	for d, want := range map[time.Duration]string{
		24 * time.Hour: "24 hours", 168 * time.Hour: "7 days", time.Hour: "1 hour", 90 * time.Minute: "90 minutes",
		time.Minute: "1 minute", 48 * time.Hour: "2 days", 36 * time.Hour: "36 hours",
	} {
		if got := Span(d); got != want {
			t.Errorf("Span(%v) = %q, want %q", d, got, want)
		}
	}
}
