package store

import (
	"context"

	"thinx/app"
)

// Meshes lists an owner's meshes with their device counts.
func (db *DB) Meshes(ctx context.Context, ownerID string) ([]*app.Mesh, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT m.id, m.owner_id, m.alias, m.created_at,
		(SELECT COUNT(*) FROM mesh_devices md WHERE md.owner_id = m.owner_id AND md.mesh_id = m.id)
		FROM meshes m WHERE m.owner_id = ? ORDER BY m.alias COLLATE NOCASE, m.id`, ownerID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*app.Mesh
	for rows.Next() {
		var m app.Mesh
		var created int64
		if err := rows.Scan(&m.ID, &m.OwnerID, &m.Alias, &created, &m.Devices); err != nil {
			return nil, err
		}
		m.CreatedAt = fromMS(created)
		out = append(out, &m)
	}
	return out, rows.Err()
}

// Mesh reads one of an owner's meshes inside the transaction.
func (tx *Tx) Mesh(ownerID, id string) (*app.Mesh, error) {
	var m app.Mesh
	var created int64
	err := tx.tx.QueryRowContext(tx.ctx, `SELECT id, owner_id, alias, created_at FROM meshes WHERE owner_id = ? AND id = ?`,
		ownerID, id).Scan(&m.ID, &m.OwnerID, &m.Alias, &created)
	if err != nil {
		return nil, notFound(err, "Mesh")
	}
	m.CreatedAt = fromMS(created)
	return &m, nil
}

// CreateMesh inserts a mesh; an ID the owner already uses is ECONFLICT.
func (tx *Tx) CreateMesh(m *app.Mesh) error {
	m.CreatedAt = tx.now
	_, err := tx.tx.ExecContext(tx.ctx, `INSERT INTO meshes (owner_id, id, alias, created_at) VALUES (?, ?, ?, ?)`,
		m.OwnerID, m.ID, m.Alias, ms(tx.now))
	if app.ErrorCode(mapErr(err)) == app.ECONFLICT {
		return app.Errorf(app.ECONFLICT, "A mesh with the ID %q already exists.", m.ID)
	}
	return err
}

// RenameMesh changes a mesh's display name.
func (tx *Tx) RenameMesh(ownerID, id, alias string) error {
	return tx.exec1("Mesh", `UPDATE meshes SET alias = ? WHERE owner_id = ? AND id = ?`, alias, ownerID, id)
}

// DeleteMesh removes a mesh; its device memberships go with it.
func (tx *Tx) DeleteMesh(ownerID, id string) error {
	return tx.exec1("Mesh", `DELETE FROM meshes WHERE owner_id = ? AND id = ?`, ownerID, id)
}

// AttachMesh adds a device to a mesh; both must be the owner's. Adding it
// twice is not an error.
func (tx *Tx) AttachMesh(ownerID, meshID, udid string) error {
	if _, err := tx.Mesh(ownerID, meshID); err != nil {
		return err
	}
	if _, err := tx.Device(ownerID, udid); err != nil {
		return err
	}
	_, err := tx.tx.ExecContext(tx.ctx, `INSERT OR IGNORE INTO mesh_devices (owner_id, mesh_id, udid) VALUES (?, ?, ?)`, ownerID, meshID, udid)
	return err
}

// DetachMesh removes a device from a mesh; a device that was not in it is
// ENOTFOUND.
func (tx *Tx) DetachMesh(ownerID, meshID, udid string) error {
	return tx.exec1("Mesh member", `DELETE FROM mesh_devices WHERE owner_id = ? AND mesh_id = ? AND udid = ?`, ownerID, meshID, udid)
}

// DetachAllMeshes removes a device from every mesh (when it changes owner).
func (tx *Tx) DetachAllMeshes(udid string) error {
	_, err := tx.tx.ExecContext(tx.ctx, `DELETE FROM mesh_devices WHERE udid = ?`, udid)
	return err
}
