// Package loadgen drives MQTT brokers for benchmarks: a lean MQTT 3.1.1
// client on raw sockets (so the generator is not the bottleneck) and the
// scenarios the broker is measured with. It uses the embedded broker's
// packet codec, so both sides speak exactly the same wire format.
package loadgen

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"
)

// Conn is one MQTT 3.1.1 connection.
type Conn struct {
	c  net.Conn
	r  *bufio.Reader
	mu sync.Mutex // serialises writes
	wb bytes.Buffer
}

// Login are the credentials of a connection; empty means anonymous.
type Login struct {
	ClientID, User, Pass string
	Keepalive            uint16 // seconds
}

// Dial connects and waits for a successful CONNACK.
func Dial(addr string, l Login) (*Conn, error) {
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return nil, err
	}
	cn := &Conn{c: c, r: bufio.NewReaderSize(c, 16<<10)}
	pk := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Connect}, ProtocolVersion: 4,
		Connect: packets.ConnectParams{ProtocolName: []byte("MQTT"), Clean: true, Keepalive: l.Keepalive,
			ClientIdentifier: l.ClientID}}
	if l.User != "" {
		pk.Connect.UsernameFlag, pk.Connect.Username = true, []byte(l.User)
		pk.Connect.PasswordFlag, pk.Connect.Password = true, []byte(l.Pass)
	}
	if err := cn.write(pk); err != nil {
		c.Close()
		return nil, err
	}
	_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
	ack, err := cn.Read()
	_ = c.SetReadDeadline(time.Time{})
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("connack: %w", err)
	}
	if ack.FixedHeader.Type != packets.Connack || ack.ReasonCode != 0 {
		c.Close()
		return nil, fmt.Errorf("connection refused: type %d code %d", ack.FixedHeader.Type, ack.ReasonCode)
	}
	return cn, nil
}

func (cn *Conn) write(pk packets.Packet) error {
	pk.ProtocolVersion = 4
	cn.mu.Lock()
	defer cn.mu.Unlock()
	cn.wb.Reset()
	var err error
	switch pk.FixedHeader.Type {
	case packets.Connect:
		err = pk.ConnectEncode(&cn.wb)
	case packets.Publish:
		err = pk.PublishEncode(&cn.wb)
	case packets.Puback:
		err = pk.PubackEncode(&cn.wb)
	case packets.Subscribe:
		err = pk.SubscribeEncode(&cn.wb)
	case packets.Disconnect:
		err = pk.DisconnectEncode(&cn.wb)
	default:
		return fmt.Errorf("loadgen: cannot send packet type %d", pk.FixedHeader.Type)
	}
	if err != nil {
		return err
	}
	_, err = cn.c.Write(cn.wb.Bytes())
	return err
}

// Read reads the next packet.
func (cn *Conn) Read() (packets.Packet, error) {
	var pk packets.Packet
	b, err := cn.r.ReadByte()
	if err != nil {
		return pk, err
	}
	if err := pk.FixedHeader.Decode(b); err != nil {
		return pk, err
	}
	n, _, err := packets.DecodeLength(cn.r)
	if err != nil {
		return pk, err
	}
	pk.FixedHeader.Remaining = n
	body := make([]byte, n)
	if _, err := io.ReadFull(cn.r, body); err != nil {
		return pk, err
	}
	pk.ProtocolVersion = 4
	switch pk.FixedHeader.Type {
	case packets.Connack:
		err = pk.ConnackDecode(body)
	case packets.Publish:
		err = pk.PublishDecode(body)
	case packets.Puback:
		err = pk.PubackDecode(body)
	case packets.Suback:
		err = pk.SubackDecode(body)
	}
	return pk, err
}

// Publish sends a PUBLISH; id must be non-zero for QoS 1.
func (cn *Conn) Publish(topic string, payload []byte, qos byte, id uint16) error {
	return cn.write(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: qos},
		TopicName: topic, Payload: payload, PacketID: id})
}

// Ack acknowledges a QoS 1 PUBLISH.
func (cn *Conn) Ack(id uint16) error {
	return cn.write(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Puback}, PacketID: id})
}

// Subscribe subscribes and waits for the SUBACK; a refusal is an error.
func (cn *Conn) Subscribe(filter string, qos byte) error {
	err := cn.write(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Subscribe, Qos: 1}, PacketID: 1,
		Filters: packets.Subscriptions{{Filter: filter, Qos: qos}}})
	if err != nil {
		return err
	}
	for {
		pk, err := cn.Read()
		if err != nil {
			return err
		}
		if pk.FixedHeader.Type == packets.Suback {
			if len(pk.ReasonCodes) != 1 || pk.ReasonCodes[0] >= 0x80 {
				return errors.New("subscription refused")
			}
			return nil
		}
	}
}

// Close sends DISCONNECT and closes the socket.
func (cn *Conn) Close() error {
	_ = cn.write(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Disconnect}})
	return cn.c.Close()
}
