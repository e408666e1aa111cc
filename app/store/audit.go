package store

import (
	"context"
	"strings"
	"time"

	"thinx/app"
)

// InsertAudit writes one audit entry in the transaction of the change it
// records, so a change and its record commit or fail together.
func (tx *Tx) InsertAudit(e *app.AuditEntry) error {
	if e.At.IsZero() {
		e.At = tx.now
	}
	res, err := tx.tx.ExecContext(tx.ctx, `INSERT INTO audit (owner_id, actor_id, kind, message, ip, at) VALUES (?, ?, ?, ?, ?, ?)`,
		e.OwnerID, e.ActorID, e.Kind, e.Message, e.IP, ms(e.At))
	if err != nil {
		return err
	}
	e.ID, err = res.LastInsertId()
	return err
}

// Audit lists entries matching f, newest first, and the total count.
func (db *DB) Audit(ctx context.Context, f app.AuditFilter) ([]*app.AuditEntry, int, error) {
	var where []string
	var args []any
	if f.OwnerID != "" {
		where, args = append(where, "owner_id = ?"), append(args, f.OwnerID)
	}
	if f.Kind != "" {
		where, args = append(where, "kind = ?"), append(args, f.Kind)
	}
	if f.Text != "" {
		where, args = append(where, "message LIKE ? ESCAPE '\\'"), append(args, "%"+likeEscape(f.Text)+"%")
	}
	if !f.From.IsZero() {
		where, args = append(where, "at >= ?"), append(args, ms(f.From))
	}
	if !f.To.IsZero() {
		where, args = append(where, "at < ?"), append(args, ms(f.To))
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	var total int
	if err := db.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit`+cond, args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 50
	}
	rows, err := db.read.QueryContext(ctx, `SELECT id, owner_id, actor_id, kind, message, ip, at FROM audit`+cond+` ORDER BY at DESC, id DESC LIMIT ? OFFSET ?`,
		append(args, f.Limit, max(f.Offset, 0))...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var out []*app.AuditEntry
	for rows.Next() {
		var e app.AuditEntry
		var at int64
		if err := rows.Scan(&e.ID, &e.OwnerID, &e.ActorID, &e.Kind, &e.Message, &e.IP, &at); err != nil {
			return nil, 0, err
		}
		e.At = fromMS(at)
		out = append(out, &e)
	}
	return out, total, rows.Err()
}

// PruneAudit deletes entries older than before, in slices so a large prune
// never holds the write lock for long.
func (db *DB) PruneAudit(ctx context.Context, before time.Time) (int64, error) {
	var total int64
	for {
		var n int64
		err := db.Update(ctx, func(tx *Tx) error {
			res, err := tx.tx.ExecContext(ctx, `DELETE FROM audit WHERE id IN (SELECT id FROM audit WHERE at < ? LIMIT 5000)`, ms(before))
			if err != nil {
				return err
			}
			n, err = res.RowsAffected()
			return err
		})
		total += n
		if err != nil || n < 5000 {
			return total, err
		}
	}
}

func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}
