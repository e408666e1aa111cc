package app

import "testing"

func TestStatusMarkers(t *testing.T) {
	for _, c := range []struct{ in, text, level string }{
		{"Battery 3.42V", "Battery 3.42V", ""},
		{"Battery 3.1V #w", "Battery 3.1V", LevelWarning},
		{"Battery 3.3 V#W", "Battery 3.3 V", LevelWarning},
		{"#E overheated #i", "overheated", LevelError},
		{"#i started #w", "started", LevelWarning},
		{"a #w #w b", "a b", LevelWarning},
		{"see #info and #w2", "see #info and #w2", ""},
		{"#e,#w", ",", LevelError},
		{"trailing #", "trailing #", ""},
		{"#i", "", LevelInfo},
	} {
		if got := StripStatusMarkers(c.in); got != c.text {
			t.Errorf("StripStatusMarkers(%q) = %q, want %q", c.in, got, c.text)
		}
		if got := StatusLevel(c.in); got != c.level {
			t.Errorf("StatusLevel(%q) = %q, want %q", c.in, got, c.level)
		}
	}
}
