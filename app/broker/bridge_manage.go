package broker

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
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

// cipher returns the AEAD that seals bridge passwords, keyed by a random
// secret of this installation kept in the database.
func (bs *bridges) cipher(ctx context.Context) (cipher.AEAD, error) {
	bs.keyMu.Lock()
	defer bs.keyMu.Unlock()
	if bs.key == nil {
		k, err := bs.s.deps.DB.Secret(ctx, "bridge", 32)
		if err != nil {
			return nil, fmt.Errorf("bridge secret: %w", err)
		}
		bs.key = k
	}
	block, err := aes.NewCipher(bs.key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// seal encrypts a password: nonce, then ciphertext.
func (bs *bridges) seal(ctx context.Context, password string) ([]byte, error) {
	aead, err := bs.cipher(ctx)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(password)+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return aead.Seal(nonce, nonce, []byte(password), []byte("mqtt bridge")), nil
}

// open decrypts a sealed password; nothing sealed is the empty password.
func (bs *bridges) open(ctx context.Context, sealed []byte) (string, error) {
	if len(sealed) == 0 {
		return "", nil
	}
	aead, err := bs.cipher(ctx)
	if err != nil {
		return "", err
	}
	if len(sealed) < aead.NonceSize() {
		return "", errors.New("sealed password too short")
	}
	n := aead.NonceSize()
	plain, err := aead.Open(nil, sealed[:n], sealed[n:], []byte("mqtt bridge"))
	return string(plain), err
}
