package devices

import (
	"context"
	"sync"
	"time"

	"thinx/app"
)

// DefaultKeyCacheTTL is how long a verified key is trusted again without a
// database read. A fleet shares a handful of keys, so under load nearly
// every check-in would otherwise read the same key row; a revocation takes
// effect within this time, or at once when the wiring calls ForgetKey from
// the auth service's revocation hook.
const DefaultKeyCacheTTL = time.Second

// keyCache remembers successful key checks for a short time. Failures are
// never cached: they must reach the checker and its rate limit.
type keyCache struct {
	mu      sync.Mutex
	entries map[string]time.Time // owner ID + key hash → valid until
}

const keyCacheMax = 4096

func (c *keyCache) check(ctx context.Context, keys KeyChecker, ttl time.Duration, ownerID, key, keyHash, ip string) error {
	if ttl <= 0 {
		_, err := keys.CheckKey(ctx, ownerID, key, ip)
		return err
	}
	id := ownerID + keyHash
	now := time.Now()
	c.mu.Lock()
	until, ok := c.entries[id]
	c.mu.Unlock()
	if ok && now.Before(until) {
		return nil
	}
	if _, err := keys.CheckKey(ctx, ownerID, key, ip); err != nil {
		return err
	}
	c.mu.Lock()
	if c.entries == nil || len(c.entries) >= keyCacheMax {
		c.entries = map[string]time.Time{} // crude, but bounded and rare
	}
	c.entries[id] = now.Add(ttl)
	c.mu.Unlock()
	return nil
}

// forget drops a key (by its sha256 hex) from the cache.
func (c *keyCache) forget(ownerID, keyHash string) {
	c.mu.Lock()
	delete(c.entries, ownerID+keyHash)
	c.mu.Unlock()
}

// ForgetKey makes a revoked key fail at once instead of within the key
// cache's lifetime. Wire it to the auth service's OnKeyRevoked hook.
func (s *Service) ForgetKey(ownerID, keyHash string) { s.keys.forget(ownerID, keyHash) }

// checkKey verifies a device's key through the cache; keyHash is
// hashKey(key), which every caller has at hand.
func (s *Service) checkKey(ctx context.Context, ownerID, key, keyHash, ip string) error {
	if key == "" {
		return errAuth
	}
	err := s.keys.check(ctx, s.Keys, s.KeyCacheTTL, ownerID, key, keyHash, ip)
	if err != nil && app.ErrorCode(err) == app.EUNAUTHORIZED {
		return errAuth
	}
	return err
}
