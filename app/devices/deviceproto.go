package devices

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"

	"thinx/app"
	"thinx/app/store"
)

// pushTokenRe accepts APNs (64 hex) and FCM tokens.
var pushTokenRe = regexp.MustCompile(`^[A-Za-z0-9_:.-]{1,512}$`)

// Replies of the device endpoints other than register.
var (
	replyPushRegistered = []byte(`{"success":true,"response":"push_token_registered"}`)
	replyNoUpdate       = []byte(`{"success":false,"status":"OK"}`)
)

// AddPushJSON is POST /device/addpush: {"push":"<token>","udid":"…"}. The
// key must belong to the device's owner.
func (s *Service) AddPushJSON(ctx context.Context, key, ip string, body []byte) ([]byte, int) {
	var req struct {
		Push  string `json:"push"`
		UDID  string `json:"udid"`
		Owner string `json:"owner"`
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return errorReply(errNoBody)
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return errorReply(decodeError(err))
	}
	req.UDID = strings.ToLower(strings.TrimSpace(req.UDID))
	switch {
	case !app.IsUDID(req.UDID):
		return errorReply(app.Errorf(app.EINVALID, "udid must be a 36-character UUID"))
	case !pushTokenRe.MatchString(req.Push):
		return errorReply(app.Errorf(app.EINVALID, "push must be a push token"))
	}
	d, err := s.deviceForKey(ctx, req.UDID, strings.ToLower(req.Owner), key, ip)
	if err != nil {
		return errorReply(err)
	}
	if err := s.DB.Update(ctx, func(tx *store.Tx) error { return tx.SetPushToken(d.UDID, req.Push) }); err != nil {
		return errorReply(err)
	}
	return replyPushRegistered, http.StatusOK
}

// FirmwareJSON is POST /device/firmware, used by the Lua and MicroPython
// clients to ask for an update. It authenticates the device and, until an
// update source is plugged in, answers that none waits.
func (s *Service) FirmwareJSON(ctx context.Context, key, ip string, body []byte) ([]byte, int) {
	reg, err := parseRegistration(body)
	if err == nil && reg.UDID == "" {
		err = app.Errorf(app.EINVALID, "udid is required")
	}
	if err != nil {
		return errorReply(err)
	}
	if _, err := s.deviceForKey(ctx, reg.UDID, reg.Owner, key, ip); err != nil {
		return errorReply(err)
	}
	return replyNoUpdate, http.StatusOK
}

// deviceForKey finds a device the key may speak for: one of the key
// owner's devices, or a transferred device still holding its old key.
// owner, when given, must be the device's owner or its previous one.
// Anything else is the same authentication error, so nothing tells
// whether the UDID exists.
func (s *Service) deviceForKey(ctx context.Context, udid, owner, key, ip string) (*app.Device, error) {
	if key == "" {
		return nil, errAuth
	}
	d, err := s.DB.DeviceByUDID(ctx, udid)
	if err != nil {
		if app.ErrorCode(err) == app.ENOTFOUND {
			return nil, errAuth
		}
		return nil, err
	}
	if owner != "" && owner != d.OwnerID && owner != d.PrevOwnerID {
		return nil, errAuth
	}
	keyHash := hashKey(key)
	err = s.checkKey(ctx, d.OwnerID, key, keyHash, ip)
	if err == errAuth && d.PrevOwnerID != "" && d.TransferKeyHash == keyHash {
		err = s.checkKey(ctx, d.PrevOwnerID, key, keyHash, ip)
	}
	if err != nil {
		return nil, err
	}
	return d, nil
}
