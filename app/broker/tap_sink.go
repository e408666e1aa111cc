package broker

import (
	"context"
	"encoding/json"
	"time"
)

// handle runs one tap job against the sink, on a worker.
func (t *tap) handle(j job) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	sink, log := t.s.deps.Sink, t.s.log
	if j.payload == nil {
		if err := sink.SetOnline(ctx, j.owner, j.udid, j.online); err != nil {
			log.Warn("mqtt: mark device online", "udid", j.udid, "online", j.online, "err", err)
		}
		return
	}
	m, err := parseStatus(j.payload)
	if err != nil {
		log.Debug("mqtt: unreadable status message", "udid", j.udid, "err", err)
		return
	}
	if m.Registration != nil {
		t.checkin(ctx, j, m.Registration)
	}
	if n := m.Notification; n != nil {
		if err := sink.Notification(ctx, j.owner, j.udid, *n); err != nil {
			log.Warn("mqtt: device notification", "udid", j.udid, "err", err)
		}
	}
	online := m.Connected
	if m.Status != nil {
		// The libraries' last will is {"status":"disconnected"}, and they
		// announce {"status":"connected"}: connection state, not a status.
		switch *m.Status {
		case "disconnected":
			online = new(bool)
		case "connected":
			online = new(bool)
			*online = true
		default:
			if err := sink.Status(ctx, j.owner, j.udid, *m.Status); err != nil {
				log.Warn("mqtt: device status", "udid", j.udid, "err", err)
			}
		}
	}
	if online != nil {
		if err := sink.SetOnline(ctx, j.owner, j.udid, *online); err != nil {
			log.Warn("mqtt: mark device online", "udid", j.udid, "err", err)
		}
	}
}

// checkin processes {"registration":{…}} like POST /device/register with
// the key the device logged in with, and answers on /<owner>/<udid>. A
// registration naming another device than the topic is ignored: the topic
// is what the ACL checked.
func (t *tap) checkin(ctx context.Context, j job, doc []byte) {
	if j.key == "" {
		t.s.log.Debug("mqtt: check-in without a device login ignored", "udid", j.udid)
		return
	}
	var body struct {
		Registration struct {
			UDID string `json:"udid"`
		} `json:"registration"`
	}
	if err := json.Unmarshal(doc, &body); err != nil {
		t.s.log.Debug("mqtt: check-in ignored", "udid", j.udid, "err", err)
		return
	}
	if u := body.Registration.UDID; u != "" && u != j.udid {
		t.s.log.Info("mqtt: check-in for another device ignored", "topic_udid", j.udid, "ip", j.ip)
		return
	}
	reply, status := t.s.deps.Sink.RegisterJSON(ctx, j.key, j.ip, doc)
	t.s.log.Debug("mqtt: check-in", "udid", j.udid, "status", status)
	if len(reply) == 0 {
		return
	}
	if err := t.s.Publish("/"+j.owner+"/"+j.udid, reply, 1); err != nil {
		t.s.log.Warn("mqtt: publish check-in reply", "udid", j.udid, "err", err)
	}
}
