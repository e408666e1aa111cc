// Package audit writes audit entries inside the transaction of the change
// they describe, and prunes old ones in the background.
package audit

import (
	"context"
	"log/slog"
	"time"

	"thinx/app"
	"thinx/app/store"
)

// Record writes one entry in tx. The caller's change and this entry commit
// together or not at all.
func Record(tx *store.Tx, ownerID, actorID, kind, ip, message string) error {
	return tx.InsertAudit(&app.AuditEntry{OwnerID: ownerID, ActorID: actorID, Kind: kind, IP: ip, Message: message})
}

// Write records an entry in a transaction of its own, for events that change
// nothing else (a failed login, a refused key).
func Write(ctx context.Context, db *store.DB, ownerID, actorID, kind, ip, message string) error {
	return db.Update(ctx, func(tx *store.Tx) error { return Record(tx, ownerID, actorID, kind, ip, message) })
}

// Pruner deletes entries older than the retention period once an hour.
type Pruner struct {
	DB        *store.DB
	Retention time.Duration
	Log       *slog.Logger
}

// Run prunes at once and then every interval until ctx ends.
func (p *Pruner) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		n, err := p.DB.PruneAudit(ctx, p.DB.Now().Add(-p.Retention))
		if err != nil && ctx.Err() == nil {
			p.Log.Error("prune audit log", "err", err)
		} else if n > 0 {
			p.Log.Info("pruned audit log", "deleted", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
