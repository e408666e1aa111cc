package transform

import (
	"context"
	"fmt"
	"strings"
	"time"

	"thinx/app"
	"thinx/app/audit"
	"thinx/app/store"
)

// Transform runs a device's chain on status and returns the result. With no
// transformers attached it returns status unchanged. A failure returns the
// error (naming the transformer); the caller keeps the raw status.
func (s *Service) Transform(ctx context.Context, ownerID, udid, status string) (string, error) {
	c, err := s.chain(ctx, ownerID, udid)
	if err != nil {
		return status, err
	}
	if len(c.scripts) == 0 {
		if len(c.skipped) > 0 {
			return status, fmt.Errorf("transformer %q is quarantined; edit it to run it again", c.skipped[0])
		}
		return status, nil
	}
	res, err := s.Engine.RunChain(ctx, ownerID, c.scripts, status, c.dev)
	for i, st := range res.Steps {
		s.count(c.scripts[i], st, i == res.Failed, err)
		if st.Quarantined {
			s.quarantine(ownerID, c.scripts[i], st.Failures, err)
		}
	}
	if err != nil {
		name := "transformer"
		if res.Failed >= 0 && res.Failed < len(c.scripts) {
			name = fmt.Sprintf("transformer %q", aliasOf(c.scripts[res.Failed]))
		}
		return status, fmt.Errorf("%s: %w", name, err)
	}
	return res.Output, nil
}

// aliasOf recovers the alias kept in a chain script's ID ("id/alias").
func aliasOf(sc Script) string {
	if _, a, ok := strings.Cut(sc.ID, "/"); ok {
		return a
	}
	return sc.ID
}

func idOf(sc Script) string {
	id, _, _ := strings.Cut(sc.ID, "/")
	return id
}

// chain returns the cached chain of a device, loading it when missing or
// older than chainTTL.
func (s *Service) chain(ctx context.Context, ownerID, udid string) (*chainEntry, error) {
	s.mu.Lock()
	c := s.chains[udid]
	s.mu.Unlock()
	if c != nil && c.owner == ownerID && time.Since(c.loaded) < chainTTL {
		return c, nil
	}
	ts, err := s.DB.DeviceTransformers(ctx, ownerID, udid)
	if err != nil {
		return nil, err
	}
	c = &chainEntry{owner: ownerID, loaded: time.Now()}
	for _, t := range ts {
		if t.Quarantined() {
			c.skipped = append(c.skipped, t.Alias)
			continue
		}
		c.scripts = append(c.scripts, Script{ID: t.ID + "/" + t.Alias, Version: t.Version, Source: t.Source})
	}
	if len(c.scripts) > 0 {
		if c.dev, err = s.device(ctx, ownerID, udid); err != nil {
			return nil, err
		}
	}
	s.mu.Lock()
	if len(s.chains) > 50000 { // bound memory on huge fleets
		s.chains = map[string]*chainEntry{}
	}
	s.chains[udid] = c
	s.mu.Unlock()
	return c, nil
}

// device builds the transformers' view of a device: no secrets, no keys.
func (s *Service) device(ctx context.Context, ownerID, udid string) (Device, error) {
	d, err := s.DB.Device(ctx, ownerID, udid)
	if err != nil {
		return Device{}, err
	}
	env, err := s.DB.DeviceEnvPublic(ctx, udid)
	if err != nil {
		return Device{}, err
	}
	return Device{Alias: d.Alias, UDID: d.UDID, Platform: d.Platform, Version: d.Version, Tags: d.Tags, Env: env}, nil
}

// DeviceView is the transformers' view of one of the owner's devices, for
// "try" in the console.
func (s *Service) DeviceView(ctx context.Context, ownerID, udid string) (Device, error) {
	return s.device(ctx, ownerID, udid)
}

func (s *Service) count(sc Script, r Result, failed bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := idOf(sc)
	st := s.stats[id]
	if st == nil {
		st = &runStats{}
		s.stats[id] = st
	}
	st.runs++
	if failed {
		st.failures++
		if err != nil {
			st.lastError = err.Error()
		}
	}
}

// quarantine disables a transformer version that failed too often, with an
// audit entry, until its owner edits it.
func (s *Service) quarantine(ownerID string, sc Script, failures int, cause error) {
	reason := fmt.Sprintf("failed %d times in a row", failures)
	if cause != nil {
		reason += "; last error: " + cause.Error()
	}
	err := s.DB.Update(context.Background(), func(tx *store.Tx) error {
		if err := tx.QuarantineTransformer(ownerID, idOf(sc), sc.Version, reason); err != nil {
			return err
		}
		return audit.Record(tx, ownerID, "", app.AuditTransformerQuarantined, "",
			fmt.Sprintf("Transformer %q (version %d) quarantined: %s", aliasOf(sc), sc.Version, reason))
	})
	if err != nil && app.ErrorCode(err) != app.ENOTFOUND {
		s.Log.Error("quarantine transformer", "transformer", idOf(sc), "err", err)
	}
	s.Engine.Release(sc)
	s.invalidate()
}

// FlushStats writes batched run counts; call it every few seconds and at
// shutdown.
func (s *Service) FlushStats(ctx context.Context) error {
	s.mu.Lock()
	stats := s.stats
	s.stats = map[string]*runStats{}
	s.mu.Unlock()
	if len(stats) == 0 {
		return nil
	}
	return s.DB.Update(ctx, func(tx *store.Tx) error {
		for id, st := range stats {
			if err := tx.TransformerStats(id, st.runs, st.failures, st.lastError); err != nil {
				return err
			}
		}
		return nil
	})
}

// Run flushes stats every interval until ctx ends, then once more.
func (s *Service) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			_ = s.FlushStats(context.WithoutCancel(ctx))
			return
		case <-t.C:
			if err := s.FlushStats(ctx); err != nil && ctx.Err() == nil {
				s.Log.Error("flush transformer stats", "err", err)
			}
		}
	}
}
