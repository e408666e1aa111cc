package devices

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"

	"thinx/app"
	"thinx/app/audit"
)

// RegisterJSON handles one registration or check-in: the body of
// POST /device/register, or an MQTT {"registration":{…}} status message.
// key is the API key the device presented, ip its address. It returns the
// reply body and the HTTP status; the reply is sent only after the check-in
// is committed.
func (s *Service) RegisterJSON(ctx context.Context, key, ip string, body []byte) (reply []byte, status int) {
	reg, err := parseRegistration(body)
	if err != nil {
		return errorReply(err)
	}
	reply, err = s.register(ctx, key, ip, reg)
	if err != nil {
		return errorReply(err)
	}
	return reply, http.StatusOK
}

// checkin is one check-in on its way to the database.
type checkin struct {
	reg        *registration
	udid       string
	fresh      bool   // the UDID was issued just now
	keyOwner   string // the owner the key was verified for
	keyHash    string
	ip         string
	tfOwner    string // the owner whose transformers produced statusText
	statusText string
	statusErr  string
}

// refusal is a check-in the registry turns away after reading the device:
// another owner's UDID or a revoked one. owner is whose log records it.
type refusal struct {
	owner   string
	device  *app.Device
	revoked bool
}

func (r *refusal) Error() string { return "check-in refused" }

// retryError asks for the check-in to be prepared again: the device
// belongs to another owner than the one whose transformers ran (owner
// says which), or a freshly issued UDID collided.
type retryError struct{ owner string }

func (e *retryError) Error() string { return "device changed, retry" }

var errAuth = app.Errorf(app.EUNAUTHORIZED, RespAuth)

func hashKey(key string) string {
	h := sha256.Sum256([]byte(key))
	return hex.EncodeToString(h[:])
}

func (s *Service) register(ctx context.Context, key, ip string, reg *registration) ([]byte, error) {
	keyHash := hashKey(key)
	keyOwner, err := s.verifyKey(ctx, key, keyHash, ip, reg)
	if err != nil {
		return nil, err
	}
	ck := &checkin{reg: reg, udid: reg.UDID, keyOwner: keyOwner, keyHash: keyHash, ip: ip, tfOwner: reg.Owner}
	var d *app.Device
	var replyOwner string
	for attempt := 0; ; attempt++ {
		if ck.udid == "" || ck.fresh {
			ck.udid, ck.fresh = newUDID(), true
		}
		s.transformStatus(ctx, ck)
		d, replyOwner, err = s.commitCheckin(ctx, ck)
		var retry *retryError
		if !errors.As(err, &retry) || attempt == 2 {
			break
		}
		if retry.owner != "" {
			ck.tfOwner = retry.owner
		}
	}
	if err != nil {
		return nil, s.refused(ctx, ck, err)
	}
	s.publish("checkin", d)
	return registrationReply(d, replyOwner, s.offer(ctx, d), d.LastCheckin.Unix()), nil
}

// offer asks the update decision whether firmware waits for the device. A
// failing decision or an offer that would not fit the reply means none.
func (s *Service) offer(ctx context.Context, d *app.Device) *UpdateOffer {
	if s.Updates == nil {
		return nil
	}
	offer, err := s.Updates.Offer(ctx, d)
	switch {
	case err != nil:
		s.Log.Error("update decision", "udid", d.UDID, "err", err)
		return nil
	case offer != nil && (!app.IsHex64(offer.OTT) || len(offer.Version) > MaxOfferVersion):
		s.Log.Error("update offer does not fit the reply", "udid", d.UDID, "version_len", len(offer.Version))
		return nil
	}
	return offer
}

// verifyKey checks the key against the claimed owner. A device handed to a
// new owner still carries its old owner's key until it is rebuilt; that
// exact key keeps working for it (and only for it).
func (s *Service) verifyKey(ctx context.Context, key, keyHash, ip string, reg *registration) (string, error) {
	err := s.checkKey(ctx, reg.Owner, key, keyHash, ip)
	if err == nil {
		return reg.Owner, nil
	}
	if err != errAuth {
		return "", err
	}
	if reg.UDID != "" {
		d, derr := s.DB.DeviceByUDID(ctx, reg.UDID)
		if derr == nil && d.OwnerID == reg.Owner && d.PrevOwnerID != "" && d.TransferKeyHash == keyHash {
			if s.checkKey(ctx, d.PrevOwnerID, key, keyHash, ip) == nil {
				return d.PrevOwnerID, nil
			}
		}
	}
	if _, oerr := s.DB.Owner(ctx, reg.Owner); oerr == nil && key != "" {
		s.audit(ctx, reg.Owner, app.AuditDeviceKeyInvalid, ip, "A device check-in used an invalid API key.")
	}
	return "", errAuth
}

// transformStatus runs the transformers. A failure keeps the raw status
// and is recorded on the device; it never fails the check-in.
func (s *Service) transformStatus(ctx context.Context, ck *checkin) {
	ck.statusText, ck.statusErr = "", ""
	if ck.reg.Status == nil {
		return
	}
	ck.statusText, ck.statusErr = s.transform(ctx, ck.tfOwner, ck.udid, *ck.reg.Status)
}

func (s *Service) transform(ctx context.Context, ownerID, udid, status string) (text, failure string) {
	if s.Transformer == nil || status == "" {
		return status, ""
	}
	out, err := s.Transformer.Transform(ctx, ownerID, udid, status)
	if err != nil {
		s.Log.Warn("status transformer failed", "owner", ownerID, "udid", udid, "err", err)
		// The owner's own script failed: its message is theirs to read.
		return status, err.Error()
	}
	return out, ""
}

// refused turns a refusal into the protocol's authentication error and
// leaves a note in the log of the owner it concerns.
func (s *Service) refused(ctx context.Context, ck *checkin, err error) error {
	var r *refusal
	if !errors.As(err, &r) {
		return err
	}
	if r.revoked {
		s.audit(ctx, r.owner, app.AuditDeviceRevoked, ck.ip, "Revoked device "+ck.udid+" tried to check in.")
	} else {
		s.audit(ctx, r.owner, app.AuditDeviceForeign, ck.ip,
			"Device "+r.device.Alias+" ("+r.device.UDID+") was presented with another owner's ID and refused.")
	}
	return errAuth
}

// audit writes a standalone audit entry, logging a failure.
func (s *Service) audit(ctx context.Context, ownerID, kind, ip, msg string) {
	if err := audit.Write(context.WithoutCancel(ctx), s.DB, ownerID, "", kind, ip, msg); err != nil {
		s.Log.Error("audit", "kind", kind, "err", err)
	}
}
