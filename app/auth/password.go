// Package auth holds owners, passwords, sessions, API keys, one-time links
// and the rate limits that protect them.
package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Argon2id parameters: OWASP's minimum (19 MiB, 2 passes, 1 lane). A hash
// takes ~40 ms on a Raspberry Pi 4, slow for a guesser, fine for a login.
const (
	argonMemory  = 19 * 1024
	argonTime    = 2
	argonThreads = 1
	argonKeyLen  = 32
)

// HashPassword returns a PHC-formatted argon2id hash of p.
func HashPassword(p string) string {
	salt := make([]byte, 16)
	rand.Read(salt)
	key := argon2.IDKey([]byte(p), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		b64.EncodeToString(salt), b64.EncodeToString(key))
}

// dummyHash is verified against when an account does not exist, so an
// unknown e-mail costs the same time as a wrong password. It is a constant
// (the hash of a random token nobody kept) rather than computed at start-up:
// hashing at init would cost every start 19 MiB of heap and a few dozen
// milliseconds. A test keeps its parameters equal to HashPassword's.
const dummyHash = "$argon2id$v=19$m=19456,t=2,p=1$XS+Lh93arsJZV2WAYl5SOQ$sC/a23ZJsEsefkfTaTI8b2sXKl0+Y6kEzMZysin4ThM"

// VerifyPassword reports whether p matches the PHC hash h. It reads the
// parameters from h, so older hashes keep working after a parameter change.
func VerifyPassword(h, p string) bool {
	parts := strings.Split(h, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var m, t uint32
	var th uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &th); err != nil || m == 0 || t == 0 || th == 0 || m > 1<<20 {
		return false
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	want, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return false
	}
	got := argon2.IDKey([]byte(p), salt, t, m, th, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// randomHex returns n random bytes as lowercase hex.
func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// randomToken returns a URL-safe token of 32 random bytes (256 bits).
func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// HashToken is how session, link and API-key tokens are stored: sha256 in
// hex. The tokens carry 256 bits of entropy, so a fast hash is enough
// (a slow hash would only slow every request).
func HashToken(t string) string {
	s := sha256.Sum256([]byte(t))
	return hex.EncodeToString(s[:])
}

// NewOwnerID returns a random 64-hex owner ID.
func NewOwnerID() string { return randomHex(32) }
