package broker

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"

	"thinx/app/store"
)

// start runs every enabled bridge; called once when the broker starts.
func (bs *bridges) start(ctx context.Context) {
	rows, err := bs.s.deps.DB.MQTTBridges(ctx, "")
	if err != nil {
		bs.s.log.Error("mqtt: load bridges", "err", err)
		return
	}
	bs.migrate(ctx, rows)
	for _, r := range rows {
		bs.restart(r)
	}
}

// restart stops a bridge if it runs and starts it again when enabled.
func (bs *bridges) restart(row *store.MQTTBridge) {
	bs.stop(row.ID)
	if !row.Enabled || !bs.s.started.Load() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	password, err := bs.open(ctx, row.PasswordEnc)
	if err != nil {
		bs.s.log.Error("mqtt: bridge password unreadable", "bridge", row.ID, "err", err)
		return
	}
	r := &bridgeRun{bs: bs, cfg: bridgeFromRow(row), acc: bs.s.bridgeAccess(ctx, row.OwnerID),
		subIDs: map[string]int{}, out: make(chan packets.Packet, bridgeQueue), done: make(chan struct{})}
	if err := r.start(password); err != nil {
		bs.s.log.Error("mqtt: start bridge", "bridge", row.ID, "err", err)
		return
	}
	bs.mu.Lock()
	bs.runs[row.ID] = r
	bs.mu.Unlock()
	bs.s.log.Info("mqtt: bridge started", "bridge", row.ID, "name", row.Name, "url", redactURL(row.URL))
}

// stop ends one bridge.
func (bs *bridges) stop(id int64) {
	bs.mu.Lock()
	r := bs.runs[id]
	delete(bs.runs, id)
	bs.mu.Unlock()
	if r != nil {
		r.stop()
	}
}

// stopAll ends every bridge; called first at shutdown.
func (bs *bridges) stopAll() {
	bs.mu.Lock()
	ids := make([]int64, 0, len(bs.runs))
	for id := range bs.runs {
		ids = append(ids, id)
	}
	bs.mu.Unlock()
	for _, id := range ids {
		bs.stop(id)
	}
}

// BridgeStatus reports the owner's running bridges, by ID.
func (s *Server) BridgeStatus(ownerID string) []BridgeState {
	s.bridges.mu.Lock()
	var out []BridgeState
	for _, r := range s.bridges.runs {
		if r.cfg.OwnerID == ownerID {
			out = append(out, r.status())
		}
	}
	s.bridges.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Bridge passwords are encrypted with the data directory's key file
// (store.SealString), like secret environment values: a copy of the
// database alone does not reveal them. Versions before that sealed them
// with a key kept in the database itself ("secret.bridge"); start re-seals
// such rows and then deletes that key.
const legacyBridgeKey = "secret.bridge"

// seal encrypts a password.
func (bs *bridges) seal(password string) []byte {
	return []byte(bs.s.deps.DB.SealString(password))
}

// open decrypts a stored password; nothing stored is the empty password.
func (bs *bridges) open(ctx context.Context, stored []byte) (string, error) {
	switch {
	case len(stored) == 0:
		return "", nil
	case store.IsSealed(stored):
		return bs.s.deps.DB.OpenString(string(stored))
	}
	return bs.openLegacy(ctx, stored)
}

// openLegacy decrypts a password sealed with the key in the database.
func (bs *bridges) openLegacy(ctx context.Context, sealed []byte) (string, error) {
	key, err := bs.s.deps.DB.Setting(ctx, legacyBridgeKey)
	if err != nil {
		return "", fmt.Errorf("bridge password key: %w", err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return "", err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return "", err
	}
	n := aead.NonceSize()
	if len(sealed) < n {
		return "", errors.New("sealed password too short")
	}
	plain, err := aead.Open(nil, sealed[:n], sealed[n:], []byte("mqtt bridge"))
	return string(plain), err
}

// migrate re-seals passwords stored the older way, then deletes the old
// key. A row that cannot be read keeps the old key (and a log line).
func (bs *bridges) migrate(ctx context.Context, rows []*store.MQTTBridge) {
	if _, err := bs.s.deps.DB.Setting(ctx, legacyBridgeKey); err != nil {
		return // never had one, or already migrated
	}
	failed := false
	for _, r := range rows {
		if len(r.PasswordEnc) == 0 || store.IsSealed(r.PasswordEnc) {
			continue
		}
		plain, err := bs.openLegacy(ctx, r.PasswordEnc)
		if err == nil {
			enc := bs.seal(plain)
			err = bs.s.deps.DB.Update(ctx, func(tx *store.Tx) error { return tx.SetMQTTBridgePassword(r.ID, enc) })
			if err == nil {
				r.PasswordEnc = enc
			}
		}
		if err != nil {
			failed = true
			bs.s.log.Error("mqtt: re-seal bridge password", "bridge", r.ID, "err", err)
		}
	}
	if !failed {
		if err := bs.s.deps.DB.Update(ctx, func(tx *store.Tx) error { return tx.DeleteSetting(legacyBridgeKey) }); err != nil {
			bs.s.log.Error("mqtt: delete the old bridge key", "err", err)
		}
	}
}
