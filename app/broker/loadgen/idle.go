package loadgen

import (
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// IdleSet is a set of logged-in connections that send nothing.
type IdleSet struct {
	conns []*Conn
}

// OpenIdle logs n connections in, parallel at a time, with the login of
// each index. It stops at the first failure.
func OpenIdle(addr string, n, parallel int, login func(i int) Login) (*IdleSet, error) {
	set := &IdleSet{conns: make([]*Conn, n)}
	var next atomic.Int64
	var failed atomic.Pointer[error]
	var wg sync.WaitGroup
	for range max(parallel, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for failed.Load() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				c, err := Dial(addr, login(i))
				if err != nil {
					err = fmt.Errorf("connection %d: %w", i, err)
					failed.CompareAndSwap(nil, &err)
					return
				}
				set.conns[i] = c
			}
		}()
	}
	wg.Wait()
	if e := failed.Load(); e != nil {
		set.Close()
		return nil, *e
	}
	return set, nil
}

// Subscribe has connection i subscribe to filter(i) and waits for each
// acknowledgement.
func (s *IdleSet) Subscribe(filter func(i int) string, qos byte) error {
	for i, c := range s.conns {
		if err := c.Subscribe(filter(i), qos); err != nil {
			return fmt.Errorf("connection %d: %w", i, err)
		}
	}
	return nil
}

// Close closes every connection.
func (s *IdleSet) Close() {
	for _, c := range s.conns {
		if c != nil {
			c.c.Close()
		}
	}
}

// StatusLoad has Devices devices each publish a status once per Interval
// for Duration, starting spread over one interval. The status carries its
// send time, "bench <unix nanoseconds>", so the receiving side can measure
// the delay up to its own write.
type StatusLoad struct {
	Addr     string
	Devices  int
	Login    func(i int) Login
	Topic    func(i int) string
	Interval time.Duration
	Duration time.Duration
	QoS      byte
}

// Run connects the devices, publishes and returns how many statuses went
// out.
func (s StatusLoad) Run() (int, error) {
	set, err := OpenIdle(s.Addr, s.Devices, 50, s.Login)
	if err != nil {
		return 0, err
	}
	defer set.Close()
	var sent atomic.Int64
	var wg sync.WaitGroup
	errs := make([]error, s.Devices)
	end := time.Now().Add(s.Duration)
	for i, c := range set.conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			go func() { // drain acknowledgements
				for {
					if _, err := c.Read(); err != nil {
						return
					}
				}
			}()
			time.Sleep(time.Duration(i) * s.Interval / time.Duration(s.Devices))
			t := time.NewTicker(s.Interval)
			defer t.Stop()
			for id := uint16(1); time.Now().Before(end); id = id%65535 + 1 {
				body := `{"status":"bench ` + strconv.FormatInt(time.Now().UnixNano(), 10) + `"}`
				if err := c.Publish(s.Topic(i), []byte(body), s.QoS, id*uint16(s.QoS)); err != nil {
					errs[i] = err
					return
				}
				sent.Add(1)
				<-t.C
			}
		}()
	}
	wg.Wait()
	return int(sent.Load()), errors.Join(errs...)
}
