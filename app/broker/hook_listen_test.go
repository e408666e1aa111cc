package broker

import "testing"

func TestFilterMatches(t *testing.T) {
	own := "/" + "o" + "/" + "u"
	for _, c := range []struct {
		filter string
		want   bool
	}{
		{"/o/u", true}, {"/o/+", true}, {"/o/#", true}, {"#", true}, {"/+/u", true}, {"/o/u/#", true},
		{"/o/u/status", false}, {"/o/x", false}, {"/o", false}, {"+/u", false}, {"/o/u/+", false},
	} {
		if got := filterMatches(c.filter, own); got != c.want {
			t.Errorf("%q on %q: %v, want %v", c.filter, own, got, c.want)
		}
	}
}
