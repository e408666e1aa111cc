package broker

import (
	"reflect"
	"sync/atomic"
	"unsafe"

	mqtt "github.com/mochi-mqtt/server/v2"
)

// The embedded server keeps, per client, the number of packets waiting in
// its outbound queue (ClientState.outboundQty, updated atomically) but does
// not export it. Flow control needs exactly that number: without it, the
// only safe proxy is the count of unacknowledged messages, which forces
// either a deep queue on every connection (memory) or early stalls
// (throughput). So the field is located once by reflection and read
// atomically. The version of the server is pinned in go.mod, and
// TestQueueLen fails if an upgrade renames the field; queueLen then falls
// back to the unacknowledged count, an upper bound for QoS 1 traffic.
var queueField = func() struct {
	offset uintptr
	ok     bool
} {
	f, ok := reflect.TypeFor[mqtt.ClientState]().FieldByName("outboundQty")
	return struct {
		offset uintptr
		ok     bool
	}{f.Offset, ok && f.Type.Kind() == reflect.Int32}
}()

// queueLen is the number of packets waiting in cl's outbound queue.
func queueLen(cl *mqtt.Client) int {
	if !queueField.ok {
		return cl.State.Inflight.Len()
	}
	return int(atomic.LoadInt32((*int32)(unsafe.Add(unsafe.Pointer(&cl.State), queueField.offset))))
}
