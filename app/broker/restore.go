package broker

import (
	"context"
	"time"

	"github.com/mochi-mqtt/server/v2/hooks/storage"

	"thinx/app/store"
)

// The Stored* methods hand the saved state to the server when it starts.
// A row that no longer decodes is skipped and logged rather than stopping
// the broker.

// StoredClients returns the persistent sessions.
func (h *storageHook) StoredClients() ([]storage.Client, error) {
	rows, err := h.rows(store.MQTTClient)
	var out []storage.Client
	for _, r := range rows {
		var c storage.Client
		if h.decode(r, c.UnmarshalBinary(r.Data)) {
			h.s.batch.loaded(c.ID, "")
			out = append(out, c)
		}
	}
	return out, err
}

// StoredSubscriptions returns the subscriptions of persistent sessions.
func (h *storageHook) StoredSubscriptions() ([]storage.Subscription, error) {
	rows, err := h.rows(store.MQTTSubscription)
	var out []storage.Subscription
	for _, r := range rows {
		var sub storage.Subscription
		if h.decode(r, sub.UnmarshalBinary(r.Data)) {
			out = append(out, sub)
		}
	}
	return out, err
}

// StoredInflightMessages returns unacknowledged QoS 1/2 messages.
func (h *storageHook) StoredInflightMessages() ([]storage.Message, error) {
	rows, err := h.rows(store.MQTTInflight)
	var out []storage.Message
	for _, r := range rows {
		var m storage.Message
		data, err := h.opened(r.Data)
		if err == nil {
			err = m.UnmarshalBinary(data)
		}
		if h.decode(r, err) {
			h.s.batch.loaded(r.Client, r.Key)
			out = append(out, m)
		}
	}
	return out, err
}

// StoredRetainedMessages returns the retained messages.
func (h *storageHook) StoredRetainedMessages() ([]storage.Message, error) {
	rows, err := h.rows(store.MQTTRetained)
	var out []storage.Message
	for _, r := range rows {
		var m storage.Message
		if h.decode(r, m.UnmarshalBinary(r.Data)) {
			out = append(out, m)
		}
	}
	return out, err
}

// StoredSysInfo returns the saved server counters.
func (h *storageHook) StoredSysInfo() (storage.SystemInfo, error) {
	var v storage.SystemInfo
	rows, err := h.rows(store.MQTTSysInfo)
	if len(rows) > 0 {
		h.decode(rows[0], v.UnmarshalBinary(rows[0].Data))
	}
	return v, err
}

// opened decrypts a row stored sealed (see OnQosPublish).
func (h *storageHook) opened(data []byte) ([]byte, error) {
	if !store.IsSealed(data) {
		return data, nil
	}
	plain, err := h.s.deps.DB.OpenString(string(data))
	return []byte(plain), err
}

func (h *storageHook) rows(kind store.MQTTKind) ([]store.MQTTRow, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return h.s.deps.DB.MQTTRows(ctx, kind)
}

func (h *storageHook) decode(r store.MQTTRow, err error) bool {
	if err != nil {
		h.s.log.Error("mqtt: skip undecodable stored state", "client", r.Client, "key", r.Key, "err", err)
	}
	return err == nil
}
