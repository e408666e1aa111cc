package auth

import (
	"context"
	"strings"

	"thinx/app"
	"thinx/app/audit"
	"thinx/app/store"
)

// CreateKey makes a new API key: 32 random bytes as 64 hex. The key is
// returned once; only its sha256 is stored.
func (s *Service) CreateKey(ctx context.Context, ownerID, alias, ip string) (string, *app.APIKey, error) {
	return s.addKey(ctx, ownerID, alias, randomHex(32), ip, app.AuditKeyCreated)
}

// ImportKey registers an existing 64-hex key, as issued by a THiNX server,
// so devices that carry it keep working after a migration.
func (s *Service) ImportKey(ctx context.Context, ownerID, alias, key, ip string) (*app.APIKey, error) {
	key = strings.TrimSpace(key)
	if !app.IsHex64(key) {
		return nil, app.Errorf(app.EINVALID, "An API key is 64 lowercase hex characters (0-9, a-f).")
	}
	_, k, err := s.addKey(ctx, ownerID, alias, key, ip, app.AuditKeyImported)
	return k, err
}

func (s *Service) addKey(ctx context.Context, ownerID, alias, key, ip, kind string) (string, *app.APIKey, error) {
	alias = strings.TrimSpace(alias)
	if alias == "" {
		alias = "API key"
	}
	if len(alias) > 100 {
		return "", nil, app.Errorf(app.EINVALID, "The alias must be at most 100 characters.")
	}
	k := &app.APIKey{OwnerID: ownerID, Alias: alias, Hash: HashToken(key), Last4: key[len(key)-4:]}
	err := s.DB.Update(ctx, func(tx *store.Tx) error {
		if err := tx.CreateAPIKey(k); err != nil {
			return err
		}
		return audit.Record(tx, ownerID, ownerID, kind, ip, "API key \""+alias+"\" (…"+k.Last4+")")
	})
	return key, k, err
}

// RevokeKey revokes one of the owner's keys. Another owner's key ID is
// ENOTFOUND, the same as a key that never existed.
func (s *Service) RevokeKey(ctx context.Context, ownerID string, id int64, ip string) error {
	var k *app.APIKey
	err := s.DB.Update(ctx, func(tx *store.Tx) error {
		var err error
		if k, err = tx.RevokeAPIKey(ownerID, id); err != nil {
			return err
		}
		return audit.Record(tx, ownerID, ownerID, app.AuditKeyRevoked, ip, "API key \""+k.Alias+"\" (…"+k.Last4+") revoked")
	})
	if err == nil && s.OnKeyRevoked != nil {
		s.OnKeyRevoked(ownerID, k.Hash)
	}
	return err
}

// Keys lists an owner's keys.
func (s *Service) Keys(ctx context.Context, ownerID string) ([]*app.APIKey, error) {
	return s.DB.APIKeys(ctx, ownerID)
}

// CheckKey verifies that key is an unrevoked key of ownerID. It is the one
// check behind every device request and MQTT login. Failures are counted
// per client address (ip) and answered with ETOOMANY past the limit; a
// revoked key that is still in use leaves an audit entry.
func (s *Service) CheckKey(ctx context.Context, ownerID, key, ip string) (*app.APIKey, error) {
	if blocked, _ := s.KeyLimit.Blocked(ip); blocked {
		return nil, errTooMany()
	}
	denied := app.Errorf(app.EUNAUTHORIZED, "authentication_error")
	key = strings.TrimSpace(key)
	if len(key) < 16 || len(key) > 256 {
		s.KeyLimit.Fail(ip)
		return nil, denied
	}
	k, err := s.DB.APIKeyByHash(ctx, HashToken(key))
	if err != nil {
		if app.ErrorCode(err) != app.ENOTFOUND {
			return nil, err
		}
		s.KeyLimit.Fail(ip)
		return nil, denied
	}
	if k.OwnerID != ownerID {
		s.KeyLimit.Fail(ip)
		return nil, denied
	}
	if k.Revoked() {
		s.KeyLimit.Fail(ip)
		if err := audit.Write(ctx, s.DB, k.OwnerID, "", app.AuditKeyRevokedUse, ip, "Revoked API key \""+k.Alias+"\" (…"+k.Last4+") was used"); err != nil {
			s.Log.Error("audit revoked key use", "err", err)
		}
		return nil, denied
	}
	s.usageMu.Lock()
	s.usage[k.ID] = s.DB.Now() // the store's clock, like every other stored time
	s.usageMu.Unlock()
	return k, nil
}

// KeyValid reports, without side effects, whether a key hash is still an
// unrevoked key of ownerID; the broker uses it to re-check live sessions.
func (s *Service) KeyValid(ctx context.Context, ownerID, keyHash string) bool {
	k, err := s.DB.APIKeyByHash(ctx, keyHash)
	return err == nil && k.OwnerID == ownerID && !k.Revoked()
}
