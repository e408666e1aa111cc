package audit_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"thinx/app"
	"thinx/app/audit"
	"thinx/app/store"
)

func TestWriteAndPruner(t *testing.T) {
	t.Parallel()
	db, err := store.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	db.Now = func() time.Time { return now }
	ctx := context.Background()
	if err := audit.Write(ctx, db, "owner", "actor", app.AuditLoginFail, "192.0.2.1", "Failed login"); err != nil {
		t.Fatal(err)
	}
	err = db.Update(ctx, func(tx *store.Tx) error {
		return tx.InsertAudit(&app.AuditEntry{OwnerID: "owner", Kind: app.AuditLoginOK, Message: "old", At: now.AddDate(-2, 0, 0)})
	})
	if err != nil {
		t.Fatal(err)
	}
	got, total, _ := db.Audit(ctx, app.AuditFilter{OwnerID: "owner"})
	if total != 2 || got[0].ActorID != "actor" || got[0].IP != "192.0.2.1" || !got[0].At.Equal(now) {
		t.Fatalf("entries %+v", got)
	}

	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	p := &audit.Pruner{DB: db, Retention: 365 * 24 * time.Hour, Log: slog.New(slog.DiscardHandler)}
	go func() { p.Run(runCtx, time.Hour); close(done) }()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, total, _ := db.Audit(ctx, app.AuditFilter{}); total == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the pruner did not remove the entry past the retention at start")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the pruner did not stop with its context")
	}
}
