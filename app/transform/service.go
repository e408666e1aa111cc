package transform

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"thinx/app"
	"thinx/app/audit"
	"thinx/app/store"
)

// Service keeps owners' transformers (versions, device chains, quarantine)
// and runs them through the sandboxed Engine. It implements the device
// registry's Transformer interface.
type Service struct {
	DB     *store.DB
	Engine *Engine
	Log    *slog.Logger

	mu     sync.Mutex
	chains map[string]*chainEntry // by UDID
	stats  map[string]*runStats   // by transformer ID, flushed in batches
}

type chainEntry struct {
	owner   string
	scripts []Script
	skipped []string // aliases of quarantined transformers
	dev     Device
	loaded  time.Time
}

type runStats struct {
	runs, failures int64
	lastError      string
}

// chainTTL bounds how stale a device's cached alias and environment may be
// in a transformer's view; edits of transformers invalidate at once.
const chainTTL = 30 * time.Second

// NewService wires a service.
func NewService(db *store.DB, engine *Engine, log *slog.Logger) *Service {
	return &Service{DB: db, Engine: engine, Log: log, chains: map[string]*chainEntry{}, stats: map[string]*runStats{}}
}

func (s *Service) invalidate() {
	s.mu.Lock()
	s.chains = map[string]*chainEntry{}
	s.mu.Unlock()
}

// Save checks source and stores it as a new version (id empty: a new
// transformer). Problems are returned as one EINVALID error listing each
// with its line, and nothing is stored.
func (s *Service) Save(ctx context.Context, ownerID, id, alias, source, ip string) (*app.Transformer, error) {
	t := &app.Transformer{ID: id, OwnerID: ownerID, Alias: alias, Source: source}
	if err := t.Validate(); err != nil {
		return nil, err
	}
	if probs := Check(source); len(probs) > 0 {
		return nil, problemsError(probs)
	}
	isNew := id == ""
	if isNew {
		t.ID = newID()
	}
	err := s.DB.Update(ctx, func(tx *store.Tx) error {
		if err := tx.SaveTransformer(t, isNew); err != nil {
			return err
		}
		return audit.Record(tx, ownerID, ownerID, app.AuditTransformerSaved, ip, fmt.Sprintf("Transformer %q saved as version %d", t.Alias, t.Version))
	})
	if err != nil {
		return nil, err
	}
	s.invalidate()
	return s.DB.Transformer(ctx, ownerID, t.ID)
}

// problemsError lists check problems, one per line, for the editor.
func problemsError(probs []Problem) error {
	lines := make([]string, len(probs))
	for i, p := range probs {
		lines[i] = p.String()
	}
	return app.Errorf(app.EINVALID, "%s", strings.Join(lines, "\n"))
}

// Delete removes a transformer; devices running it stop running it.
func (s *Service) Delete(ctx context.Context, ownerID, id, ip string) error {
	err := s.DB.Update(ctx, func(tx *store.Tx) error {
		t, err := tx.Transformer(ownerID, id)
		if err != nil {
			return err
		}
		if err := tx.DeleteTransformer(ownerID, id); err != nil {
			return err
		}
		return audit.Record(tx, ownerID, ownerID, app.AuditTransformerDeleted, ip, fmt.Sprintf("Transformer %q deleted", t.Alias))
	})
	if err == nil {
		s.invalidate()
	}
	return err
}

// Attach sets the ordered chain of transformers a device runs.
func (s *Service) Attach(ctx context.Context, ownerID, udid string, ids []string, ip string) error {
	err := s.DB.Update(ctx, func(tx *store.Tx) error {
		if err := tx.SetDeviceTransformers(ownerID, udid, ids); err != nil {
			return err
		}
		return audit.Record(tx, ownerID, ownerID, app.AuditTransformerAttached, ip, fmt.Sprintf("Device %s runs %d transformer(s)", udid, len(ids)))
	})
	if err == nil {
		s.invalidate()
	}
	return err
}

func newID() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// TryResult is the outcome of running unsaved source once.
type TryResult struct {
	Output   string
	Error    string
	Problems []Problem
	Duration time.Duration
}

// Try checks source and, when it compiles, runs it once on status as the
// given device would, without saving anything.
func (s *Service) Try(ctx context.Context, ownerID, source, status string, dev Device) TryResult {
	if len(source) > app.MaxTransformerSource {
		return TryResult{Error: "The source is too large."}
	}
	if probs := Check(source); len(probs) > 0 {
		return TryResult{Problems: probs}
	}
	sc := Script{ID: "try-" + ownerID[:8] + "-" + newID(), Version: 1, Source: source}
	defer s.Engine.Release(sc)
	res, err := s.Engine.Run(ctx, ownerID, sc, status, dev)
	out := TryResult{Output: res.Output, Duration: res.Duration}
	if err != nil {
		out.Error = err.Error()
	}
	return out
}

// AttachOne appends a transformer to the end of a device's chain, or
// removes it from the chain when detach is set.
func (s *Service) AttachOne(ctx context.Context, ownerID, udid, id string, detach bool, ip string) error {
	cur, err := s.DB.DeviceTransformers(ctx, ownerID, udid)
	if err != nil {
		return err
	}
	var ids []string
	for _, t := range cur {
		if t.ID != id {
			ids = append(ids, t.ID)
		}
	}
	if !detach {
		ids = append(ids, id)
	}
	return s.Attach(ctx, ownerID, udid, ids, ip)
}
