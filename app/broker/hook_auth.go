package broker

import (
	"context"
	"net"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"thinx/app"
)

// maxClientIDLen bounds client IDs; THiNX libraries use the 12-digit MAC.
const maxClientIDLen = 128

// authHook logs clients in against the API keys and the device registry
// and applies the ACL. It is the only hook answering OnConnectAuthenticate
// and OnACLCheck: the embedded server ORs hooks, so a second permissive
// hook would open everything.
type authHook struct {
	mqtt.HookBase
	s *Server
}

func (h *authHook) ID() string { return "thinx-auth" }

var authEvents = newHookSet(mqtt.OnConnect, mqtt.OnConnectAuthenticate, mqtt.OnACLCheck,
	mqtt.OnSessionEstablished, mqtt.OnDisconnect)

func (h *authHook) Provides(b byte) bool { return authEvents.has(b) }

// OnConnect bounds the keepalive before the server arms the read deadline
// with it: 0 (never time out) would let a vanished device hold its socket.
func (h *authHook) OnConnect(cl *mqtt.Client, pk packets.Packet) error {
	o := &h.s.opts
	switch ka := pk.Connect.Keepalive; {
	case ka == 0 || ka > o.MaxKeepalive:
		cl.State.Keepalive, cl.State.ServerKeepalive = o.MaxKeepalive, true
	case ka < o.MinKeepalive:
		cl.State.Keepalive, cl.State.ServerKeepalive = o.MinKeepalive, true
	}
	return nil
}

// OnConnectAuthenticate checks the user name (a UDID or an owner ID) and
// the password (an API key of that owner). A last will must be a topic the
// login may publish to. The client ID is then prefixed with the login name,
// so two owners' devices that use the same client ID (a MAC, easily
// guessed) can never take over each other's session.
func (h *authHook) OnConnectAuthenticate(cl *mqtt.Client, pk packets.Packet) bool {
	s := h.s
	login := string(pk.Connect.Username)
	ip := remoteIP(cl.Net.Remote)
	if len(cl.ID) > maxClientIDLen {
		return false
	}
	var ss *session
	var err error
	s.pool.do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		ss, err = s.authenticate(ctx, login, string(pk.Connect.Password), ip)
	})
	if err != nil {
		if app.ErrorCode(err) == app.EINTERNAL {
			s.log.Error("mqtt: login check failed", "ip", ip, "err", err)
		} else {
			s.log.Debug("mqtt: login refused", "login", login, "ip", ip, "reason", app.ErrorMessage(err))
		}
		return false
	}
	if pk.Connect.WillFlag && !s.access.get(login).allows(pk.Connect.WillTopic, true, s.opts.MaxTopicLength) {
		s.log.Debug("mqtt: will topic refused", "login", login, "ip", ip)
		return false
	}
	ss.cl, ss.clientID = cl, cl.ID
	cl.ID = login + "|" + cl.ID
	s.sess.add(ss)
	return true
}

// authenticate checks one login and returns its session, not yet bound to
// a client. It runs on the lookup pool. A login re-reads the registry
// (meshes or the admin flag may have changed since the cached entry was
// made), then checks the key against the owner found.
func (s *Server) authenticate(ctx context.Context, login, key, ip string) (*session, error) {
	denied := app.Errorf(app.EUNAUTHORIZED, "authentication_error")
	if key == "" || (!isHex64(login) && !isUDID(login)) {
		return nil, denied
	}
	s.access.forget(login)
	a := s.access.load(login)
	if a.owner == "" {
		// An unknown device or owner: still run the key check, which counts
		// the failure against the address, so guessing UDIDs is rate
		// limited like guessing keys.
		_, _ = s.deps.Keys.CheckKey(ctx, "", key, ip)
		return nil, denied
	}
	k, err := s.deps.Keys.CheckKey(ctx, a.owner, key, ip)
	if err != nil {
		return nil, err
	}
	return &session{login: login, kind: a.kind, owner: a.owner, udid: a.udid, keyHash: k.Hash, key: key, ip: ip,
		at: time.Now()}, nil
}

// OnACLCheck is asked for every publish, every subscription and every
// delivery to every subscriber (including retained messages and messages
// queued for offline sessions), so a filter such as "#" can never carry
// another owner's message even if it were admitted.
func (h *authHook) OnACLCheck(cl *mqtt.Client, topic string, write bool) bool {
	s := h.s
	if ss := s.sess.get(cl); ss != nil {
		a := s.access.get(ss.login)
		if a.owner != ss.owner {
			// The device changed owner or vanished since this login.
			if ss.kicked.CompareAndSwap(false, true) {
				go s.kick(cl, true)
			}
			return false
		}
		return a.allows(topic, write, s.opts.MaxTopicLength)
	}
	// A stored session of a client that is not connected.
	return s.access.get(string(cl.Properties.Username)).allows(topic, write, s.opts.MaxTopicLength)
}

// OnSessionEstablished marks the session live once the CONNACK went out;
// a device is then online.
func (h *authHook) OnSessionEstablished(cl *mqtt.Client, _ packets.Packet) {
	if ss := h.s.sess.get(cl); ss != nil {
		ss.online.Store(true)
		h.s.tap.connection(ss, true)
	}
}

// OnDisconnect ends the session; a device goes offline unless another
// session of it (a reconnect that took this one over) is live.
func (h *authHook) OnDisconnect(cl *mqtt.Client, _ error, _ bool) {
	if ss := h.s.sess.remove(cl); ss != nil && ss.online.Load() {
		h.s.tap.connection(ss, false)
	}
}

// remoteIP is the host part of a remote address.
func remoteIP(addr string) string {
	if h, _, err := net.SplitHostPort(addr); err == nil {
		return h
	}
	return addr
}

// hookSet is the set of events a hook answers. The server asks every hook
// whether it provides an event several times per message, so the answer
// is one bit test.
type hookSet uint64

func newHookSet(events ...byte) hookSet {
	var s hookSet
	for _, e := range events {
		s |= 1 << e
	}
	return s
}

func (s hookSet) has(e byte) bool { return e < 64 && s&(1<<e) != 0 }
