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
	run    func(func()) // runs a lookup off the caller's goroutine (see pool)

	mu     sync.RWMutex
	m      map[string]cachedAccess
	states map[string]ownerState // by owner ID
}

// ownerState is what a login needs to know about an owner.
type ownerState struct {
	active, admin bool
	at            time.Time
}

type cachedAccess struct {
	a  *access
	at time.Time
}

// denied allows nothing; it is cached for unknown logins too.
var denied = &access{}

func newAccessCache(reg Registry, owners Owners, log *slog.Logger, ttl time.Duration, run func(func())) *accessCache {
	return &accessCache{reg: reg, owners: owners, log: log, ttl: ttl, run: run, m: map[string]cachedAccess{},
		states: map[string]ownerState{}}
}

// get returns the access of a login name, asking the registry on a miss.
func (c *accessCache) get(login string) *access {
	c.mu.RLock()
	e, ok := c.m[login]
	c.mu.RUnlock()
	if ok && time.Since(e.at) < c.ttl {
		return e.a
	}
	var a *access
	c.run(func() { a = c.load(login) })
	return a
}

// load asks the registry for a login's access and caches it, on the
// calling goroutine.
func (c *accessCache) load(login string) *access {
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
		st := c.owner(ctx, login)
		if !st.active {
			return denied, nil
		}
		return ownerAccess(login, st.admin), nil
	case isUDID(login):
		owner, meshes, err := c.reg.DeviceOwner(ctx, login)
		if app.ErrorCode(err) == app.ENOTFOUND {
			return denied, nil
		} else if err != nil {
			return nil, err
		}
		if !c.owner(ctx, owner).active {
			return denied, nil
		}
		return deviceAccess(owner, login, meshes), nil
	}
	return denied, nil
}

// ownerTTL bounds how long a disabled owner's devices may still log in
// when nobody called InvalidateOwner; short, yet long enough that a fleet
// reconnecting at once asks the database about its owner only once.
const ownerTTL = 10 * time.Second

// owner returns an owner's state, from the cache when fresh: every device
// of an owner needs it at login.
func (c *accessCache) owner(ctx context.Context, id string) ownerState {
	c.mu.RLock()
	st, ok := c.states[id]
	c.mu.RUnlock()
	if ok && time.Since(st.at) < ownerTTL {
		return st
	}
	st = ownerState{active: c.owners.Active(ctx, id), at: time.Now()}
	st.admin = st.active && c.owners.IsAdmin(ctx, id)
	c.mu.Lock()
	c.states[id] = st
	c.mu.Unlock()
	return st
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
	delete(c.states, owner)
	for k, e := range c.m {
		if k == owner || e.a.owner == owner {
			delete(c.m, k)
		}
	}
}
