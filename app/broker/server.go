// Package broker embeds an MQTT broker (mochi-mqtt) in the thinx process.
// Devices and owners log in with their own credentials (a UDID or an owner
// ID, and an API key) and reach only their own topics. Its state lives in
// the one SQLite database; what devices publish on their status topic is
// handed to the device registry, recorded in a searchable history and
// streamed to the console.
package broker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"

	"thinx/app"
)

// Server is the embedded broker.
type Server struct {
	opts Options
	deps Deps
	log  *slog.Logger
	mq   *mqtt.Server

	access  *accessCache
	pool    *pool
	sess    *sessions
	flow    *flow
	batch   *batcher
	tap     *tap
	hist    *history
	bridges *bridges
	limit   *connLimit
	ws      *wsListener

	mu        sync.Mutex
	addrs     map[string]string
	started   atomic.Bool
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once
}

// New prepares a broker; Start opens its listeners.
func New(opts Options, deps Deps) (*Server, error) {
	if deps.DB == nil || deps.Keys == nil || deps.Registry == nil {
		return nil, errors.New("mqtt broker: a database, a key checker and a device registry are required")
	}
	if opts.TLSAddr != "" && opts.TLSConfig == nil {
		return nil, errors.New("mqtt broker: a TLS listener needs a TLS configuration")
	}
	opts.defaults()
	if deps.Owners == nil {
		deps.Owners = StoreOwners{DB: deps.DB, Log: opts.Log}
	}
	s := &Server{opts: opts, deps: deps, log: opts.Log, addrs: map[string]string{}}
	s.mq = mqtt.New(&mqtt.Options{
		Capabilities: opts.capabilities(),
		InlineClient: true, // Publish and the bridges inject messages in-process
		Logger:       mochiLogger(opts.Log),
		// $SYS is for admins watching a dashboard; every 10 s is plenty and
		// spares a Pi a stop-the-world memory read each second.
		SysTopicResendInterval: 10,
		// The listeners' sockets buffer reads themselves, holding a buffer
		// only while bytes wait (conn.go); the server's own buffer, kept
		// for each connection's life, is then the smallest there is.
		ClientNetReadBufferSize: readBufferSize,
	})
	s.pool = newPool(4)
	s.access = newAccessCache(deps.Registry, deps.Owners, s.log, 5*time.Minute, s.pool.do)
	s.sess = newSessions()
	s.flow = newFlow(s.mq, int(opts.WritesPending), int(opts.MaxInflight))
	s.batch = newBatcher(deps.DB, s.log, opts.FlushInterval)
	s.hist = newHistory(deps.DB, s.log, opts.History, opts.FlushInterval)
	s.tap = newTap(s)
	s.bridges = newBridges(s)
	s.limit = newConnLimit(opts.MaxConnections)
	s.ws = newWSListener(s, "ws")
	for _, h := range []mqtt.Hook{&authHook{s: s}, &flowHook{f: s.flow}, &storageHook{s: s}, &tapHook{t: s.tap}, &listenHook{s: s}} {
		if err := s.mq.AddHook(h, nil); err != nil {
			return nil, fmt.Errorf("mqtt broker: %w", err)
		}
	}
	return s, nil
}

// Start binds the configured listeners, restores the stored sessions,
// retained and in-flight messages, and starts the bridges. Background jobs
// run until ctx ends or Close is called.
func (s *Server) Start(ctx context.Context) error {
	if s.started.Load() {
		return errors.New("mqtt broker: already started")
	}
	for _, l := range []struct {
		id, addr string
		tls      bool
	}{{"tcp", s.opts.TCPAddr, false}, {"tls", s.opts.TLSAddr, true}} {
		if l.addr == "" {
			continue
		}
		ln, err := net.Listen("tcp", l.addr)
		if err != nil {
			return fmt.Errorf("mqtt %s listener: %w", l.id, err)
		}
		nl := newNetListener(l.id, ln, s.limit, s.opts.ConnectTimeout, s.log)
		if l.tls {
			nl.tls = s.opts.TLSConfig
		}
		s.setAddr(l.id, ln.Addr().String())
		if err := s.mq.AddListener(nl); err != nil {
			ln.Close()
			return fmt.Errorf("mqtt %s listener: %w", l.id, err)
		}
	}
	if s.opts.WSAddr != "" {
		addr, err := s.ws.listen(s.opts.WSAddr)
		if err != nil {
			return fmt.Errorf("mqtt websocket listener: %w", err)
		}
		s.setAddr("ws", addr)
	}
	if err := s.mq.AddListener(s.ws); err != nil {
		return fmt.Errorf("mqtt websocket listener: %w", err)
	}
	if err := s.mq.Serve(); err != nil {
		return fmt.Errorf("mqtt broker: %w", err)
	}
	s.started.Store(true)
	ctx, s.cancel = context.WithCancel(ctx)
	s.background(ctx, s.recheckLoop)
	s.background(ctx, s.hist.pruneLoop)
	s.background(ctx, s.bridges.start)
	return nil
}

func (s *Server) background(ctx context.Context, fn func(context.Context)) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		fn(ctx)
	}()
}

// Close stops the bridges and listeners, disconnects every client (their
// sessions stay stored), then writes all queued state and history.
func (s *Server) Close() error {
	var err error
	s.closeOnce.Do(func() {
		s.bridges.stopAll()
		if s.started.Swap(false) { // Publish refuses from now on
			err = s.mq.Close()
		}
		if s.cancel != nil {
			s.cancel()
		}
		s.wg.Wait()
		s.tap.close()
		s.pool.close()
		s.hist.close()
		err = errors.Join(err, s.batch.close())
	})
	return err
}

func (s *Server) setAddr(id, addr string) {
	s.mu.Lock()
	s.addrs[id] = addr
	s.mu.Unlock()
}

// Addr returns the bound address of a listener ("tcp", "tls" or "ws"), or
// "" when it is off. With a configured port of 0 it tells the real port.
func (s *Server) Addr(listener string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addrs[listener]
}

// Publish sends a message from the server to a topic, at QoS 0 or 1 and
// never retained, so a device that reconnects does not replay old
// commands. It bypasses the ACL: the caller decides who may trigger it.
func (s *Server) Publish(topic string, payload []byte, qos byte) error {
	if !s.started.Load() {
		return app.Errorf(app.EINVALID, "The MQTT broker is not running.")
	}
	if qos > 1 {
		return app.Errorf(app.EINVALID, "QoS must be 0 or 1.")
	}
	if topic == "" || topic[0] == '$' || strings.ContainsAny(topic, "+#") || len(topic) > s.opts.MaxTopicLength {
		return app.Errorf(app.EINVALID, "%q is not a topic the server may publish to.", topic)
	}
	if len(payload)+len(topic)+16 > int(s.opts.MaxPacketSize) {
		return app.Errorf(app.ETOOLARGE, "The message is larger than the broker's packet limit.")
	}
	return s.mq.Publish(topic, payload, false, qos)
}

// Invalidate drops what the broker knows about a device (owner, meshes) so
// the next check asks the registry again; call it when a device's meshes
// change. A live session of a device that now belongs to someone else, or
// to nobody, ends at once.
func (s *Server) Invalidate(udid string) {
	prev := s.access.forget(udid)
	now := s.access.get(udid)
	if now == denied || (prev != nil && prev != denied && prev.owner != now.owner) {
		s.DisconnectDevice(udid)
		return
	}
	for _, ss := range s.sess.ofLogin(udid, func(ss *session) bool { return ss.owner != now.owner }) {
		s.kick(ss.cl, true)
	}
}

// InvalidateOwner drops the cached access of an owner and all its devices;
// call it when an owner is disabled, deleted or made (or unmade) an admin.
// Sessions of an owner that is no longer active end at once.
func (s *Server) InvalidateOwner(ownerID string) {
	s.access.forgetOwner(ownerID)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if s.deps.Owners.Active(ctx, ownerID) {
		return
	}
	for _, ss := range s.sess.match(func(ss *session) bool { return ss.owner == ownerID }) {
		s.kick(ss.cl, false)
	}
}
