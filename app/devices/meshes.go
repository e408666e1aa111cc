package devices

import (
	"context"
	"strconv"
	"strings"
	"unicode/utf8"

	"thinx/app"
	"thinx/app/audit"
	"thinx/app/store"
)

// Meshes lists an owner's meshes.
func (s *Service) Meshes(ctx context.Context, ownerID string) ([]*app.Mesh, error) {
	return s.DB.Meshes(ctx, ownerID)
}

func checkMeshAlias(alias string) (string, error) {
	alias = strings.TrimSpace(alias)
	if alias == "" || utf8.RuneCountInString(alias) > 100 {
		return "", app.Errorf(app.EINVALID, "A mesh name has 1 to 100 characters.")
	}
	return alias, nil
}

// CreateMesh adds a mesh. id becomes the MQTT topic /<owner>/<id>; when
// empty it is made from the name.
func (s *Service) CreateMesh(ctx context.Context, ownerID, id, alias, ip string) (*app.Mesh, error) {
	alias, err := checkMeshAlias(alias)
	if err != nil {
		return nil, err
	}
	if id == "" {
		id = slug(alias)
	}
	if err := app.ValidateMeshID(id); err != nil {
		return nil, err
	}
	m := &app.Mesh{ID: id, OwnerID: ownerID, Alias: alias}
	err = s.DB.Update(ctx, func(tx *store.Tx) error {
		if err := tx.CreateMesh(m); err != nil {
			return err
		}
		return audit.Record(tx, ownerID, ownerID, app.AuditMeshChanged, ip, "Mesh "+alias+" ("+id+") created.")
	})
	return m, err
}

// slug makes a mesh ID from a name: "Kitchen lights" → "kitchen-lights".
func slug(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
			dash = false
		case b.Len() > 0 && !dash:
			b.WriteByte('-')
			dash = true
		}
		if b.Len() >= 60 {
			break
		}
	}
	out := strings.TrimRight(b.String(), "-")
	if out == "" || out == "shared" {
		out = "mesh-" + randomHex(4)
	}
	return out
}

// RenameMesh changes a mesh's name; its ID (and topic) stay.
func (s *Service) RenameMesh(ctx context.Context, ownerID, id, alias, ip string) error {
	alias, err := checkMeshAlias(alias)
	if err != nil {
		return err
	}
	return s.DB.Update(ctx, func(tx *store.Tx) error {
		if err := tx.RenameMesh(ownerID, id, alias); err != nil {
			return err
		}
		return audit.Record(tx, ownerID, ownerID, app.AuditMeshChanged, ip, "Mesh "+id+" renamed to "+alias+".")
	})
}

// DeleteMesh removes a mesh; its devices stay, outside it.
func (s *Service) DeleteMesh(ctx context.Context, ownerID, id, ip string) error {
	defer s.meshesChanged(ownerID)
	return s.DB.Update(ctx, func(tx *store.Tx) error {
		m, err := tx.Mesh(ownerID, id)
		if err != nil {
			return err
		}
		if err := tx.DeleteMesh(ownerID, id); err != nil {
			return err
		}
		return audit.Record(tx, ownerID, ownerID, app.AuditMeshChanged, ip, "Mesh "+m.Alias+" ("+id+") deleted.")
	})
}

// AttachMesh adds devices to a mesh; with one device the answer is its
// error, with several see Bulk.
func (s *Service) AttachMesh(ctx context.Context, ownerID, meshID string, udids []string, ip string) error {
	return s.meshMembers(ctx, ownerID, meshID, udids, ip, true)
}

// DetachMesh removes devices from a mesh.
func (s *Service) DetachMesh(ctx context.Context, ownerID, meshID string, udids []string, ip string) error {
	return s.meshMembers(ctx, ownerID, meshID, udids, ip, false)
}

func (s *Service) meshMembers(ctx context.Context, ownerID, meshID string, udids []string, ip string, attach bool) error {
	if len(udids) == 0 || len(udids) > app.MaxBulkDevices {
		return app.Errorf(app.EINVALID, "Choose between 1 and %d devices.", app.MaxBulkDevices)
	}
	verb := "added to"
	if !attach {
		verb = "removed from"
	}
	defer s.meshesChanged(ownerID)
	return s.DB.Update(ctx, func(tx *store.Tx) error {
		if _, err := tx.Mesh(ownerID, meshID); err != nil {
			return err
		}
		for _, u := range udids {
			var err error
			if attach {
				err = tx.AttachMesh(ownerID, meshID, u)
			} else {
				err = tx.DetachMesh(ownerID, meshID, u)
			}
			if err != nil {
				return err
			}
		}
		return audit.Record(tx, ownerID, ownerID, app.AuditMeshChanged, ip,
			pluralDevices(len(udids))+" "+verb+" mesh "+meshID+".")
	})
}

func pluralDevices(n int) string {
	if n == 1 {
		return "1 device"
	}
	return strconv.Itoa(n) + " devices"
}

// meshesChanged tells the broker that the owner's devices' mesh topics
// changed, so its cached access rules are read again.
func (s *Service) meshesChanged(ownerID string) {
	if s.OnMeshesChanged != nil {
		s.OnMeshesChanged(ownerID)
	}
}
