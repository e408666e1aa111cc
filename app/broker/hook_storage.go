package broker

import (
	"strconv"
	"sync/atomic"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/storage"
	"github.com/mochi-mqtt/server/v2/packets"
	"github.com/mochi-mqtt/server/v2/system"

	"thinx/app"
	"thinx/app/store"
)

// storageHook keeps the broker's state in SQLite: persistent sessions with
// their subscriptions and in-flight QoS 1/2 messages, retained messages and
// the server counters. Writes go through the batcher; a client whose
// session ends with its connection (clean session, or MQTT 5 with no
// session expiry) is never written at all, since a restart would discard it.
type storageHook struct {
	mqtt.HookBase
	s *Server

	lastSys time.Time
}

func (h *storageHook) ID() string { return "thinx-storage" }

var storageEvents = newHookSet(mqtt.OnSessionEstablished, mqtt.OnDisconnect, mqtt.OnSubscribed, mqtt.OnUnsubscribed,
	mqtt.OnRetainMessage, mqtt.OnQosPublish, mqtt.OnQosComplete, mqtt.OnQosDropped,
	mqtt.OnClientExpired, mqtt.OnRetainedExpired, mqtt.OnWillSent, mqtt.OnSysInfoTick,
	mqtt.StoredClients, mqtt.StoredSubscriptions, mqtt.StoredRetainedMessages,
	mqtt.StoredInflightMessages, mqtt.StoredSysInfo)

func (h *storageHook) Provides(b byte) bool { return storageEvents.has(b) }

// persistent reports whether cl's session outlives its connection, and
// whether the server still knows cl (a dropped or taken-over client must
// not write its state back).
func (h *storageHook) persistent(cl *mqtt.Client) bool {
	if cl.Net.Inline || clean(cl) {
		return false
	}
	cur, ok := h.s.mq.Clients.Get(cl.ID)
	return ok && cur == cl
}

func (h *storageHook) OnSessionEstablished(cl *mqtt.Client, _ packets.Packet) {
	if !h.persistent(cl) {
		// A clean start replaces whatever an earlier session stored.
		h.s.batch.deleteSession(cl.ID)
		return
	}
	h.saveClient(cl)
}

// OnWillSent stores the client again: its will is spent.
func (h *storageHook) OnWillSent(cl *mqtt.Client, _ packets.Packet) {
	if h.persistent(cl) {
		h.saveClient(cl)
	}
}

func (h *storageHook) saveClient(cl *mqtt.Client) {
	props := cl.Properties.Props.Copy(false)
	w := &cl.Properties.Will // Flag is written atomically when a session is ended
	c := storage.Client{
		ID: cl.ID, T: storage.ClientKey, Remote: cl.Net.Remote, Listener: cl.Net.Listener,
		Username: cl.Properties.Username, Clean: cl.Properties.Clean, ProtocolVersion: cl.Properties.ProtocolVersion,
		Properties: storage.ClientProperties{
			SessionExpiryInterval: props.SessionExpiryInterval, SessionExpiryIntervalFlag: props.SessionExpiryIntervalFlag,
			AuthenticationMethod: props.AuthenticationMethod, AuthenticationData: props.AuthenticationData,
			RequestProblemInfo: props.RequestProblemInfo, RequestProblemInfoFlag: props.RequestProblemInfoFlag,
			RequestResponseInfo: props.RequestResponseInfo, ReceiveMaximum: props.ReceiveMaximum,
			TopicAliasMaximum: props.TopicAliasMaximum, User: props.User, MaximumPacketSize: props.MaximumPacketSize,
		},
		Will: storage.ClientWill{Payload: w.Payload, User: w.User, TopicName: w.TopicName,
			Flag: atomic.LoadUint32(&cl.Properties.Will.Flag), WillDelayInterval: w.WillDelayInterval, Qos: w.Qos, Retain: w.Retain},
	}
	h.s.batch.put(store.MQTTClient, "", cl.ID, c.MarshalBinary)
}

func (h *storageHook) OnDisconnect(cl *mqtt.Client, err error, expire bool) {
	if expire && err != packets.ErrSessionTakenOver && !cl.IsTakenOver() {
		h.s.batch.deleteSession(cl.ID)
	}
}

func (h *storageHook) OnClientExpired(cl *mqtt.Client) { h.s.batch.deleteSession(cl.ID) }

func (h *storageHook) OnSubscribed(cl *mqtt.Client, pk packets.Packet, codes []byte) {
	if !h.persistent(cl) {
		return
	}
	for i, f := range pk.Filters {
		if i < len(codes) && codes[i] >= packets.ErrUnspecifiedError.Code {
			continue
		}
		sub := storage.Subscription{T: storage.SubscriptionKey, Client: cl.ID, Filter: f.Filter,
			Identifier: f.Identifier, RetainHandling: f.RetainHandling, Qos: f.Qos,
			RetainAsPublished: f.RetainAsPublished, NoLocal: f.NoLocal}
		h.s.batch.put(store.MQTTSubscription, cl.ID, f.Filter, sub.MarshalBinary)
	}
}

func (h *storageHook) OnUnsubscribed(cl *mqtt.Client, pk packets.Packet) {
	if cl.Net.Inline {
		return
	}
	for _, f := range pk.Filters {
		h.s.batch.del(store.MQTTSubscription, cl.ID, f.Filter)
	}
}

// OnRetainMessage stores or (for an empty payload, r == -1) deletes a
// retained message. The server's own $SYS values are not passed here.
func (h *storageHook) OnRetainMessage(cl *mqtt.Client, pk packets.Packet, r int64) {
	if r == -1 {
		h.s.batch.del(store.MQTTRetained, "", pk.TopicName)
		return
	}
	m := message(pk, "")
	h.s.batch.put(store.MQTTRetained, "", pk.TopicName, m.MarshalBinary)
}

func (h *storageHook) OnRetainedExpired(topic string) { h.s.batch.del(store.MQTTRetained, "", topic) }

// OnQosPublish stores an in-flight message of a persistent session. A
// configuration push may carry secret values, so it is stored encrypted
// with the data directory's key until the device acknowledges it.
func (h *storageHook) OnQosPublish(cl *mqtt.Client, pk packets.Packet, sent int64, _ int) {
	if !h.persistent(cl) {
		return
	}
	m := message(pk, cl.ID)
	m.Sent = sent
	encode := m.MarshalBinary
	if app.IsConfigurationMessage(pk.Payload) {
		encode = func() ([]byte, error) {
			b, err := m.MarshalBinary()
			if err != nil {
				return nil, err
			}
			return []byte(h.s.deps.DB.SealString(string(b))), nil
		}
	}
	h.s.batch.put(store.MQTTInflight, cl.ID, packetKey(pk.PacketID), encode)
}

// OnQosComplete forgets a stored in-flight message. A clean session never
// stored one, which this checks first: it runs for every QoS message.
func (h *storageHook) OnQosComplete(cl *mqtt.Client, pk packets.Packet) {
	if !cl.Net.Inline && !clean(cl) {
		h.s.batch.del(store.MQTTInflight, cl.ID, packetKey(pk.PacketID))
	}
}

func (h *storageHook) OnQosDropped(cl *mqtt.Client, pk packets.Packet) {
	if !cl.Net.Inline && !clean(cl) {
		h.s.batch.del(store.MQTTInflight, cl.ID, packetKey(pk.PacketID))
	}
}

// clean reports whether cl's session ends with its connection.
func clean(cl *mqtt.Client) bool {
	v := cl.Properties.ProtocolVersion
	return (v == 5 && cl.Properties.Props.SessionExpiryInterval == 0) || (v < 5 && cl.Properties.Clean)
}

// OnSysInfoTick stores the counters once a minute: they only seed $SYS
// after a restart and are not worth a write every tick.
func (h *storageHook) OnSysInfoTick(info *system.Info) {
	if time.Since(h.lastSys) < time.Minute {
		return
	}
	h.lastSys = time.Now()
	v := storage.SystemInfo{Info: *info.Clone(), T: storage.SysInfoKey, ID: storage.SysInfoKey}
	h.s.batch.put(store.MQTTSysInfo, "", "", v.MarshalBinary)
}

// message converts a packet to its storable form. It shares the payload:
// the server never changes a packet's bytes once read, and the value is
// encoded within milliseconds.
func message(pk packets.Packet, client string) storage.Message {
	p := pk.Properties
	return storage.Message{
		T: storage.RetainedKey, Client: client, Origin: pk.Origin, TopicName: pk.TopicName, Payload: pk.Payload,
		FixedHeader: pk.FixedHeader, Created: pk.Created, PacketID: pk.PacketID,
		Properties: storage.MessageProperties{
			PayloadFormat: p.PayloadFormat, PayloadFormatFlag: p.PayloadFormatFlag,
			MessageExpiryInterval: p.MessageExpiryInterval, ContentType: p.ContentType,
			ResponseTopic: p.ResponseTopic, CorrelationData: p.CorrelationData,
			SubscriptionIdentifier: p.SubscriptionIdentifier, User: p.User,
		},
	}
}

func packetKey(id uint16) string { return strconv.Itoa(int(id)) }
