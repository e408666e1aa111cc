package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"thinx/app"
	"thinx/app/store"
)

func TestAuditFilterAndPaging(t *testing.T) {
	t.Parallel()
	db, _ := openDB(t)
	ctx := context.Background()
	a, b := randomID(), randomID()
	day := func(d int) time.Time { return t0.AddDate(0, 0, d) }
	entries := []app.AuditEntry{
		{OwnerID: a, Kind: app.AuditLoginOK, Message: "Logged in", At: day(0)},
		{OwnerID: a, Kind: app.AuditLoginFail, Message: "Failed login: wrong password", At: day(1)},
		{OwnerID: a, Kind: app.AuditKeyCreated, Message: `API key "50% off_sale" (…abcd)`, At: day(2)},
		{OwnerID: a, Kind: app.AuditKeyCreated, Message: `API key "500 offXsale" (…ef01)`, At: day(2)},
		{OwnerID: b, Kind: app.AuditLoginOK, Message: "Logged in", At: day(3)},
	}
	err := db.Update(ctx, func(tx *store.Tx) error {
		for i := range entries {
			if err := tx.InsertAudit(&entries[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name  string
		f     app.AuditFilter
		total int
		ids   []int // indexes into entries, in the expected order
	}{
		{"owner, newest first, ties by id", app.AuditFilter{OwnerID: a}, 4, []int{3, 2, 1, 0}},
		{"all owners", app.AuditFilter{}, 5, []int{4, 3, 2, 1, 0}},
		{"kind", app.AuditFilter{OwnerID: a, Kind: app.AuditKeyCreated}, 2, []int{3, 2}},
		{"text is literal, not a LIKE pattern", app.AuditFilter{OwnerID: a, Text: "50% off_"}, 1, []int{2}},
		{"text is case-insensitive", app.AuditFilter{OwnerID: a, Text: "WRONG PASSWORD"}, 1, []int{1}},
		{"from is inclusive", app.AuditFilter{OwnerID: a, From: day(1)}, 3, []int{3, 2, 1}},
		{"to is exclusive", app.AuditFilter{OwnerID: a, To: day(1)}, 1, []int{0}},
		{"range", app.AuditFilter{From: day(1), To: day(3)}, 3, []int{3, 2, 1}},
		{"page 1", app.AuditFilter{OwnerID: a, Limit: 2}, 4, []int{3, 2}},
		{"page 2", app.AuditFilter{OwnerID: a, Limit: 2, Offset: 2}, 4, []int{1, 0}},
		{"past the end", app.AuditFilter{OwnerID: a, Limit: 2, Offset: 10}, 4, nil},
		{"negative offset is the first page", app.AuditFilter{OwnerID: a, Limit: 1, Offset: -5}, 4, []int{3}},
		{"another owner sees only theirs", app.AuditFilter{OwnerID: b}, 1, []int{4}},
	}
	for _, c := range cases {
		got, total, err := db.Audit(ctx, c.f)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		var ids []int64
		for _, e := range got {
			ids = append(ids, e.ID)
		}
		var want []int64
		for _, i := range c.ids {
			want = append(want, entries[i].ID)
		}
		if total != c.total || fmt.Sprint(ids) != fmt.Sprint(want) {
			t.Errorf("%s: total %d ids %v; want %d %v", c.name, total, ids, c.total, want)
		}
	}
	got, _, _ := db.Audit(ctx, app.AuditFilter{OwnerID: a, Kind: app.AuditLoginOK})
	if len(got) != 1 || got[0].Message != "Logged in" || !got[0].At.Equal(t0) || got[0].OwnerID != a {
		t.Errorf("round trip: %+v", got[0])
	}
}

func TestAuditLimitIsBounded(t *testing.T) {
	t.Parallel()
	db, _ := openDB(t)
	ctx := context.Background()
	insertAudit(t, db, 600, t0, "")
	for _, c := range []struct{ limit, want int }{{0, 50}, {-1, 50}, {10, 10}, {500, 500}, {501, 50}, {1 << 30, 50}} {
		got, total, err := db.Audit(ctx, app.AuditFilter{Limit: c.limit})
		if err != nil || total != 600 || len(got) != c.want {
			t.Errorf("limit %d: %d rows of %d (%v), want %d", c.limit, len(got), total, err, c.want)
		}
	}
}

func TestPruneAudit(t *testing.T) {
	t.Parallel()
	db, _ := openDB(t)
	ctx := context.Background()
	// More old rows than one delete slice, so the loop must run again.
	insertAudit(t, db, 12001, t0.AddDate(-2, 0, 0), "")
	insertAudit(t, db, 7, t0, "")
	n, err := db.PruneAudit(ctx, t0.AddDate(-1, 0, 0))
	if err != nil || n != 12001 {
		t.Fatalf("PruneAudit = %d, %v; want 12001", n, err)
	}
	if _, total, _ := db.Audit(ctx, app.AuditFilter{}); total != 7 {
		t.Errorf("%d entries left, want the 7 recent ones", total)
	}
	if n, _ := db.PruneAudit(ctx, t0.AddDate(-1, 0, 0)); n != 0 {
		t.Errorf("second prune deleted %d", n)
	}
}

// insertAudit writes n entries one millisecond apart starting at from.
func insertAudit(t testing.TB, db *store.DB, n int, from time.Time, owner string) {
	t.Helper()
	err := db.Update(context.Background(), func(tx *store.Tx) error {
		for i := range n {
			e := &app.AuditEntry{OwnerID: owner, Kind: app.AuditLoginOK, Message: fmt.Sprintf("entry %d", i), At: from.Add(time.Duration(i) * time.Millisecond)}
			if err := tx.InsertAudit(e); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
