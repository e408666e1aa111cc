package broker

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// conn is the socket of one MQTT client as the embedded server sees it.
//
// Reading. The server puts a read buffer of its own in front of every
// connection and keeps it for the connection's life; a fleet of idle
// devices would hold thousands of them for nothing. That buffer is set to
// its minimum (see readBufferSize) and conn reads the socket into a buffer
// borrowed from a pool only once the socket is readable, giving it back as
// soon as the bytes are consumed. An idle connection holds no read buffer;
// a busy one reads up to connBufSize bytes per system call.
//
// Writing. The server writes every acknowledgement from the client's read
// loop straight to the socket, one system call per packet, so a device
// publishing QoS 1 costs a write for each message. While the read loop is
// working through bytes already received (the next packets are waiting in
// the borrowed buffer), conn keeps what is written and sends it together:
// with the write that comes after the last of those bytes is handed out,
// before the loop next waits for the socket, when connBufSize bytes are
// pending, or when the connection closes. Nothing written waits for input
// that has not arrived yet. (Pause, below, sends what is pending before a
// read loop is held back on purpose.) An error of a kept write comes back
// from the next Read, Write or Pause.
type conn struct {
	net.Conn
	raw  syscall.RawConn       // nil: no descriptor (a pipe, say): plain blocking reads then
	read func(fd uintptr) bool // c.readSome, bound once

	// Owned by the read loop.
	in   *[]byte // borrowed while unread bytes remain
	r, w int     // unread bytes are (*in)[r:w]
	rerr error   // the error of the last read, once the bytes before it are consumed

	deadline atomic.Int64 // the socket's deadline in Unix nanoseconds as SetDeadline set it; 0: not known

	mu     sync.Mutex
	more   bool    // unread bytes remain: the read loop will be back soon
	out    *[]byte // writes kept back, nil when none
	werr   error   // a failed write of kept bytes
	closed bool
}

const (
	// connBufSize bounds the bytes read per system call and the bytes of
	// writes kept back. A THiNX status publish is about 150 bytes.
	connBufSize = 4 << 10
	// readBufferSize is the server's own per-connection read buffer: the
	// smallest a bufio.Reader takes, since conn buffers underneath.
	readBufferSize = 16
	// deadlineSlack is how far SetDeadline may leave a deadline from the
	// one asked for.
	deadlineSlack = time.Second
)

var connBufs = sync.Pool{New: func() any { b := make([]byte, connBufSize); return &b }}

func newConn(c net.Conn) *conn {
	cn := &conn{Conn: c}
	if sc, ok := c.(syscall.Conn); ok {
		if raw, err := sc.SyscallConn(); err == nil {
			cn.raw = raw
		}
	}
	cn.read = cn.readSome
	return cn
}

// Read hands out received bytes, reading the socket when none are left.
func (c *conn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if c.r == c.w {
		if err := c.fill(); err != nil {
			return 0, err
		}
	}
	n := copy(p, (*c.in)[c.r:c.w])
	c.r += n
	if c.r == c.w {
		connBufs.Put(c.in)
		c.in, c.r, c.w = nil, 0, 0
		c.mu.Lock()
		c.more = false
		c.mu.Unlock()
	}
	return n, nil
}

// fill sends what is kept back, then waits for the socket to be readable
// and reads what it has.
func (c *conn) fill() error {
	if err := c.rerr; err != nil {
		return err
	}
	c.mu.Lock()
	err := c.flushLocked()
	c.mu.Unlock()
	if err != nil {
		return err
	}
	if c.raw != nil {
		if err := c.raw.Read(c.read); err != nil {
			return err
		}
	} else {
		c.in = connBufs.Get().(*[]byte)
		n, err := c.Conn.Read(*c.in)
		c.r, c.w = 0, n
		if err != nil {
			c.rerr = err
		}
	}
	if c.r == c.w {
		if c.in != nil {
			connBufs.Put(c.in)
			c.in = nil
		}
		err := c.rerr
		if err == nil {
			err = io.ErrNoProgress
		}
		return err
	}
	c.mu.Lock()
	c.more = true
	c.mu.Unlock()
	return nil
}

// readSome reads the readable socket into a borrowed buffer; it reports
// false, holding nothing, when there is nothing to read yet.
func (c *conn) readSome(fd uintptr) bool {
	if c.in == nil {
		c.in = connBufs.Get().(*[]byte)
	}
	for {
		n, err := syscall.Read(int(fd), *c.in)
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			connBufs.Put(c.in)
			c.in = nil
			return false
		case err != nil:
			c.rerr = os.NewSyscallError("read", err)
		case n == 0:
			c.rerr = io.EOF
		default:
			c.r, c.w = 0, n
		}
		return true
	}
}

// Write sends p, or keeps it back while more received bytes wait to be
// handled.
func (c *conn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.werr != nil {
		return 0, c.werr
	}
	if c.more && !c.closed {
		if c.out == nil {
			c.out = connBufs.Get().(*[]byte)
			*c.out = (*c.out)[:0]
		}
		if len(*c.out)+len(p) <= connBufSize {
			*c.out = append(*c.out, p...)
			return len(p), nil
		}
	}
	if c.out != nil && len(*c.out)+len(p) <= connBufSize {
		// One system call for the kept bytes and p.
		*c.out = append(*c.out, p...)
		return len(p), c.flushLocked()
	}
	if err := c.flushLocked(); err != nil {
		return 0, err
	}
	return c.Conn.Write(p)
}

// Pause sends what is kept back: the read loop is about to wait for
// something other than the socket. Until it next reads the socket, writes
// go out at once, so what other goroutines send this client meanwhile (its
// subscriptions' messages) is not held up by the wait.
func (c *conn) Pause() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.more = false
	return c.flushLocked()
}

// flushLocked writes the kept bytes (under c.mu).
func (c *conn) flushLocked() error {
	if c.werr != nil {
		return c.werr
	}
	if c.out == nil {
		return nil
	}
	b := c.out
	c.out = nil
	_, err := c.Conn.Write(*b)
	*b = (*b)[:cap(*b)] // the pool hands out whole buffers
	connBufs.Put(b)
	if err != nil {
		c.werr = err
	}
	return err
}

// Close sends what is kept back (such as a DISCONNECT with its reason) if
// the socket takes it at once, then closes. It never waits on a write in
// progress: a stuck peer must not hold up its own disconnection.
func (c *conn) Close() error {
	if c.mu.TryLock() {
		c.closed = true
		if c.out != nil {
			_ = c.Conn.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
			_ = c.flushLocked()
		}
		c.mu.Unlock()
	}
	err := c.Conn.Close()
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}

// SetDeadline sets the read and write deadline. The server moves it on
// every packet a client sends, to keepalive and a half from then; on a busy
// connection that is a timer update per packet. conn moves it in steps
// instead: a deadline asked for up to deadlineSlack before the one set
// leaves it as it is, and a later one is set deadlineSlack later than
// asked. A silent client is so cut off at most deadlineSlack after its
// keepalive and a half, never before.
func (c *conn) SetDeadline(t time.Time) error {
	set := c.deadline.Load()
	if !t.IsZero() && set != 0 {
		if at := t.UnixNano(); at <= set && set-at <= int64(deadlineSlack) {
			return nil
		}
	}
	if !t.IsZero() && (set == 0 || t.UnixNano() > set) {
		t = t.Add(deadlineSlack)
	}
	if t.IsZero() {
		c.deadline.Store(0)
	} else {
		c.deadline.Store(t.UnixNano())
	}
	return c.Conn.SetDeadline(t)
}

// SetReadDeadline and SetWriteDeadline set one side exactly; the next
// SetDeadline then sets both again.
func (c *conn) SetReadDeadline(t time.Time) error {
	c.deadline.Store(0)
	return c.Conn.SetReadDeadline(t)
}

func (c *conn) SetWriteDeadline(t time.Time) error {
	c.deadline.Store(0)
	return c.Conn.SetWriteDeadline(t)
}

// NetConn is the socket underneath.
func (c *conn) NetConn() net.Conn { return c.Conn }

// pauseConn sends what a client's connection keeps back, before its read
// loop waits for something other than its socket.
func pauseConn(nc net.Conn) {
	for nc != nil {
		switch c := nc.(type) {
		case *conn:
			_ = c.Pause()
			return
		case interface{ NetConn() net.Conn }:
			nc = c.NetConn()
		default:
			return
		}
	}
}
