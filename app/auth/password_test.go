package auth_test

import (
	"encoding/base64"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"

	"thinx/app"
	"thinx/app/auth"
)

func TestHashPasswordIsArgon2idPHC(t *testing.T) {
	t.Parallel()
	h := auth.HashPassword("a passphrase")
	re := regexp.MustCompile(`^\$argon2id\$v=19\$m=19456,t=2,p=1\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$`)
	m := re.FindStringSubmatch(h)
	if m == nil {
		t.Fatalf("hash %q is not argon2id m=19456 (19 MiB), t=2, p=1 in PHC form", h)
	}
	salt, _ := base64.RawStdEncoding.DecodeString(m[1])
	key, _ := base64.RawStdEncoding.DecodeString(m[2])
	if len(salt) != 16 || len(key) != 32 {
		t.Errorf("salt %d bytes, key %d bytes; want 16 and 32", len(salt), len(key))
	}
	if h2 := auth.HashPassword("a passphrase"); h2 == h {
		t.Error("two hashes of one password are equal: the salt is not random")
	}
}

func TestVerifyPassword(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("p", 99)
	hLong := auth.HashPassword(long + "a")
	h := auth.HashPassword("s3cret-pass")
	parts := strings.Split(h, "$")
	cases := []struct {
		name string
		hash string
		pw   string
		want bool
	}{
		{"right", h, "s3cret-pass", true},
		{"wrong", h, "s3cret-pasS", false},
		{"prefix", h, "s3cret-pas", false},
		{"empty", h, "", false},
		{"100 chars", hLong, long + "a", true},
		{"100 chars, last differs (no truncation)", hLong, long + "b", false},
		{"101 chars, one appended", hLong, long + "ab", false},
		{"not PHC", "plain", "plain", false},
		{"bcrypt", "$2a$10$abcdefghijklmnopqrstuuJ2fV7nYj6sZ0rP9a0fQp6QyKcS3E1Em", "x", false},
		{"empty hash", "", "", false},
		{"zero memory", strings.Join([]string{"", "argon2id", "v=19", "m=0,t=2,p=1", parts[4], parts[5]}, "$"), "s3cret-pass", false},
		{"memory past 1 GiB refused (denial of service)", strings.Join([]string{"", "argon2id", "v=19", "m=2000000,t=1,p=1", parts[4], parts[5]}, "$"), "s3cret-pass", false},
		{"bad base64", strings.Join([]string{"", "argon2id", "v=19", parts[3], "!!", parts[5]}, "$"), "s3cret-pass", false},
		{"empty key", strings.Join([]string{"", "argon2id", "v=19", parts[3], parts[4], ""}, "$"), "s3cret-pass", false},
	}
	for _, c := range cases {
		if got := auth.VerifyPassword(c.hash, c.pw); got != c.want {
			t.Errorf("%s: VerifyPassword = %v, want %v", c.name, got, c.want)
		}
	}
}

// TestVerifyReadsParametersFromTheHash keeps old hashes working after the
// parameters change: a hash made with other settings still verifies.
func TestVerifyReadsParametersFromTheHash(t *testing.T) {
	t.Parallel()
	salt := []byte("somesaltsomesalt")
	key := argon2.IDKey([]byte("pw"), salt, 1, 8, 1, 24)
	b64 := base64.RawStdEncoding
	h := "$argon2id$v=19$m=8,t=1,p=1$" + b64.EncodeToString(salt) + "$" + b64.EncodeToString(key)
	if !auth.VerifyPassword(h, "pw") {
		t.Error("hash with other parameters does not verify")
	}
}

func TestPasswordLengthRules(t *testing.T) {
	t.Parallel()
	cases := []struct {
		pw   string
		code string
	}{
		{strings.Repeat("x", 7), app.EINVALID},
		{strings.Repeat("x", 8), ""},
		{strings.Repeat("x", 1024), ""},
		{strings.Repeat("x", 1025), app.EINVALID},
	}
	for _, c := range cases {
		if got := app.ErrorCode(app.ValidatePassword(c.pw)); got != c.code {
			t.Errorf("len %d: code %q, want %q", len(c.pw), got, c.code)
		}
	}
}

func TestHashToken(t *testing.T) {
	t.Parallel()
	// sha256("abc")
	if got := auth.HashToken("abc"); got != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" {
		t.Errorf("HashToken(abc) = %s", got)
	}
	if id := auth.NewOwnerID(); !app.IsHex64(id) || id == auth.NewOwnerID() {
		t.Errorf("NewOwnerID = %q: want random 64 hex", id)
	}
}

func TestLimiter(t *testing.T) {
	t.Parallel()
	c := &clock{t: t0}
	l := auth.NewLimiter(3, time.Minute)
	l.Now = c.Now
	for i := range 3 {
		if blocked, _ := l.Blocked("k"); blocked {
			t.Fatalf("blocked after %d failures, limit is 3", i)
		}
		l.Fail("k")
		c.Add(10 * time.Second)
	}
	blocked, wait := l.Blocked("k")
	if !blocked || wait != 30*time.Second {
		t.Fatalf("after 3 failures: blocked=%v wait=%v; want true, 30s (until the first leaves the window)", blocked, wait)
	}
	if b, _ := l.Blocked("other"); b {
		t.Error("one key's failures block another")
	}
	c.Add(30 * time.Second)
	if b, _ := l.Blocked("k"); b {
		t.Error("still blocked after the oldest failure left the window")
	}
	for range 10 {
		l.Fail("k")
	}
	l.Reset("k")
	if b, _ := l.Blocked("k"); b {
		t.Error("blocked after Reset")
	}
}
