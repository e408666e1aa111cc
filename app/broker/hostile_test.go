package broker

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"testing"
	"time"
)

// mqttString encodes a length-prefixed MQTT string.
func mqttString(b *bytes.Buffer, s string) {
	_ = binary.Write(b, binary.BigEndian, uint16(len(s)))
	b.WriteString(s)
}

// packet frames a body with a fixed header byte and its remaining length.
func packet(header byte, body []byte) []byte {
	out := []byte{header}
	n := len(body)
	for {
		d := byte(n % 128)
		n /= 128
		if n > 0 {
			d |= 0x80
		}
		out = append(out, d)
		if n == 0 {
			break
		}
	}
	return append(out, body...)
}

// rawConnect is an MQTT 3.1.1 CONNECT with a user name and password.
func rawConnect(id, user, pass string) []byte {
	var b bytes.Buffer
	mqttString(&b, "MQTT")
	b.Write([]byte{4, 0xC2, 0, 30}) // level 4; user, password, clean; keepalive 30 s
	mqttString(&b, id)
	mqttString(&b, user)
	mqttString(&b, pass)
	return packet(0x10, b.Bytes())
}

// closedByServer reports whether the server closes c within d (rather than
// the read timing out).
func closedByServer(c net.Conn, d time.Duration) bool {
	_ = c.SetReadDeadline(time.Now().Add(d))
	buf := make([]byte, 512)
	for {
		_, err := c.Read(buf)
		if err == nil {
			continue // a CONNACK or DISCONNECT first is fine
		}
		var ne net.Error
		return !(errors.As(err, &ne) && ne.Timeout())
	}
}

func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

func TestHostileInput(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.ConnectTimeout = time.Second })
	addr := f.srv.Addr("tcp")
	topic := "/" + f.A.id + "/" + f.A.udid
	good := mustDial(t, f.tcpURL(), f.A.udid, f.A.key, "bystander")
	good.sub(t, topic, 1)

	send := func(t *testing.T, chunks ...[]byte) net.Conn {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		for _, b := range chunks {
			if _, err := c.Write(b); err != nil {
				t.Fatal(err)
			}
		}
		return c
	}
	login := rawConnect("raw", f.A.udid, f.A.key)
	for _, tc := range []struct {
		name   string
		chunks [][]byte
	}{
		{"CONNECT announcing 256 MiB", [][]byte{{0x10, 0xFF, 0xFF, 0xFF, 0x7F}, bytes.Repeat([]byte{0}, 4096)}},
		{"PUBLISH before CONNECT", [][]byte{packet(0x30, append([]byte{0, 1, 'x'}, "payload"...))}},
		{"SUBSCRIBE before CONNECT", [][]byte{packet(0x82, []byte{0, 1, 0, 1, '#', 0})}},
		{"varint of five bytes", [][]byte{{0x10, 0xFF, 0xFF, 0xFF, 0xFF, 0x01}}},
		{"varint cut short, then silence", [][]byte{{0x10, 0x80}}},
		{"CONNECT cut short, then silence", [][]byte{login[:10]}},
		{"nothing at all", nil},
		{"garbage", [][]byte{[]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")}},
		{"invalid UTF-8 topic", [][]byte{login, packet(0x30, append([]byte{0, 2, 0xFF, 0xFE}, "x"...))}},
		{"QoS 3 PUBLISH", [][]byte{login, packet(0x36, append([]byte{0, 1, 'x', 0, 1}, "x"...))}},
		{"second CONNECT", [][]byte{login, login}},
		{"packet over 64 KiB", [][]byte{login, packet(0x30, append([]byte{0, 1, 'x'}, make([]byte, 70<<10)...))}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := send(t, tc.chunks...)
			if !closedByServer(c, 5*time.Second) {
				t.Fatal("the connection stayed open")
			}
		})
	}

	// Eight announced 256 MiB CONNECTs do not reserve memory.
	before := heapInUse()
	for range 8 {
		c := send(t, []byte{0x10, 0xFF, 0xFF, 0xFF, 0x7F})
		closedByServer(c, 5*time.Second)
	}
	if grown := int64(heapInUse()) - int64(before); grown > 8<<20 {
		t.Errorf("heap grew %d bytes for eight huge CONNECT headers", grown)
	}

	// The bystander did not notice.
	if err := f.srv.Publish(topic, []byte("still here"), 1); err != nil {
		t.Fatal(err)
	}
	good.expect(t, topic, "still here")
}

// TestHalfOpenSockets opens thousands of sockets that never send CONNECT:
// memory per socket stays bounded, a device keeps working meanwhile, and
// the broker closes them all after ConnectTimeout.
func TestHalfOpenSockets(t *testing.T) {
	n := 2000
	if testing.Short() {
		n = 200
	}
	f := newFixture(t, func(o *Options) { o.ConnectTimeout = 2 * time.Second })
	topic := "/" + f.A.id + "/" + f.A.udid
	good := mustDial(t, f.tcpURL(), f.A.udid, f.A.key, "bystander")
	good.sub(t, topic, 1)

	before := heapInUse()
	conns := make([]net.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := range n {
		c, err := net.Dial("tcp", f.srv.Addr("tcp"))
		if err != nil {
			t.Fatalf("socket %d: %v", i, err)
		}
		if i%2 == 0 {
			_, _ = c.Write([]byte{0x10, 0x40}) // half a CONNECT header
		}
		conns = append(conns, c)
	}
	for deadline := time.Now().Add(10 * time.Second); f.srv.limit.open.Load() < int64(n); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the broker holds %d of %d sockets", f.srv.limit.open.Load(), n)
		}
	}
	perConn := (int64(heapInUse()) - int64(before)) / int64(n)
	t.Logf("%d half-open sockets: %d bytes of heap each (client and server side)", n, perConn)
	if perConn > 1<<20 {
		t.Errorf("heap grew %d bytes per socket, want at most 1 MiB", perConn)
	}

	if err := f.srv.Publish(topic, []byte("during the flood"), 1); err != nil {
		t.Fatal(err)
	}
	good.expect(t, topic, "during the flood")

	for i, c := range conns {
		if !closedByServer(c, 10*time.Second) {
			t.Fatalf("socket %d still open after the connect timeout", i)
		}
	}
	for deadline := time.Now().Add(5 * time.Second); f.srv.limit.open.Load() > 1; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d sockets still counted", f.srv.limit.open.Load())
		}
	}
	if !good.IsConnectionOpen() {
		t.Error("the bystander lost its connection")
	}
}

// TestMaxConnections: past the cap new sockets are closed at once.
func TestMaxConnections(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.MaxConnections = 5 })
	var conns []net.Conn
	for range 5 {
		c, err := net.Dial("tcp", f.srv.Addr("tcp"))
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		defer c.Close()
	}
	for f.srv.limit.open.Load() < 5 {
		time.Sleep(5 * time.Millisecond)
	}
	extra, err := net.Dial("tcp", f.srv.Addr("tcp"))
	if err != nil {
		t.Fatal(err)
	}
	defer extra.Close()
	_ = extra.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := extra.Read(make([]byte, 1)); !errors.Is(err, io.EOF) && !errors.Is(err, os.ErrDeadlineExceeded) {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatal("a socket over the cap stayed open")
		}
	}
	conns[0].Close()
	for f.srv.limit.open.Load() > 4 {
		time.Sleep(5 * time.Millisecond)
	}
	if _, err := dial(f.tcpURL(), f.A.udid, f.A.key, "fits-again"); err != nil {
		t.Errorf("after one socket closed, a login failed: %v", err)
	}
}
