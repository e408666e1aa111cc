package devices

import (
	"context"
	"encoding/json"
	"strings"

	"thinx/app"
	"thinx/app/audit"
	"thinx/app/events"
	"thinx/app/store"
)

// DeviceOwner returns the owner of a device and the meshes it belongs to,
// for the broker's access checks. An unknown UDID is ENOTFOUND.
func (s *Service) DeviceOwner(ctx context.Context, udid string) (ownerID string, meshes []string, err error) {
	return s.DB.DeviceOwner(ctx, strings.ToLower(udid))
}

// Status records a status the device published over MQTT: it runs the
// transformers, stores raw and transformed text and tells the console.
// Status writes share the check-in group commit.
func (s *Service) Status(ctx context.Context, ownerID, udid, status string) error {
	if len(status) > MaxStatusLen {
		return app.Errorf(app.EINVALID, "status is longer than %d characters", MaxStatusLen)
	}
	text, failure := s.transform(ctx, ownerID, udid, status)
	delta := &statDelta{}
	var d *app.Device
	err := s.write(ctx, func(tx *store.Tx) error {
		cur, err := s.stmts.Device(tx, ownerID, udid)
		if err != nil {
			return err
		}
		next := *cur
		next.Status, next.StatusText, next.StatusError = status, text, failure
		next.Level = app.StatusLevel(next.StatusLine())
		today := store.Day(tx.Now())
		*delta = statDelta{}
		if next.Level == app.LevelError && next.ErrorDay != today {
			next.ErrorDay = today
			delta.key, delta.Errors = store.StatKey{OwnerID: ownerID, Day: today}, 1
		}
		next.UpdatedAt = tx.Now()
		d = &next
		return s.stmts.SaveStatus(tx, d)
	}, delta)
	if err != nil {
		return err
	}
	s.publish("status", d)
	return nil
}

// Notification stores a question a device asks its owner; the console
// shows it and Answer sends the reply.
func (s *Service) Notification(ctx context.Context, ownerID, udid string, n app.Notification) error {
	if err := n.Validate(); err != nil {
		return err
	}
	n.ID, n.OwnerID, n.UDID, n.Response = 0, ownerID, udid, ""
	if n.ResponseType == "boolean" {
		n.ResponseType = "bool"
	}
	err := s.DB.Update(ctx, func(tx *store.Tx) error {
		if _, err := tx.Device(ownerID, udid); err != nil {
			return err
		}
		return tx.InsertNotification(&n)
	})
	if err == nil {
		s.Events.Publish(events.Event{OwnerID: ownerID, Kind: "notification", Subject: udid, Data: &n})
	}
	return err
}

// Notifications lists an owner's device questions, newest first.
func (s *Service) Notifications(ctx context.Context, ownerID string, openOnly bool) ([]*app.Notification, error) {
	return s.DB.Notifications(ctx, ownerID, openOnly, 100)
}

// Answer sends the owner's answer to a device's question, as
// {"notification":{"response_type":"bool","response":true}} on the
// device's topic. The device must be connected: answers are not retained.
func (s *Service) Answer(ctx context.Context, ownerID string, notificationID int64, response string) error {
	return s.DB.Update(ctx, func(tx *store.Tx) error {
		// Another owner's question is "not found" whether or not MQTT is on.
		n, err := tx.Notification(ownerID, notificationID)
		if err != nil {
			return err
		}
		if s.Publisher == nil {
			return app.Errorf(app.EINVALID, "Messages to devices are not available.")
		}
		if !n.AnsweredAt.IsZero() {
			return app.Errorf(app.ECONFLICT, "This question has been answered already.")
		}
		payload, err := answerPayload(n.ResponseType, response)
		if err != nil {
			return err
		}
		if !s.Publisher.Online(n.UDID) {
			return app.Errorf(app.ECONFLICT, "The device is offline; answer when it is connected.")
		}
		if err := tx.AnswerNotification(ownerID, n.ID, response); err != nil {
			return err
		}
		if err := audit.Record(tx, ownerID, ownerID, app.AuditNotificationAnswer, "", "Answered \""+n.Title+"\" with "+response+"."); err != nil {
			return err
		}
		// Published last, so a failed publish rolls the answer back.
		return s.Publisher.Publish(deviceTopic(ownerID, n.UDID), payload, 1)
	})
}

func answerPayload(responseType, response string) ([]byte, error) {
	type body struct {
		ResponseType string `json:"response_type"`
		Response     any    `json:"response"`
	}
	b := body{ResponseType: "string", Response: response}
	if responseType == "bool" || responseType == "" {
		switch strings.ToLower(strings.TrimSpace(response)) {
		case "true", "yes", "1", "ok":
			b.Response = true
		case "false", "no", "0", "cancel":
			b.Response = false
		default:
			return nil, app.Errorf(app.EINVALID, "Answer yes or no.")
		}
		b.ResponseType = "bool"
	}
	return json.Marshal(map[string]body{"notification": b})
}
