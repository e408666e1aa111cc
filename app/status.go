package app

import "strings"

// StripStatusMarkers removes the #e, #w and #i markers from a status so the
// console shows them as badges instead of text. A "#" followed by a longer
// word ("#info", "#5") stays.
func StripStatusMarkers(s string) string {
	if !strings.Contains(s, "#") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '#' && i+1 < len(s) && strings.IndexByte("eEwWiI", s[i+1]) >= 0 && (i+2 >= len(s) || !isWordByte(s[i+2])) {
			i++
			continue
		}
		b.WriteByte(s[i])
	}
	return strings.Join(strings.Fields(b.String()), " ")
}
