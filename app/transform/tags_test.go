package transform

import (
	"reflect"
	"testing"
)

func TestTags(t *testing.T) {
	cases := []struct {
		in, text string
		tags     []string
	}{
		{"Battery 3.42V", "Battery 3.42V", nil},
		{"Battery 3.1V #w", "Battery 3.1V", []string{"warning"}},
		{"Battery 3.3 V#W", "Battery 3.3 V", []string{"warning"}},
		{"#E overheated #i", "overheated", []string{"error", "info"}},
		{"a #w #w b", "a b", []string{"warning"}},
		{"see #info and #w2", "see #info and #w2", nil},
		{"#e,#w", ",", []string{"error", "warning"}},
		{"trailing #", "trailing #", nil},
	}
	for _, c := range cases {
		text, tags := Tags(c.in)
		if text != c.text || !reflect.DeepEqual(tags, c.tags) {
			t.Errorf("Tags(%q) = %q, %q; want %q, %q", c.in, text, tags, c.text, c.tags)
		}
	}
}
