package store

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"thinx/app"
)

// KeyFile holds the key that encrypts secrets at rest (secret environment
// values). It lives beside the database, not in it, so a copy of the
// database alone does not reveal them; back both up together.
const KeyFile = "secret.key"

// sealedPrefix marks an encrypted value; older or plain values lack it.
const sealedPrefix = "sealed:v1:"

// sealer encrypts short secrets with AES-256-GCM.
type sealer struct{ aead cipher.AEAD }

// loadSealer reads dir/secret.key, creating it (32 random bytes, mode 0600)
// on first start.
func loadSealer(dir string) (*sealer, error) {
	path := filepath.Join(dir, KeyFile)
	key, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		key = make([]byte, 32)
		rand.Read(key)
		if err := os.WriteFile(path, key, 0o600); err != nil {
			return nil, fmt.Errorf("create %s: %w", path, err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(key) != 32 {
		return nil, fmt.Errorf("%s: want 32 bytes, found %d: restore it from the backup of this data directory", path, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &sealer{aead: aead}, nil
}

// seal encrypts a value; the empty value stays empty.
func (s *sealer) seal(plain string) string {
	if plain == "" {
		return ""
	}
	nonce := make([]byte, s.aead.NonceSize())
	rand.Read(nonce)
	return sealedPrefix + base64.RawStdEncoding.EncodeToString(s.aead.Seal(nonce, nonce, []byte(plain), nil))
}

// open decrypts a sealed value; an unsealed one is returned as it is.
func (s *sealer) open(v string) (string, error) {
	enc, ok := strings.CutPrefix(v, sealedPrefix)
	if !ok {
		return v, nil
	}
	b, err := base64.RawStdEncoding.DecodeString(enc)
	n := s.aead.NonceSize()
	if err == nil && len(b) > n {
		var plain []byte
		if plain, err = s.aead.Open(nil, b[:n], b[n:], nil); err == nil {
			return string(plain), nil
		}
	}
	return "", app.Errorf(app.EINTERNAL, "A secret could not be decrypted: %s in the data directory is not the key it was stored with.", KeyFile)
}

// openBytes is open for a value scanned as bytes; messages stored before
// they were sealed come back as they are.
func (s *sealer) openBytes(v []byte) ([]byte, error) {
	if !IsSealed(v) {
		return v, nil
	}
	plain, err := s.open(string(v))
	return []byte(plain), err
}

// SealString encrypts a short secret with the data directory's key (for
// secrets kept outside the environment tables, such as bridge passwords).
func (db *DB) SealString(plain string) string { return db.seal.seal(plain) }

// OpenString decrypts what SealString returned.
func (db *DB) OpenString(v string) (string, error) { return db.seal.open(v) }

// IsSealed reports whether v is a value SealString returned.
func IsSealed(v []byte) bool { return strings.HasPrefix(string(v), sealedPrefix) }
