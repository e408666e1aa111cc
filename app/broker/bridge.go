package broker

import (
	"context"
	"crypto/x509"
	"net/url"
	"strings"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"

	"thinx/app"
	"thinx/app/audit"
	"thinx/app/store"
)

// Audit kinds of bridge changes.
const (
	AuditBridgeSaved   = "mqtt.bridge.saved"
	AuditBridgeDeleted = "mqtt.bridge.deleted"
)

func init() { app.RegisterAuditKind(AuditBridgeSaved, AuditBridgeDeleted) }

// Bridge limits keep one definition from subscribing the broker to
// everything under the sun.
const (
	maxBridgeFilters = 20
	maxBridgeName    = 100
)

// Bridge forwards chosen topics of an owner's tree to an external MQTT
// broker (Home Assistant's, say) and can bring remote topics back into the
// tree. An admin's bridge may forward any topic. A message a bridge brought
// back is never sent out by that bridge again, but Forward and Subscribe
// should not overlap: the remote echo of a forwarded status would be
// processed a second time here.
type Bridge struct {
	ID       int64
	OwnerID  string
	Name     string
	URL      string // tcp:// or mqtt://, ssl:// tls:// or mqtts://, ws://, wss://
	ClientID string // default "thinx-bridge-<id>"
	Username string
	// Password is write-only: reads leave it empty and set HasPassword; an
	// update with an empty Password keeps the stored one.
	Password    string
	HasPassword bool
	CACert      string // PEM roots for a TLS URL; empty means the system's
	Insecure    bool   // skip certificate verification (a self-signed remote)
	// Forward lists local topic filters sent out. A filter that does not
	// start with "/" is inside the owner's tree: "+/status" means
	// "/<owner>/+/status".
	Forward []string
	// Subscribe lists remote topic filters brought back. A remote topic
	// loses RemotePrefix and must land in the owner's tree, or is dropped.
	Subscribe []string
	// RemotePrefix goes in front of a local topic sent out ("ha" turns
	// "/<owner>/<udid>/status" into "ha/<owner>/<udid>/status").
	RemotePrefix string
	QoS          byte // 0 or 1
	Enabled      bool
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// Bridges lists an owner's bridges, without passwords.
func (s *Server) Bridges(ctx context.Context, ownerID string) ([]Bridge, error) {
	if !app.IsHex64(ownerID) {
		return nil, app.Errorf(app.EINVALID, "Unknown owner.")
	}
	rows, err := s.deps.DB.MQTTBridges(ctx, ownerID)
	if err != nil {
		return nil, err
	}
	out := make([]Bridge, 0, len(rows))
	for _, r := range rows {
		out = append(out, bridgeFromRow(r))
	}
	return out, nil
}

// SaveBridge creates (b.ID 0) or updates one of the owner's bridges and
// (re)starts it. Another owner's bridge ID is ENOTFOUND.
func (s *Server) SaveBridge(ctx context.Context, ownerID, ip string, b Bridge) (*Bridge, error) {
	b.OwnerID = ownerID
	if err := s.validateBridge(ctx, &b); err != nil {
		return nil, err
	}
	var sealed []byte
	if b.Password != "" {
		sealed = s.bridges.seal(b.Password)
	}
	var row *store.MQTTBridge
	err := s.deps.DB.Update(ctx, func(tx *store.Tx) error {
		if b.ID != 0 {
			old, err := tx.MQTTBridge(ownerID, b.ID)
			if err != nil {
				return err
			}
			if sealed == nil {
				sealed = old.PasswordEnc
			}
		}
		row = bridgeRow(b, sealed)
		if err := tx.SaveMQTTBridge(row); err != nil {
			return err
		}
		return audit.Record(tx, ownerID, ownerID, AuditBridgeSaved, ip, "MQTT bridge \""+b.Name+"\" to "+redactURL(b.URL)+" saved")
	})
	if err != nil {
		return nil, err
	}
	s.bridges.restart(row)
	saved := bridgeFromRow(row)
	return &saved, nil
}

// DeleteBridge stops and removes one of the owner's bridges.
func (s *Server) DeleteBridge(ctx context.Context, ownerID, ip string, id int64) error {
	err := s.deps.DB.Update(ctx, func(tx *store.Tx) error {
		b, err := tx.MQTTBridge(ownerID, id)
		if err != nil {
			return err
		}
		if err := tx.DeleteMQTTBridge(ownerID, id); err != nil {
			return err
		}
		return audit.Record(tx, ownerID, ownerID, AuditBridgeDeleted, ip, "MQTT bridge \""+b.Name+"\" deleted")
	})
	if err == nil {
		s.bridges.stop(id)
	}
	return err
}

// validateBridge checks a definition and puts relative filters into the
// owner's tree.
func (s *Server) validateBridge(ctx context.Context, b *Bridge) error {
	b.Name = strings.TrimSpace(b.Name)
	if b.Name == "" || len(b.Name) > maxBridgeName {
		return app.Errorf(app.EINVALID, "A bridge needs a name of at most %d characters.", maxBridgeName)
	}
	u, err := url.Parse(strings.TrimSpace(b.URL))
	if err != nil || u.Host == "" || !bridgeSchemes[u.Scheme] {
		return app.Errorf(app.EINVALID, "The broker URL must look like tcp://host:1883, ssl://host:8883, ws://host/path or wss://host/path.")
	}
	b.URL = u.String()
	if len(b.ClientID) > maxClientIDLen || len(b.Username) > 256 || len(b.Password) > 1024 {
		return app.Errorf(app.EINVALID, "The client ID, user name or password is too long.")
	}
	if b.CACert != "" && !x509.NewCertPool().AppendCertsFromPEM([]byte(b.CACert)) {
		return app.Errorf(app.EINVALID, "The CA certificate is not a PEM certificate.")
	}
	if b.QoS > 1 {
		return app.Errorf(app.EINVALID, "QoS must be 0 or 1.")
	}
	if len(b.Forward) > maxBridgeFilters || len(b.Subscribe) > maxBridgeFilters {
		return app.Errorf(app.EINVALID, "A bridge takes at most %d topic filters each way.", maxBridgeFilters)
	}
	if strings.ContainsAny(b.RemotePrefix, "+#") || len(b.RemotePrefix) > 100 {
		return app.Errorf(app.EINVALID, "The remote prefix must be a plain topic of at most 100 characters.")
	}
	acc := s.bridgeAccess(ctx, b.OwnerID)
	b.Forward = append([]string(nil), b.Forward...) // the caller's slice stays as it was
	for i, f := range b.Forward {
		f = strings.TrimSpace(f)
		if f != "" && f[0] != '/' && f[0] != '$' && f != "#" {
			f = "/" + b.OwnerID + "/" + f
		}
		if !mqtt.IsValidFilter(f, false) || !acc.allows(f, false, s.opts.MaxTopicLength) {
			return app.Errorf(app.EINVALID, "%q is not a topic filter of yours.", b.Forward[i])
		}
		b.Forward[i] = f
	}
	for _, f := range b.Subscribe {
		if !mqtt.IsValidFilter(f, false) || mqtt.IsSharedFilter(f) || len(f) > s.opts.MaxTopicLength {
			return app.Errorf(app.EINVALID, "%q is not a valid topic filter.", f)
		}
	}
	if b.Enabled && len(b.Forward) == 0 && len(b.Subscribe) == 0 {
		return app.Errorf(app.EINVALID, "An enabled bridge needs a topic to forward or to subscribe to.")
	}
	return nil
}

// bridgeAccess is what a bridge of ownerID may read and write: the owner's
// tree, or everything (but $SYS writes) for an admin.
func (s *Server) bridgeAccess(ctx context.Context, ownerID string) *access {
	if !s.deps.Owners.Active(ctx, ownerID) {
		return denied
	}
	if s.deps.Owners.IsAdmin(ctx, ownerID) {
		return &access{kind: KindAdmin, owner: ownerID, all: true, sys: true}
	}
	return ownerAccess(ownerID, false)
}

var bridgeSchemes = map[string]bool{"tcp": true, "mqtt": true, "ssl": true, "tls": true, "mqtts": true, "ws": true, "wss": true}

// redactURL drops credentials from a URL for logs and audit lines.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(invalid URL)"
	}
	u.User = nil
	return u.String()
}

func bridgeRow(b Bridge, sealed []byte) *store.MQTTBridge {
	return &store.MQTTBridge{ID: b.ID, OwnerID: b.OwnerID, Name: b.Name, URL: b.URL, ClientID: b.ClientID,
		Username: b.Username, PasswordEnc: sealed, CACert: b.CACert, Insecure: b.Insecure, Forward: b.Forward,
		Subscribe: b.Subscribe, RemotePrefix: b.RemotePrefix, QoS: b.QoS, Enabled: b.Enabled}
}

func bridgeFromRow(r *store.MQTTBridge) Bridge {
	return Bridge{ID: r.ID, OwnerID: r.OwnerID, Name: r.Name, URL: r.URL, ClientID: r.ClientID, Username: r.Username,
		HasPassword: len(r.PasswordEnc) > 0, CACert: r.CACert, Insecure: r.Insecure, Forward: r.Forward,
		Subscribe: r.Subscribe, RemotePrefix: r.RemotePrefix, QoS: r.QoS, Enabled: r.Enabled,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}
