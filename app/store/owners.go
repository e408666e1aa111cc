package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"

	"thinx/app"
)

const ownerCols = `id, email, name, admin, disabled, password_hash, notify, avatar_type, created_at, updated_at, last_login_at`

type scanner interface{ Scan(dest ...any) error }

func scanOwner(s scanner) (*app.Owner, error) {
	var o app.Owner
	var notify string
	var created, updated, login int64
	if err := s.Scan(&o.ID, &o.Email, &o.Name, &o.Admin, &o.Disabled, &o.PasswordHash, &notify, &o.AvatarType, &created, &updated, &login); err != nil {
		return nil, err
	}
	_ = json.Unmarshal([]byte(notify), &o.Notify)
	o.HasPassword = o.PasswordHash != ""
	o.CreatedAt, o.UpdatedAt, o.LastLoginAt = fromMS(created), fromMS(updated), fromMS(login)
	return &o, nil
}

func ownerWhere(ctx context.Context, q querier, where string, arg any) (*app.Owner, error) {
	o, err := scanOwner(q.QueryRowContext(ctx, `SELECT `+ownerCols+` FROM owners WHERE `+where, arg))
	return o, notFound(err, "Owner")
}

// Owner returns the owner with the given ID.
func (db *DB) Owner(ctx context.Context, id string) (*app.Owner, error) {
	return ownerWhere(ctx, db.read, "id = ?", id)
}

// OwnerByEmail returns the owner with the given (normalised) e-mail address.
func (db *DB) OwnerByEmail(ctx context.Context, email string) (*app.Owner, error) {
	return ownerWhere(ctx, db.read, "email = ?", app.NormalizeEmail(email))
}

// OwnerCount is the number of owners, used to decide whether first-run setup
// is still open.
func (db *DB) OwnerCount(ctx context.Context) (int, error) {
	var n int
	err := db.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM owners`).Scan(&n)
	return n, err
}

// Owners lists every owner, for the admin page.
func (db *DB) Owners(ctx context.Context) ([]*app.Owner, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT `+ownerCols+` FROM owners ORDER BY created_at`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*app.Owner
	for rows.Next() {
		o, err := scanOwner(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

// Avatar returns an owner's avatar image and its content type.
func (db *DB) Avatar(ctx context.Context, ownerID string) ([]byte, string, error) {
	var b []byte
	var ct string
	err := db.read.QueryRowContext(ctx, `SELECT avatar, avatar_type FROM owners WHERE id = ? AND avatar IS NOT NULL`, ownerID).Scan(&b, &ct)
	return b, ct, notFound(err, "Avatar")
}

// Owner reads an owner inside the transaction.
func (tx *Tx) Owner(id string) (*app.Owner, error) { return ownerWhere(tx.ctx, tx.tx, "id = ?", id) }

// OwnerByEmail reads an owner by e-mail inside the transaction.
func (tx *Tx) OwnerByEmail(email string) (*app.Owner, error) {
	return ownerWhere(tx.ctx, tx.tx, "email = ?", app.NormalizeEmail(email))
}

// OwnerCount counts owners inside the transaction.
func (tx *Tx) OwnerCount() (int, error) {
	var n int
	err := tx.tx.QueryRowContext(tx.ctx, `SELECT COUNT(*) FROM owners`).Scan(&n)
	return n, err
}

// CreateOwner inserts o; an existing e-mail address is ECONFLICT.
func (tx *Tx) CreateOwner(o *app.Owner) error {
	o.Email = app.NormalizeEmail(o.Email)
	if err := o.Validate(); err != nil {
		return err
	}
	if !app.IsHex64(o.ID) {
		return app.Errorf(app.EINVALID, "Owner ID must be 64 lowercase hex characters.")
	}
	if _, err := tx.OwnerByEmail(o.Email); err == nil {
		return app.Errorf(app.ECONFLICT, "An owner with the e-mail address %s already exists.", o.Email)
	}
	notify, _ := json.Marshal(o.Notify)
	o.CreatedAt, o.UpdatedAt = tx.now, tx.now
	_, err := tx.tx.ExecContext(tx.ctx, `INSERT INTO owners (id, email, name, admin, disabled, password_hash, notify, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, o.ID, o.Email, o.Name, o.Admin, o.Disabled, o.PasswordHash, string(notify), ms(tx.now), ms(tx.now))
	if err != nil && strings.Contains(err.Error(), "owners.id") {
		return app.Errorf(app.ECONFLICT, "An owner with that ID already exists.")
	}
	return err
}

// UpdateOwnerProfile writes the editable profile fields.
func (tx *Tx) UpdateOwnerProfile(o *app.Owner) error {
	o.Email = app.NormalizeEmail(o.Email)
	if err := o.Validate(); err != nil {
		return err
	}
	if other, err := tx.OwnerByEmail(o.Email); err == nil && other.ID != o.ID {
		return app.Errorf(app.ECONFLICT, "Another owner already uses %s.", o.Email)
	}
	notify, _ := json.Marshal(o.Notify)
	return tx.exec1("Owner", `UPDATE owners SET email = ?, name = ?, notify = ?, updated_at = ? WHERE id = ?`,
		o.Email, o.Name, string(notify), ms(tx.now), o.ID)
}

// SetOwnerPassword stores a new password hash.
func (tx *Tx) SetOwnerPassword(id, hash string) error {
	return tx.exec1("Owner", `UPDATE owners SET password_hash = ?, updated_at = ? WHERE id = ?`, hash, ms(tx.now), id)
}

// SetOwnerDisabled disables or enables an owner.
func (tx *Tx) SetOwnerDisabled(id string, disabled bool) error {
	return tx.exec1("Owner", `UPDATE owners SET disabled = ?, updated_at = ? WHERE id = ?`, disabled, ms(tx.now), id)
}

// SetOwnerAvatar stores an avatar; nil data removes it.
func (tx *Tx) SetOwnerAvatar(id string, data []byte, contentType string) error {
	var v any
	if data != nil {
		v = data
	}
	return tx.exec1("Owner", `UPDATE owners SET avatar = ?, avatar_type = ?, updated_at = ? WHERE id = ?`, v, contentType, ms(tx.now), id)
}

// TouchOwnerLogin records a successful login.
func (tx *Tx) TouchOwnerLogin(id string) error {
	return tx.exec1("Owner", `UPDATE owners SET last_login_at = ? WHERE id = ?`, ms(tx.now), id)
}

// exec1 runs a statement that must change exactly one row; zero rows is
// ENOTFOUND naming what.
func (tx *Tx) exec1(what, query string, args ...any) error {
	res, err := tx.tx.ExecContext(tx.ctx, query, args...)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound(sql.ErrNoRows, what)
	}
	return nil
}
