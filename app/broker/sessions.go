package broker

import (
	"strings"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// session is one authenticated connection. The owner is fixed at login:
// if the registry later says the device belongs to someone else, the
// session is ended rather than re-scoped.
type session struct {
	cl       *mqtt.Client
	clientID string // as the client sent it
	login    string // the user name: a UDID or an owner ID
	kind     string
	owner    string
	udid     string // for device logins
	keyHash  string
	key      string // the login key, kept in memory for MQTT check-ins; never logged
	ip       string
	at       time.Time
	online   atomic.Bool // set once the CONNACK went out
	kicked   atomic.Bool // the broker is ending it
}

// sessions indexes live sessions by their client and by login name.
type sessions struct {
	mu      sync.RWMutex
	m       map[*mqtt.Client]*session
	byLogin map[string]map[*session]struct{}
}

func newSessions() *sessions {
	return &sessions{m: map[*mqtt.Client]*session{}, byLogin: map[string]map[*session]struct{}{}}
}

func (s *sessions) add(ss *session) {
	s.mu.Lock()
	s.m[ss.cl] = ss
	if s.byLogin[ss.login] == nil {
		s.byLogin[ss.login] = map[*session]struct{}{}
	}
	s.byLogin[ss.login][ss] = struct{}{}
	s.mu.Unlock()
}

func (s *sessions) get(cl *mqtt.Client) *session {
	s.mu.RLock()
	ss := s.m[cl]
	s.mu.RUnlock()
	return ss
}

func (s *sessions) remove(cl *mqtt.Client) *session {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss := s.m[cl]
	if ss == nil {
		return nil
	}
	delete(s.m, cl)
	delete(s.byLogin[ss.login], ss)
	if len(s.byLogin[ss.login]) == 0 {
		delete(s.byLogin, ss.login)
	}
	return ss
}

// ofLogin returns the sessions of one login name for which keep is true.
func (s *sessions) ofLogin(login string, keep func(*session) bool) []*session {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []*session
	for ss := range s.byLogin[login] {
		if keep(ss) {
			out = append(out, ss)
		}
	}
	return out
}

// match returns the sessions for which keep is true.
func (s *sessions) match(keep func(*session) bool) []*session {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []*session
	for _, ss := range s.m {
		if keep(ss) {
			out = append(out, ss)
		}
	}
	return out
}

// ClientInfo describes a connected client for the console.
type ClientInfo struct {
	ClientID      string
	Login         string // the user name: a UDID or the owner ID
	Kind          string // KindDevice, KindOwner or KindAdmin
	UDID          string
	IP            string
	Listener      string // "tcp", "tls" or "ws"
	Protocol      byte   // 3, 4 (3.1.1) or 5
	ConnectedAt   time.Time
	Subscriptions []string
	Inflight      int
}

// Clients lists the owner's connected clients: its devices, scripts and
// dashboards.
func (s *Server) Clients(ownerID string) []ClientInfo {
	var out []ClientInfo
	for _, ss := range s.sess.match(func(ss *session) bool { return ss.owner == ownerID && ss.online.Load() }) {
		if ss.cl.Closed() {
			continue
		}
		ci := ClientInfo{ClientID: ss.clientID, Login: ss.login, Kind: ss.kind, UDID: ss.udid, IP: ss.ip,
			Listener: ss.cl.Net.Listener, Protocol: ss.cl.Properties.ProtocolVersion, ConnectedAt: ss.at,
			Inflight: ss.cl.State.Inflight.Len()}
		for f := range ss.cl.State.Subscriptions.GetAll() {
			ci.Subscriptions = append(ci.Subscriptions, f)
		}
		out = append(out, ci)
	}
	return out
}

// Online reports whether the device has a live MQTT session.
func (s *Server) Online(udid string) bool {
	return len(s.sess.ofLogin(udid, func(ss *session) bool { return ss.online.Load() && !ss.cl.Closed() })) > 0
}

// DisconnectDevice ends the device's live sessions at once and forgets its
// stored ones; call it when a device is deleted or changes owner. The next
// login is checked against the registry again.
func (s *Server) DisconnectDevice(udid string) {
	if udid == "" {
		return
	}
	s.access.forget(udid)
	s.dropClients(func(cl *mqtt.Client) bool { return string(cl.Properties.Username) == udid })
}

// DisconnectKey ends every live session that logged in with the owner's key
// (its sha256 hex); wire it to the auth service's OnKeyRevoked. The next
// login with that key is refused by the key check itself.
func (s *Server) DisconnectKey(ownerID, keyHash string) {
	for _, ss := range s.sess.match(func(ss *session) bool { return ss.owner == ownerID && ss.keyHash == keyHash }) {
		s.kick(ss.cl, false)
	}
}

// dropClients ends matching clients, connected or not, and deletes their
// stored sessions, so nothing queued for them outlives the reason they
// were dropped.
func (s *Server) dropClients(match func(*mqtt.Client) bool) {
	for _, cl := range s.mq.Clients.GetAll() {
		if !cl.Net.Inline && match(cl) {
			s.kick(cl, true)
		}
	}
}

// kick closes a client. Its last will is dropped: the broker, not the
// device, decided to end the session. With forget, the session is removed
// from the broker and the database too.
func (s *Server) kick(cl *mqtt.Client, forget bool) {
	if forget {
		if cur, ok := s.mq.Clients.Get(cl.ID); ok && cur == cl {
			s.mq.Clients.Delete(cl.ID)
		}
		s.mq.UnsubscribeClient(cl)
		cl.ClearInflights()
		s.batch.deleteSession(cl.ID)
	}
	atomic.StoreUint32(&cl.Properties.Will.Flag, 0)
	switch {
	case cl.Closed():
	case cl.Properties.ProtocolVersion == 5:
		// MQTT 5 clients learn why: DISCONNECT with 0x87 Not authorized.
		_ = s.mq.DisconnectClient(cl, packets.ErrNotAuthorized)
	default:
		// MQTT 3 has no DISCONNECT from the server: close the socket.
		cl.Stop(packets.ErrNotAuthorized)
	}
}

// originalClientID strips the login-name namespace the broker adds to
// client IDs (see authHook.OnConnectAuthenticate).
func originalClientID(id string) string {
	_, after, ok := strings.Cut(id, "|")
	if !ok {
		return id
	}
	return after
}
