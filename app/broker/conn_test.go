package broker

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"sync/atomic"
	"testing"
	"time"
)

// countingConn is a real TCP socket that counts the writes and deadline
// changes conn makes on it.
type countingConn struct {
	*net.TCPConn
	writes, deadlines atomic.Int32
}

func (c *countingConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.TCPConn.Write(p)
}

func (c *countingConn) SetDeadline(t time.Time) error {
	c.deadlines.Add(1)
	return c.TCPConn.SetDeadline(t)
}

// tcpPair returns the server side of a loopback TCP connection wrapped in
// conn, and the client side.
func tcpPair(t *testing.T) (*conn, *countingConn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	cc := &countingConn{TCPConn: server.(*net.TCPConn)}
	c := newConn(cc)
	if c.raw == nil {
		t.Fatal("a TCP socket should be read through its descriptor")
	}
	t.Cleanup(func() { c.Close(); client.Close() })
	return c, cc, client
}

// readN reads exactly n bytes within a second.
func readN(t *testing.T, c net.Conn, n int) string {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(time.Second))
	b := make([]byte, n)
	if _, err := io.ReadFull(c, b); err != nil {
		t.Fatalf("reading %d bytes: %v (got %q)", n, err, b)
	}
	return string(b)
}

func TestConnHoldsNoBufferOnceInputIsConsumed(t *testing.T) {
	c, _, client := tcpPair(t)
	if c.in != nil {
		t.Fatal("a new connection should hold no read buffer")
	}
	if _, err := client.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	p := make([]byte, 2)
	if n, err := c.Read(p); err != nil || string(p[:n]) != "he" {
		t.Fatalf("read %q, %v", p[:n], err)
	}
	if c.in == nil || c.w-c.r != 3 {
		t.Fatalf("three bytes should wait in the borrowed buffer, have %d", c.w-c.r)
	}
	p = make([]byte, 16)
	if n, err := c.Read(p); err != nil || string(p[:n]) != "llo" {
		t.Fatalf("read %q, %v", p[:n], err)
	}
	if c.in != nil {
		t.Fatal("the buffer should go back to the pool once its bytes are consumed")
	}
	// Large inputs arrive whole, in pieces of at most the buffer size.
	big := bytes.Repeat([]byte("0123456789abcdef"), 1000)
	go client.Write(big)
	got, err := io.ReadAll(io.LimitReader(c, int64(len(big))))
	if err != nil || !bytes.Equal(got, big) {
		t.Fatalf("read %d of %d bytes, %v", len(got), len(big), err)
	}
}

func TestConnSendsAcknowledgementsOfOneReadTogether(t *testing.T) {
	c, cc, client := tcpPair(t)
	// Three 3-byte "packets" arrive in one segment; the read loop answers
	// each one as it handles it.
	if _, err := client.Write([]byte("aaabbbccc")); err != nil {
		t.Fatal(err)
	}
	p := make([]byte, 3)
	time.Sleep(50 * time.Millisecond) // all nine bytes are in the socket
	for _, want := range []string{"aaa", "bbb", "ccc"} {
		if _, err := io.ReadFull(c, p); err != nil || string(p) != want {
			t.Fatalf("read %q, %v; want %q", p, err, want)
		}
		if _, err := c.Write([]byte("ack" + want[:1])); err != nil {
			t.Fatal(err)
		}
	}
	if got := readN(t, client, 12); got != "ackaackbackc" {
		t.Fatalf("client got %q", got)
	}
	if n := cc.writes.Load(); n != 1 {
		t.Fatalf("three acknowledgements took %d writes, want 1", n)
	}
}

func TestConnSendsKeptBytesBeforeWaitingForInput(t *testing.T) {
	c, _, client := tcpPair(t)
	// A whole packet and the start of the next one.
	if _, err := client.Write([]byte("aaab")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	p := make([]byte, 3)
	if _, err := io.ReadFull(c, p); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write([]byte("acka")); err != nil { // kept: "b" waits
		t.Fatal(err)
	}
	done := make(chan string, 1)
	go func() {
		// Handles "b", then needs the rest of that packet from the socket.
		if _, err := io.ReadFull(c, p); err != nil {
			done <- err.Error()
			return
		}
		done <- string(p)
	}()
	// The peer sends the rest of its packet only after its acknowledgement,
	// as a device with a window of one does.
	if got := readN(t, client, 4); got != "acka" {
		t.Fatalf("client got %q", got)
	}
	if _, err := client.Write([]byte("bb")); err != nil {
		t.Fatal(err)
	}
	if got := <-done; got != "bbb" {
		t.Fatalf("server read %q", got)
	}
}

func TestConnWritesAtOnceWhenNothingWaits(t *testing.T) {
	c, cc, client := tcpPair(t)
	go func() { _, _ = c.Read(make([]byte, 8)) }() // the read loop waits on the socket
	time.Sleep(20 * time.Millisecond)
	for _, m := range []string{"one", "two"} {
		if _, err := c.Write([]byte(m)); err != nil {
			t.Fatal(err)
		}
		if got := readN(t, client, 3); got != m {
			t.Fatalf("client got %q, want %q", got, m)
		}
	}
	if n := cc.writes.Load(); n != 2 {
		t.Fatalf("%d writes, want 2", n)
	}
}

func TestConnCloseAndPauseSendKeptBytes(t *testing.T) {
	for _, how := range []string{"pause", "close"} {
		t.Run(how, func(t *testing.T) {
			c, _, client := tcpPair(t)
			if _, err := client.Write([]byte("xy")); err != nil {
				t.Fatal(err)
			}
			time.Sleep(20 * time.Millisecond)
			if _, err := c.Read(make([]byte, 1)); err != nil {
				t.Fatal(err)
			}
			if _, err := c.Write([]byte("bye")); err != nil { // kept: "y" waits
				t.Fatal(err)
			}
			if how == "pause" {
				pauseConn(c)
			} else if err := c.Close(); err != nil {
				t.Fatal(err)
			}
			if got := readN(t, client, 3); got != "bye" {
				t.Fatalf("client got %q", got)
			}
			if how == "pause" {
				// While paused, a write (a message for this client from
				// elsewhere) goes out at once though "y" still waits.
				if _, err := c.Write([]byte("msg")); err != nil {
					t.Fatal(err)
				}
				if got := readN(t, client, 3); got != "msg" {
					t.Fatalf("client got %q", got)
				}
			}
			if how == "close" {
				if n, err := client.Read(make([]byte, 1)); n != 0 || !errors.Is(err, io.EOF) {
					t.Fatalf("after close: %d, %v", n, err)
				}
			}
		})
	}
}

func TestConnReportsTheEndOfInput(t *testing.T) {
	c, _, client := tcpPair(t)
	if _, err := client.Write([]byte("z")); err != nil {
		t.Fatal(err)
	}
	client.Close()
	p := make([]byte, 4)
	if n, err := c.Read(p); n != 1 || err != nil {
		t.Fatalf("first read: %d, %v", n, err)
	}
	for range 2 {
		if n, err := c.Read(p); n != 0 || !errors.Is(err, io.EOF) {
			t.Fatalf("after the peer closed: %d, %v", n, err)
		}
	}
}

func TestConnDeadlineMovesInSteps(t *testing.T) {
	c, cc, _ := tcpPair(t)
	now := time.Now()
	// The server asks for a deadline keepalive × 1.5 ahead at every packet.
	for i := range 100 {
		if err := c.SetDeadline(now.Add(300*time.Millisecond + time.Duration(i)*time.Millisecond)); err != nil {
			t.Fatal(err)
		}
	}
	if n := cc.deadlines.Load(); n != 1 {
		t.Fatalf("100 deadlines within the slack set the socket %d times, want 1", n)
	}
	// Never earlier than the last one asked, at most the slack later.
	_, err := c.Read(make([]byte, 1))
	at := time.Since(now)
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read: %v, want a deadline error", err)
	}
	if last := 399 * time.Millisecond; at < last || at > last+deadlineSlack+500*time.Millisecond {
		t.Fatalf("timed out %s after the first deadline was asked for", at)
	}
	// An earlier deadline than the slack allows is set as asked.
	if err := c.SetDeadline(time.Now().Add(-deadlineSlack - time.Second)); err != nil {
		t.Fatal(err)
	}
	if n := cc.deadlines.Load(); n != 2 {
		t.Fatalf("an earlier deadline was not set (%d calls)", n)
	}
	// No deadline at all.
	if err := c.SetDeadline(time.Time{}); err != nil || c.deadline.Load() != 0 {
		t.Fatalf("clearing the deadline: %v", err)
	}
}

func TestSmallStacksEnv(t *testing.T) {
	for _, tc := range []struct {
		in      []string
		restart bool
		want    string
	}{
		{[]string{"PATH=/bin"}, true, "GODEBUG=adaptivestackstart=0"},
		{[]string{"GODEBUG=http2debug=1", "HOME=/"}, true, "GODEBUG=http2debug=1,adaptivestackstart=0"},
		{[]string{"GODEBUG=adaptivestackstart=1"}, false, "GODEBUG=adaptivestackstart=1"},
		{[]string{"GODEBUG=x=1, adaptivestackstart=0"}, false, "GODEBUG=x=1, adaptivestackstart=0"},
	} {
		env, restart := smallStacksEnv(tc.in)
		if restart != tc.restart || envCount(env, tc.want) != 1 {
			t.Errorf("%q → %q, %v; want %q, %v", tc.in, env, restart, tc.want, tc.restart)
		}
		if n := envCount(env, "GODEBUG="); n != 1 {
			t.Errorf("%q → %d GODEBUG entries", tc.in, n)
		}
	}
}

func envCount(env []string, prefix string) int {
	n := 0
	for _, kv := range env {
		if len(kv) >= len(prefix) && kv[:len(prefix)] == prefix {
			n++
		}
	}
	return n
}

// A connection without a descriptor (a pipe here) is read the plain way,
// with the same keeping of writes.
func TestConnWithoutDescriptor(t *testing.T) {
	server, client := net.Pipe()
	c := newConn(server)
	t.Cleanup(func() { c.Close(); client.Close() })
	if c.raw != nil {
		t.Fatal("a pipe has no descriptor")
	}
	go client.Write([]byte("abcd"))
	p := make([]byte, 2)
	if _, err := io.ReadFull(c, p); err != nil || string(p) != "ab" {
		t.Fatalf("read %q, %v", p, err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := c.Write([]byte("kept")) // "cd" waits: kept until the next read needs the socket
		done <- err
	}()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(c, p); err != nil || string(p) != "cd" {
		t.Fatalf("read %q, %v", p, err)
	}
	go func() { _, _ = c.Read(p) }() // needs the socket: sends "kept" first
	if got := readN(t, client, 4); got != "kept" {
		t.Fatalf("client got %q", got)
	}
}
