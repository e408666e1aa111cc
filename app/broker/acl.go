package broker

import "strings"

// Login kinds.
const (
	KindDevice = "device"
	KindOwner  = "owner"
	KindAdmin  = "admin"
)

// access is what one login name may touch, derived from the registry at
// check time (through a cache that is invalidated on change), never from a
// copy of credentials. The zero access (no owner) allows nothing.
type access struct {
	kind   string
	owner  string
	udid   string   // a device's own topic level
	meshes []string // a device's mesh topic levels
	all    bool     // every topic outside $SYS (an admin's bridge)
	sys    bool     // may read $SYS
}

// deviceAccess: a device reads and writes /<owner>/<udid> and everything
// below it, /<owner>/shared and everything below it, and /<owner>/<mesh>
// for each of its meshes.
func deviceAccess(owner, udid string, meshes []string) *access {
	a := &access{kind: KindDevice, owner: owner, udid: udid}
	for _, m := range meshes {
		if m != "" && !strings.ContainsAny(m, "/+#") {
			a.meshes = append(a.meshes, m)
		}
	}
	return a
}

// ownerAccess: an owner reads and writes their whole tree, /<owner> and
// everything below it; an admin may also read $SYS.
func ownerAccess(owner string, admin bool) *access {
	a := &access{kind: KindOwner, owner: owner}
	if admin {
		a.kind, a.sys = KindAdmin, true
	}
	return a
}

// allows reports whether the login may publish to (write) or subscribe to
// and receive (read) filter. A topic name is a filter without wildcards, so
// one rule serves subscriptions, deliveries and publishes: everything the
// filter can match must lie inside the login's tree. That makes a
// subscription to "#" or "+/…" fail instead of relying on delivery-time
// checks alone. It allocates nothing: it runs for every delivery.
func (a *access) allows(filter string, write bool, maxLen int) bool {
	if a == nil || a.owner == "" || filter == "" || len(filter) > maxLen {
		return false
	}
	if filter[0] == '$' {
		// "$share/…" (any case) is refused: see Options.capabilities.
		return !write && a.sys && within(filter, "$SYS/#")
	}
	if a.all {
		return true
	}
	// Every pattern starts "/<owner>", so the filter must too, with those
	// two levels written out (no wildcard).
	rest, ok := strings.CutPrefix(filter, "/")
	if !ok {
		return false
	}
	owner, rest, more := strings.Cut(rest, "/")
	if owner != a.owner {
		return false
	}
	if a.kind != KindDevice {
		return true // within "/<owner>/#"
	}
	if !more {
		return false // "/<owner>" itself is not a device's
	}
	level, _, _ := strings.Cut(rest, "/")
	if level == a.udid || level == "shared" {
		return true // within "/<owner>/<udid>/#" or "/<owner>/shared/#"
	}
	for _, m := range a.meshes {
		if rest == m {
			return true // exactly "/<owner>/<mesh>"
		}
	}
	return false
}

// within reports whether every topic that filter matches is also matched
// by pattern. Both are MQTT topic filters; "#" matches the parent level
// too, so "a/#" covers "a". It allocates nothing: it runs on every delivery.
func within(filter, pattern string) bool {
	for {
		f, frest, fmore := strings.Cut(filter, "/")
		p, prest, pmore := strings.Cut(pattern, "/")
		if p == "#" && !pmore {
			return true
		}
		switch {
		case f == "#":
			return false // the pattern has no "#" here, so it covers less
		case f == "+":
			if p != "+" {
				return false
			}
		case p != "+" && p != f:
			return false
		}
		switch {
		case !fmore && !pmore:
			return true
		case !fmore:
			return prest == "#"
		case !pmore:
			return false
		}
		filter, pattern = frest, prest
	}
}

// topicParts splits "/<owner>/<second>/<rest>" into its owner, second level
// and rest; ok is false for topics outside any owner's tree.
func topicParts(topic string) (owner, second, rest string, ok bool) {
	if len(topic) < 65 || topic[0] != '/' {
		return "", "", "", false
	}
	owner, after, _ := strings.Cut(topic[1:], "/")
	if !isHex64(owner) {
		return "", "", "", false
	}
	second, rest, _ = strings.Cut(after, "/")
	return owner, second, rest, true
}

// isHex64 is app.IsHex64 without the regular expression: it runs per message.
func isHex64(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// isUDID reports whether s has the form of a UDID: 36 characters of hex
// digits and dashes.
func isUDID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '-' && (c < '0' || c > '9') && (c < 'a' || c > 'f') && (c < 'A' || c > 'F') {
			return false
		}
	}
	return true
}
