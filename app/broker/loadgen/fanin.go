package loadgen

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"
)

// FanIn has every publisher send Msgs messages into one subscriber: the
// shape of a fleet reporting to one dashboard.
type FanIn struct {
	Addr      string
	Sub       Login
	SubFilter string
	Pubs      []Login
	Topics    []string // one per publisher
	Msgs      int      // per publisher
	QoS       byte
	Window    int           // unacknowledged QoS 1 messages per publisher
	Payload   int           // bytes, at least 8
	Drain     time.Duration // wait this long without progress before counting the rest as lost
}

// FanInResult is what arrived. Rate counts distinct messages delivered per
// second, from the first publish to the last delivery.
type FanInResult struct {
	Sent, Received, Duplicates int
	Elapsed                    time.Duration
	Rate                       float64
	LossPercent                float64
}

// Run performs the scenario once.
func (f FanIn) Run() (FanInResult, error) {
	var res FanInResult
	if len(f.Pubs) != len(f.Topics) || f.Msgs <= 0 || f.Payload < 8 {
		return res, errors.New("fan-in: one topic per publisher, messages and a payload of 8 bytes or more")
	}
	sub, err := Dial(f.Addr, f.Sub)
	if err != nil {
		return res, fmt.Errorf("subscriber: %w", err)
	}
	defer sub.Close()
	if err := sub.Subscribe(f.SubFilter, f.QoS); err != nil {
		return res, fmt.Errorf("subscriber: %w", err)
	}
	pubs := make([]*Conn, len(f.Pubs))
	for i, l := range f.Pubs {
		if pubs[i], err = Dial(f.Addr, l); err != nil {
			return res, fmt.Errorf("publisher %d: %w", i, err)
		}
		defer pubs[i].Close()
	}

	total := len(pubs) * f.Msgs
	seen := make([][]bool, len(pubs))
	for i := range seen {
		seen[i] = make([]bool, f.Msgs)
	}
	var received, dups atomic.Int64
	var last atomic.Int64 // unix nanoseconds of the latest delivery
	subDone := make(chan struct{})
	go func() {
		defer close(subDone)
		for {
			pk, err := sub.Read()
			if err != nil {
				return
			}
			if pk.FixedHeader.Type != packets.Publish || len(pk.Payload) < 8 {
				continue
			}
			if pk.FixedHeader.Qos > 0 {
				_ = sub.Ack(pk.PacketID)
			}
			p, s := binary.BigEndian.Uint32(pk.Payload), binary.BigEndian.Uint32(pk.Payload[4:])
			if int(p) >= len(seen) || int(s) >= f.Msgs {
				continue
			}
			if seen[p][s] {
				dups.Add(1)
				continue
			}
			seen[p][s] = true
			last.Store(time.Now().UnixNano())
			if received.Add(1) == int64(total) {
				return
			}
		}
	}()

	start := time.Now()
	var wg sync.WaitGroup
	errs := make([]error, len(pubs))
	for i, pc := range pubs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = f.publish(pc, uint32(i), f.Topics[i])
		}()
	}
	wg.Wait()
	res.Sent = total
	// Wait for the subscriber to finish, or to stop making progress.
	for prev := int64(-1); ; {
		select {
		case <-subDone:
		case <-time.After(f.Drain):
			if n := received.Load(); n != prev {
				prev = n
				continue
			}
		}
		break
	}
	res.Received, res.Duplicates = int(received.Load()), int(dups.Load())
	if l := last.Load(); l > 0 {
		res.Elapsed = time.Unix(0, l).Sub(start)
		res.Rate = float64(res.Received) / res.Elapsed.Seconds()
	}
	res.LossPercent = 100 * float64(total-res.Received) / float64(total)
	return res, errors.Join(errs...)
}

// publish sends one publisher's messages; at QoS 1 at most Window of them
// are unacknowledged at a time.
func (f FanIn) publish(c *Conn, idx uint32, topic string) error {
	payload := make([]byte, f.Payload)
	if f.QoS == 0 {
		for s := range f.Msgs {
			binary.BigEndian.PutUint32(payload, idx)
			binary.BigEndian.PutUint32(payload[4:], uint32(s))
			if err := c.Publish(topic, payload, 0, 0); err != nil {
				return err
			}
		}
		return nil
	}
	window := make(chan struct{}, max(f.Window, 1))
	acked := make(chan error, 1)
	go func() {
		for n := 0; n < f.Msgs; {
			pk, err := c.Read()
			if err != nil {
				acked <- err
				return
			}
			if pk.FixedHeader.Type == packets.Puback {
				<-window
				n++
			}
		}
		acked <- nil
	}()
	for s := range f.Msgs {
		window <- struct{}{}
		binary.BigEndian.PutUint32(payload, idx)
		binary.BigEndian.PutUint32(payload[4:], uint32(s))
		if err := c.Publish(topic, payload, 1, uint16(s%65535+1)); err != nil {
			return err
		}
	}
	return <-acked
}
