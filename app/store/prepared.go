package store

import (
	"context"
	"database/sql"
	"fmt"
)

// Prepared holds the statements of the check-in path, prepared once on the
// write connection. With this driver, parsing SQL is a large share of a
// small write; a group commit through a Prepared parses nothing. Its
// methods mirror the Tx methods of the same names; a nil *Prepared runs
// them unprepared.
type Prepared struct {
	stmts map[string]*sql.Stmt
}

// checkinQueries are the statements every check-in or status runs.
var checkinQueries = []string{qDeviceByUDID, qOwnerDevice, qSaveCheckin, qSaveIndexed, qSaveStatus, qSetOnline, qSavepoint, qRollbackTo,
	qRelease, qInsertCheckin, qTrimCheckins, qAddDailyStats}

// PrepareCheckins prepares the check-in statements. It needs the write
// connection, so call it outside any transaction, once at start.
func (db *DB) PrepareCheckins(ctx context.Context) (*Prepared, error) {
	p := &Prepared{stmts: map[string]*sql.Stmt{}}
	for _, q := range checkinQueries {
		st, err := db.write.PrepareContext(ctx, q)
		if err != nil {
			p.Close()
			return nil, fmt.Errorf("prepare check-in statements: %w", err)
		}
		p.stmts[q] = st
	}
	return p, nil
}

// Close releases the statements; call it before closing the database.
func (p *Prepared) Close() {
	if p == nil {
		return
	}
	for _, st := range p.stmts {
		st.Close()
	}
}

func (p *Prepared) stmt(q string) *sql.Stmt {
	if p == nil {
		return nil
	}
	return p.stmts[q]
}

// exec runs q in the transaction, through its prepared statement if p has
// one. The statement is bound to the transaction's connection, which is
// the one it was prepared on, so nothing is parsed again.
func (tx *Tx) exec(p *Prepared, q string, args ...any) (sql.Result, error) {
	if st := p.stmt(q); st != nil {
		return tx.tx.StmtContext(tx.ctx, st).ExecContext(tx.ctx, args...)
	}
	return tx.tx.ExecContext(tx.ctx, q, args...)
}

// queryRow is exec for a query returning one row.
func (tx *Tx) queryRow(p *Prepared, q string, args ...any) *sql.Row {
	if st := p.stmt(q); st != nil {
		return tx.tx.StmtContext(tx.ctx, st).QueryRowContext(tx.ctx, args...)
	}
	return tx.tx.QueryRowContext(tx.ctx, q, args...)
}

// exec1p is exec for a statement that must change exactly one row.
func (tx *Tx) exec1p(p *Prepared, what, q string, args ...any) error {
	res, err := tx.exec(p, q, args...)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound(sql.ErrNoRows, what)
	}
	return nil
}
