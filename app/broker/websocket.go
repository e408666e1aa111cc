package broker

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/mochi-mqtt/server/v2/listeners"
)

// wsListener carries MQTT over WebSocket (subprotocol "mqtt"). It is an
// http.Handler, so it serves on a port of its own (Options.WSAddr) and can
// also be mounted on the web server (WebSocketHandler).
type wsListener struct {
	s        *Server
	id       string
	upgrader websocket.Upgrader

	mu        sync.Mutex
	srv       *http.Server
	addr      string
	establish atomic.Pointer[listeners.EstablishFn]
	closed    atomic.Bool
	wg        sync.WaitGroup
}

var _ listeners.Listener = (*wsListener)(nil)

func newWSListener(s *Server, id string) *wsListener {
	return &wsListener{s: s, id: id, upgrader: websocket.Upgrader{
		Subprotocols:    []string{"mqtt", "mqttv3.1"},
		ReadBufferSize:  2048,
		WriteBufferSize: 2048,
		// Any origin may connect: MQTT credentials travel inside CONNECT,
		// never in cookies, so a foreign page gains nothing it does not
		// already hold.
		CheckOrigin: func(*http.Request) bool { return true },
	}}
}

// WebSocketHandler serves MQTT over WebSocket inside another HTTP server,
// e.g. at /mqtt on the console's port. It answers 503 until Start.
func (s *Server) WebSocketHandler() http.Handler { return s.ws }

// listen binds the listener's own port.
func (l *wsListener) listen(addr string) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", err
	}
	l.mu.Lock()
	l.addr = ln.Addr().String()
	l.srv = &http.Server{Handler: l, ReadHeaderTimeout: l.s.opts.ConnectTimeout}
	l.mu.Unlock()
	go func() {
		if err := l.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			l.s.log.Error("mqtt: websocket listener", "err", err)
		}
	}()
	return l.addr, nil
}

func (l *wsListener) ID() string                    { return l.id }
func (l *wsListener) Protocol() string              { return "ws" }
func (l *wsListener) Init(*slog.Logger) error       { return nil }
func (l *wsListener) Serve(e listeners.EstablishFn) { l.establish.Store(&e) }

func (l *wsListener) Address() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.addr
}

// ServeHTTP upgrades a request and runs an MQTT connection over it.
func (l *wsListener) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	establish := l.establish.Load()
	if establish == nil || l.closed.Load() {
		http.Error(w, "MQTT broker not running", http.StatusServiceUnavailable)
		return
	}
	if !websocket.IsWebSocketUpgrade(r) {
		http.Error(w, "MQTT over WebSocket: upgrade required", http.StatusUpgradeRequired)
		return
	}
	c, err := l.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has answered
	}
	raw := c.NetConn()
	if !l.s.limit.acquire(raw, l.id) {
		raw.Close()
		return
	}
	defer l.s.limit.release(raw)
	l.wg.Add(1)
	defer l.wg.Done()
	c.SetReadLimit(int64(l.s.opts.MaxPacketSize) + 16)
	_ = raw.SetDeadline(time.Now().Add(l.s.opts.ConnectTimeout))
	if err := (*establish)(l.id, &wsConn{Conn: raw, ws: c}); err != nil {
		l.s.log.Debug("mqtt: websocket connection ended", "remote", raw.RemoteAddr().String(), "err", err)
	}
	raw.Close()
}

// Close stops the own port, disconnects the listener's clients and closes
// its remaining sockets.
func (l *wsListener) Close(closeClients listeners.CloseFn) {
	if !l.closed.CompareAndSwap(false, true) {
		return
	}
	l.mu.Lock()
	srv := l.srv
	l.mu.Unlock()
	if srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_ = srv.Shutdown(ctx) // hijacked connections are not waited for
		cancel()
	}
	closeClients(l.id)
	l.s.limit.closeAll(l.id)
	l.wg.Wait()
}

// wsConn presents a WebSocket as the byte stream MQTT expects: each binary
// message is a piece of the stream, and each write one message. Deadlines
// go to the underlying socket, which the WebSocket reads and writes.
type wsConn struct {
	net.Conn
	ws  *websocket.Conn
	cur io.Reader
}

func (c *wsConn) Read(p []byte) (int, error) {
	for {
		if c.cur == nil {
			typ, r, err := c.ws.NextReader()
			if err != nil {
				return 0, err
			}
			if typ != websocket.BinaryMessage {
				return 0, errors.New("mqtt over websocket: text frame")
			}
			c.cur = r
		}
		n, err := c.cur.Read(p)
		if errors.Is(err, io.EOF) {
			c.cur = nil
			if n == 0 {
				continue
			}
			err = nil
		}
		return n, err
	}
}

func (c *wsConn) Write(p []byte) (int, error) {
	if err := c.ws.WriteMessage(websocket.BinaryMessage, p); err != nil {
		return 0, err
	}
	return len(p), nil
}
