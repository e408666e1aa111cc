package broker

import (
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mochi-mqtt/server/v2/listeners"
)

// connLimit counts open sockets of all listeners and remembers them, so a
// listener can close its half-open ones (which the server does not know
// yet) when it stops.
type connLimit struct {
	max   int64
	open  atomic.Int64
	mu    sync.Mutex
	conns map[net.Conn]string // socket → listener ID
}

func newConnLimit(max int) *connLimit {
	return &connLimit{max: int64(max), conns: map[net.Conn]string{}}
}

// acquire admits a socket, or reports false when the limit is reached.
func (l *connLimit) acquire(c net.Conn, listener string) bool {
	if l.open.Add(1) > l.max {
		l.open.Add(-1)
		return false
	}
	l.mu.Lock()
	l.conns[c] = listener
	l.mu.Unlock()
	return true
}

func (l *connLimit) release(c net.Conn) {
	l.mu.Lock()
	delete(l.conns, c)
	l.mu.Unlock()
	l.open.Add(-1)
}

// closeAll closes the sockets of one listener.
func (l *connLimit) closeAll(listener string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for c, id := range l.conns {
		if id == listener {
			c.Close()
		}
	}
}

// netListener serves MQTT (or MQTT over TLS) on a socket. Unlike the
// server's stock listener it caps open sockets, gives each one ConnectTimeout
// to present its CONNECT (and finish the TLS handshake), keeps accepting
// after a transient error such as running out of file descriptors, and
// closes half-open sockets when it stops.
type netListener struct {
	id      string
	ln      net.Listener
	tls     *tls.Config
	limit   *connLimit
	timeout time.Duration
	log     *slog.Logger
	closed  atomic.Bool
	wg      sync.WaitGroup
}

var _ listeners.Listener = (*netListener)(nil)

func newNetListener(id string, ln net.Listener, limit *connLimit, timeout time.Duration, log *slog.Logger) *netListener {
	return &netListener{id: id, ln: ln, limit: limit, timeout: timeout, log: log}
}

func (l *netListener) ID() string              { return l.id }
func (l *netListener) Address() string         { return l.ln.Addr().String() }
func (l *netListener) Init(*slog.Logger) error { return nil }

func (l *netListener) Protocol() string {
	if l.tls != nil {
		return "mqtts"
	}
	return "mqtt"
}

// Serve accepts sockets until Close.
func (l *netListener) Serve(establish listeners.EstablishFn) {
	backoff := 5 * time.Millisecond
	for {
		c, err := l.ln.Accept()
		if err != nil {
			if l.closed.Load() || errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of descriptors or a reset during accept: wait, then go on.
			l.log.Warn("mqtt: accept", "listener", l.id, "err", err)
			time.Sleep(backoff)
			backoff = min(2*backoff, time.Second)
			continue
		}
		backoff = 5 * time.Millisecond
		if !l.limit.acquire(c, l.id) {
			c.Close()
			continue
		}
		// The server re-arms the deadline from the keepalive after CONNECT.
		_ = c.SetDeadline(time.Now().Add(l.timeout))
		l.wg.Add(1)
		go l.handle(c, establish)
	}
}

func (l *netListener) handle(c net.Conn, establish listeners.EstablishFn) {
	defer l.wg.Done()
	defer l.limit.release(c)
	var conn net.Conn = newConn(c)
	if l.tls != nil {
		conn = tls.Server(conn, l.tls)
	}
	if err := establish(l.id, conn); err != nil {
		l.log.Debug("mqtt: connection ended", "listener", l.id, "remote", c.RemoteAddr().String(), "err", err)
	}
	conn.Close()
}

// Close stops accepting, disconnects this listener's clients and closes
// its remaining sockets.
func (l *netListener) Close(closeClients listeners.CloseFn) {
	if !l.closed.CompareAndSwap(false, true) {
		return
	}
	l.ln.Close()
	closeClients(l.id)
	l.limit.closeAll(l.id)
	l.wg.Wait()
}
