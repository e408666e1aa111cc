package transform

import "strings"

// statusTags maps the marker letters a transformer may put in its output to
// the severity the console shows as an icon.
var statusTags = map[byte]string{'e': "error", 'w': "warning", 'i': "info"}

// Tags splits a transformed status into the text to display and its severity
// tags. The markers #e, #w and #i (any case) become "error", "warning" and
// "info"; they are removed from the text together with the spaces before
// them. A marker is only recognised when it is not followed by a
// letter or digit, so "#info" or "#w2" stay in the text. Each tag is
// reported once, in order of first appearance.
//
//	Tags("Battery 3.1V #w") == "Battery 3.1V", ["warning"]
func Tags(status string) (text string, tags []string) {
	if !strings.Contains(status, "#") {
		return strings.TrimSpace(status), nil
	}
	buf := make([]byte, 0, len(status))
	for i := 0; i < len(status); i++ {
		c := status[i]
		if c == '#' && i+1 < len(status) {
			tag, ok := statusTags[lower(status[i+1])]
			if ok && (i+2 == len(status) || !isWordByte(status[i+2])) {
				if !contains(tags, tag) {
					tags = append(tags, tag)
				}
				// "3.1V #w ok" reads "3.1V ok", not "3.1V  ok".
				for len(buf) > 0 && buf[len(buf)-1] == ' ' {
					buf = buf[:len(buf)-1]
				}
				i++
				continue
			}
		}
		buf = append(buf, c)
	}
	return strings.TrimSpace(string(buf)), tags
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func isWordByte(c byte) bool {
	return c == '_' || '0' <= c && c <= '9' || 'a' <= lower(c) && lower(c) <= 'z'
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
