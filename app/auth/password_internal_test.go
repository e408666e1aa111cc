package auth

import (
	"strings"
	"testing"
)

// TestDummyHashMatchesParameters: an unknown account must cost what a real
// one does, so the constant dummy hash must use today's parameters.
func TestDummyHashMatchesParameters(t *testing.T) {
	params := func(h string) string {
		p := strings.Split(h, "$")
		if len(p) != 6 {
			t.Fatalf("%q is not a PHC string", h)
		}
		return strings.Join(p[:4], "$")
	}
	if got, want := params(dummyHash), params(HashPassword("x")); got != want {
		t.Errorf("dummy hash parameters %s, HashPassword uses %s: update dummyHash", got, want)
	}
	if VerifyPassword(dummyHash, "") || VerifyPassword(dummyHash, "thinx") {
		t.Error("the dummy hash matches a guessable password")
	}
}
