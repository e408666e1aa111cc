package broker

import (
	"strings"
	"testing"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

const (
	ownerA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	ownerB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	udidA  = "11111111-0000-11ef-8000-5ccf7fa1b2c3"
	udidA2 = "22222222-0000-11ef-8000-5ccf7fa1b2c3"
)

func TestWithin(t *testing.T) {
	for _, tc := range []struct {
		filter, pattern string
		want            bool
	}{
		{"a/b", "a/b", true},
		{"a/b", "a/+", true},
		{"a/b", "a/#", true},
		{"a", "a/#", true}, // "#" covers the parent level
		{"a/b/c", "a/#", true},
		{"a/#", "a/#", true},
		{"a/+", "a/#", true},
		{"a/+/c", "a/+/c", true},
		{"a/+", "a/b", false},
		{"a/#", "a/+", false},
		{"a/#", "a/b/#", false},
		{"#", "a/#", false},
		{"+/b", "a/b", false},
		{"a/b/c", "a/b", false},
		{"a", "a/b", false},
		{"", "#", true},
		{"$SYS/x", "$SYS/#", true},
		{"/" + ownerA + "/x", "/" + ownerA + "/#", true},
		{"/" + ownerB + "/x", "/" + ownerA + "/#", false},
		{"+/" + ownerA + "/#", "/" + ownerA + "/#", false},
	} {
		if got := within(tc.filter, tc.pattern); got != tc.want {
			t.Errorf("within(%q, %q) = %v, want %v", tc.filter, tc.pattern, got, tc.want)
		}
	}
}

func TestAllows(t *testing.T) {
	dev := deviceAccess(ownerA, udidA, []string{"mesh1", "bad/mesh", "bad+", ""})
	own := ownerAccess(ownerA, false)
	adm := ownerAccess(ownerA, true)
	a := "/" + ownerA
	for _, tc := range []struct {
		name   string
		acc    *access
		filter string
		write  bool
		want   bool
	}{
		{"device own topic", dev, a + "/" + udidA, true, true},
		{"device below own topic", dev, a + "/" + udidA + "/status", true, true},
		{"device own subtree", dev, a + "/" + udidA + "/#", false, true},
		{"device shared", dev, a + "/shared/x", true, true},
		{"device shared tree", dev, a + "/shared/#", false, true},
		{"device mesh", dev, a + "/mesh1", true, true},
		{"device below mesh", dev, a + "/mesh1/x", true, false},
		{"device mesh with slash is ignored", dev, a + "/bad/mesh", true, false},
		{"device sibling", dev, a + "/" + udidA2, false, false},
		{"device sibling status", dev, a + "/" + udidA2 + "/status", true, false},
		{"device owner tree", dev, a + "/#", false, false},
		{"device plus", dev, a + "/+/status", false, false},
		{"device hash", dev, "#", false, false},
		{"device sys", dev, "$SYS/#", false, false},
		{"owner tree", own, a + "/#", false, true},
		{"owner any device", own, a + "/" + udidA2 + "/status", true, true},
		{"owner plus", own, a + "/+/status", false, true},
		{"owner root", own, a, true, true},
		{"owner hash", own, "#", false, false},
		{"owner plus first level", own, "+/" + ownerA + "/#", false, false},
		{"owner other tree", own, "/" + ownerB + "/#", false, false},
		{"owner other topic", own, "/" + ownerB + "/x", true, false},
		{"owner sys", own, "$SYS/#", false, false},
		{"owner no leading slash", own, ownerA + "/x", true, false},
		{"admin sys read", adm, "$SYS/broker/uptime", false, true},
		{"admin sys tree", adm, "$SYS/#", false, true},
		{"admin sys write", adm, "$SYS/broker/uptime", true, false},
		{"admin other tree", adm, "/" + ownerB + "/#", false, false},
		{"shared subscription", own, "$share/g/" + a + "/#", false, false},
		{"shared subscription upper case", adm, "$SHARE/g/$SYS/#", false, false},
		{"too long", own, a + "/" + strings.Repeat("x", 300), true, false},
		{"empty", own, "", true, false},
		{"denied login", denied, a + "/x", false, false},
	} {
		if got := tc.acc.allows(tc.filter, tc.write, 256); got != tc.want {
			t.Errorf("%s: allows(%q, write=%v) = %v, want %v", tc.name, tc.filter, tc.write, got, tc.want)
		}
	}
}

func TestTopicParts(t *testing.T) {
	o, s, r, ok := topicParts("/" + ownerA + "/" + udidA + "/status")
	if !ok || o != ownerA || s != udidA || r != "status" {
		t.Errorf("got %q %q %q %v", o, s, r, ok)
	}
	for _, bad := range []string{"", "/x/y", ownerA + "/x", "/" + strings.ToUpper(ownerA) + "/x", "$SYS/" + ownerA} {
		if _, _, _, ok := topicParts(bad); ok {
			t.Errorf("topicParts(%q) accepted", bad)
		}
	}
}

// FuzzACL checks the property the isolation rests on, with the broker's
// own topic index as the judge of what a filter matches: whatever a login
// may subscribe to, every topic the broker would deliver through that
// subscription is one the login may read.
func FuzzACL(f *testing.F) {
	a := "/" + ownerA
	for _, s := range [][2]string{
		{a + "/#", a + "/x"}, {"#", "/" + ownerB + "/x"}, {"+/#", a + "/" + udidA}, {a + "/+/status", a + "/" + udidA2 + "/status"},
		{"$SYS/#", "$SYS/broker/uptime"}, {a + "/" + udidA + "/#", a + "/" + udidA}, {a + "/shared/#", a + "/shared"},
		{"/+/+", "/" + ownerB + "/x"}, {a + "/mesh1", a + "/mesh1"}, {"+", "x"},
	} {
		f.Add(s[0], s[1])
	}
	logins := []*access{deviceAccess(ownerA, udidA, []string{"mesh1"}), ownerAccess(ownerA, false), ownerAccess(ownerA, true)}
	f.Fuzz(func(t *testing.T, filter, topic string) {
		if !mqtt.IsValidFilter(filter, false) || !mqtt.IsValidFilter(topic, true) || strings.ContainsAny(topic, "\x00") {
			return
		}
		idx := mqtt.NewTopicsIndex()
		idx.Subscribe("c", packets.Subscription{Filter: filter})
		delivered := len(idx.Subscribers(topic).Subscriptions) > 0
		for _, acc := range logins {
			if acc.allows(filter, false, 1<<16) && delivered && !acc.allows(topic, false, 1<<16) {
				t.Fatalf("%s may subscribe to %q, which delivers %q, a topic it may not read", acc.kind, filter, topic)
			}
			if acc.allows(topic, true, 1<<16) && !acc.allows(topic, false, 1<<16) {
				t.Fatalf("%s may write %q but not read it", acc.kind, topic)
			}
		}
	})
}
