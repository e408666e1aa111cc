package broker

import (
	"context"
	"time"

	"thinx/app"
)

// recheckLoop re-validates live sessions every RecheckInterval. Revoking a
// key or deleting a device ends sessions at once through DisconnectKey and
// DisconnectDevice; this loop is the safety net for a change that did not
// go through them.
func (s *Server) recheckLoop(ctx context.Context) {
	t := time.NewTicker(s.opts.RecheckInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.recheck(ctx)
		}
	}
}

// recheck ends sessions whose key was revoked, whose owner was disabled or
// whose device is gone or moved, and forgets sessions that never finished
// connecting.
func (s *Server) recheck(ctx context.Context) {
	keyOK := map[[2]string]bool{}
	for _, ss := range s.sess.match(func(*session) bool { return true }) {
		if ctx.Err() != nil {
			return
		}
		if !ss.online.Load() {
			if ss.cl.Closed() && time.Since(ss.at) > 2*s.opts.ConnectTimeout {
				s.sess.remove(ss.cl)
			}
			continue
		}
		k := [2]string{ss.owner, ss.keyHash}
		ok, seen := keyOK[k]
		if !seen {
			ok = s.deps.Keys.KeyValid(ctx, ss.owner, ss.keyHash) && s.deps.Owners.Active(ctx, ss.owner)
			keyOK[k] = ok
		}
		if !ok {
			s.log.Info("mqtt: session ended, key revoked or owner disabled", "login", ss.login, "ip", ss.ip)
			s.kick(ss.cl, false)
			continue
		}
		if ss.kind != KindDevice {
			continue
		}
		owner, _, err := s.deps.Registry.DeviceOwner(ctx, ss.udid)
		if err != nil && app.ErrorCode(err) != app.ENOTFOUND {
			s.log.Error("mqtt: recheck device", "udid", ss.udid, "err", err)
			continue
		}
		if err != nil || owner != ss.owner {
			s.log.Info("mqtt: session ended, device deleted or moved", "udid", ss.udid, "ip", ss.ip)
			s.access.forget(ss.udid)
			s.kick(ss.cl, true)
		}
	}
}
