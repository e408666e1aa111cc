// Package store keeps every piece of thinx state in one SQLite file. Reads go
// through a pool of connections; writes go through a pool of exactly one, so
// writers queue inside Go instead of fighting for SQLite's lock.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"thinx/app"
)

// FileName is the database file inside the data directory.
const FileName = "thinx.db"

// DB is the open database.
type DB struct {
	read  *sql.DB
	write *sql.DB
	path  string
	seal  *sealer

	// Now is the clock of every timestamp the store writes; tests replace it.
	Now func() time.Time
}

// dsn builds the connection string. busy_timeout comes first so that every
// later pragma already waits instead of failing on a locked database.
func dsn(path string, readOnly bool) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "foreign_keys(ON)")
	q.Add("_pragma", "temp_store(MEMORY)")
	q.Add("_pragma", "cache_size(-8000)")
	if readOnly {
		q.Add("_pragma", "query_only(1)")
	} else {
		q.Set("_txlock", "immediate")
	}
	return "file:" + filepath.ToSlash(path) + "?" + q.Encode()
}

// Open opens (creating if needed) the database in dir and applies pending
// migrations.
func Open(ctx context.Context, dir string) (*DB, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	seal, err := loadSealer(dir)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, FileName)
	w, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetConnMaxIdleTime(0)
	db := &DB{write: w, path: path, seal: seal, Now: time.Now}
	if err := db.migrate(ctx); err != nil {
		w.Close()
		return nil, err
	}
	r, err := sql.Open("sqlite", dsn(path, true))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open database: %w", err)
	}
	r.SetMaxOpenConns(max(4, runtime.NumCPU()*2))
	r.SetMaxIdleConns(max(4, runtime.NumCPU()*2))
	db.read = r
	return db, nil
}

// Path is the database file.
func (db *DB) Path() string { return db.path }

// Close closes both pools; call it last at shutdown.
func (db *DB) Close() error {
	var errs []error
	if db.read != nil {
		errs = append(errs, db.read.Close())
	}
	if db.write != nil {
		// Fold the WAL back so the file alone is a complete copy.
		_, _ = db.write.Exec("PRAGMA wal_checkpoint(TRUNCATE)")
		errs = append(errs, db.write.Close())
	}
	return errors.Join(errs...)
}

// Ping checks that the database answers a query.
func (db *DB) Ping(ctx context.Context) error {
	var n int
	return db.read.QueryRowContext(ctx, "SELECT 1").Scan(&n)
}

// ReadDB is the reading pool, for packages that run their own list queries.
func (db *DB) ReadDB() *sql.DB { return db.read }

// Tx is a write transaction. Its methods live in one file per entity.
type Tx struct {
	tx   *sql.Tx
	ctx  context.Context
	now  time.Time
	seal *sealer
}

// SQL exposes the underlying transaction for feature packages that own their
// tables' queries (they still commit through Update).
func (tx *Tx) SQL() *sql.Tx { return tx.tx }

// Context is the context of the transaction.
func (tx *Tx) Context() context.Context { return tx.ctx }

// Now is the time fixed at the start of the transaction: every row written
// in one transaction carries the same timestamp.
func (tx *Tx) Now() time.Time { return tx.now }

// Update runs fn in one write transaction and commits when fn returns nil.
func (db *DB) Update(ctx context.Context, fn func(tx *Tx) error) error {
	sqlTx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", mapErr(err))
	}
	defer sqlTx.Rollback()
	if err := fn(&Tx{tx: sqlTx, ctx: ctx, now: db.Now().UTC(), seal: db.seal}); err != nil {
		return mapErr(err)
	}
	if err := sqlTx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", mapErr(err))
	}
	return nil
}

// querier is what both pools and transactions offer, so read helpers serve
// both a page load and a check inside a write.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// mapErr turns SQLite constraint failures into app errors a person can act on.
func mapErr(err error) error {
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return app.Errorf(app.ECONFLICT, "That already exists.")
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return app.Errorf(app.ENOTFOUND, "A referenced record does not exist.")
		}
	}
	return err
}

// ms converts a time to the integer milliseconds stored in the database;
// the zero time is stored as 0.
func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// fromMS is the inverse of ms.
func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

// Ms and FromMs are the time encoding, exported for feature packages that
// own tables.
func Ms(t time.Time) int64     { return ms(t) }
func FromMs(v int64) time.Time { return fromMS(v) }

// notFound maps sql.ErrNoRows to ENOTFOUND with a message about what.
func notFound(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return app.Errorf(app.ENOTFOUND, "%s not found.", what)
	}
	return err
}
