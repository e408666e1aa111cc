package broker

import (
	"fmt"
	"testing"
	"time"

	"thinx/app/broker/loadgen"
)

// The queue length is read from an unexported field of the embedded
// server; an upgrade that renames it must fail here, not silently.
func TestQueueLen(t *testing.T) {
	if !queueField.ok {
		t.Fatal("ClientState.outboundQty not found: flow control falls back to in-flight counts")
	}
	f := newFixture(t)
	c := mustDial(t, f.tcpURL(), f.A.udid, f.A.key, "q")
	c.sub(t, "/"+f.A.id+"/"+f.A.udid, 1)
	for _, cl := range f.srv.mq.Clients.GetAll() {
		if n := queueLen(cl); n != 0 {
			t.Errorf("idle client %s has %d queued", cl.ID, n)
		}
	}
}

// TestFanInNoLoss: with a queue of only 16 slots per client, several QoS 1
// publishers flooding one subscriber lose nothing: the broker would drop
// deliveries once the queue is full, so the flow control must hold the
// publishers back.
func TestFanInNoLoss(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.WritesPending = 16 })
	var pubs []loadgen.Login
	var topics []string
	for i := range 4 {
		udid := fmt.Sprintf("%08x-1111-11ef-8000-000000000000", i)
		f.reg.put(udid, f.A.id)
		pubs = append(pubs, loadgen.Login{ClientID: fmt.Sprintf("pub%d", i), User: udid, Pass: f.A.key, Keepalive: 60})
		topics = append(topics, "/"+f.A.id+"/"+udid+"/data")
	}
	for _, qos := range []byte{1, 0} {
		r, err := loadgen.FanIn{Addr: f.srv.Addr("tcp"),
			Sub:       loadgen.Login{ClientID: "dashboard", User: f.A.id, Pass: f.A.key, Keepalive: 60},
			SubFilter: "/" + f.A.id + "/+/data", Pubs: pubs, Topics: topics, Msgs: 1000, QoS: qos, Window: 50,
			Payload: 32, Drain: 500 * time.Millisecond}.Run()
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("QoS %d: %d of %d delivered", qos, r.Received, r.Sent)
		if qos == 1 && (r.Received != r.Sent || r.Duplicates != 0) {
			t.Errorf("QoS 1: %d of %d delivered, %d duplicates", r.Received, r.Sent, r.Duplicates)
		}
	}
}
