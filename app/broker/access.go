package broker

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"thinx/app"
)

// accessCache maps login names (a UDID or an owner ID) to what they may
// touch. Deliveries check the ACL for every message and subscriber, so the
// registry is asked once per login and again after Invalidate, after
// InvalidateOwner or when an entry is older than ttl.
type accessCache struct {
	reg    Registry
	owners Owners
	log    *slog.Logger
	ttl    time.Duration

	mu sync.RWMutex
	m  map[string]cachedAccess
}

type cachedAccess struct {
	a  *access
	at time.Time
}

// denied allows nothing; it is cached for unknown logins too.
var denied = &access{}

func newAccessCache(reg Registry, owners Owners, log *slog.Logger, ttl time.Duration) *accessCache {
	return &accessCache{reg: reg, owners: owners, log: log, ttl: ttl, m: map[string]cachedAccess{}}
}

// get returns the access of a login name, asking the registry on a miss.
func (c *accessCache) get(login string) *access {
	c.mu.RLock()
	e, ok := c.m[login]
	c.mu.RUnlock()
	if ok && time.Since(e.at) < c.ttl {
		return e.a
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	a, err := c.resolve(ctx, login)
	if err != nil {
		// A failing database must not open anything, nor be cached.
		c.log.Error("mqtt: resolve login", "login", login, "err", err)
		return denied
	}
	c.mu.Lock()
	c.m[login] = cachedAccess{a: a, at: time.Now()}
	c.mu.Unlock()
	return a
}

// resolve computes the access of a login name from the registry; an
// unknown device or owner gets denied, and only lookup failures are errors.
func (c *accessCache) resolve(ctx context.Context, login string) (*access, error) {
	switch {
	case isHex64(login):
		if !c.owners.Active(ctx, login) {
			return denied, nil
		}
		return ownerAccess(login, c.owners.IsAdmin(ctx, login)), nil
	case isUDID(login):
		owner, meshes, err := c.reg.DeviceOwner(ctx, login)
		if app.ErrorCode(err) == app.ENOTFOUND {
			return denied, nil
		} else if err != nil {
			return nil, err
		}
		if !c.owners.Active(ctx, owner) {
			return denied, nil
		}
		return deviceAccess(owner, login, meshes), nil
	}
	return denied, nil
}

// forget drops the cached access of one login name and returns what was
// cached (nil if nothing).
func (c *accessCache) forget(login string) *access {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.m[login]
	delete(c.m, login)
	return e.a
}

// forgetOwner drops the owner's own entry and those of all its devices.
func (c *accessCache) forgetOwner(owner string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, e := range c.m {
		if k == owner || e.a.owner == owner {
			delete(c.m, k)
		}
	}
}
