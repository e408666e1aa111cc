package auth

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"strconv"

	"thinx/app"
	"thinx/app/audit"
	"thinx/app/store"
)

// MaxAvatarBytes is the largest avatar upload accepted.
const MaxAvatarBytes = 256 << 10

// Invite adds an owner without a password and returns a one-time link token
// (valid 7 days) with which they set one. When e-mail is configured the
// link is also sent; the caller shows it to the admin either way only when
// it was not sent.
func (s *Service) Invite(ctx context.Context, actor *app.Owner, email, name string, admin bool, ip, baseURL string) (*app.Owner, string, bool, error) {
	if !actor.Admin {
		return nil, "", false, app.Errorf(app.EFORBIDDEN, "Only an admin can add owners.")
	}
	o := &app.Owner{ID: NewOwnerID(), Email: email, Name: name, Admin: admin, Notify: app.NotifyPrefs{Security: true}}
	token := randomToken()
	err := s.DB.Update(ctx, func(tx *store.Tx) error {
		if err := tx.CreateOwner(o); err != nil {
			return err
		}
		if err := tx.CreateToken(HashToken(token), o.ID, app.TokenInvite, tx.Now().Add(InviteLifetime)); err != nil {
			return err
		}
		msg := fmt.Sprintf("Owner %s invited by %s", o.Email, actor.Email)
		if err := audit.Record(tx, o.ID, actor.ID, app.AuditOwnerAdded, ip, msg); err != nil {
			return err
		}
		return audit.Record(tx, actor.ID, actor.ID, app.AuditOwnerAdded, ip, msg)
	})
	if err != nil {
		return nil, "", false, err
	}
	sent := s.mail(ctx, o.Email, "You are invited to thinx",
		"An account was created for you. Set your password within 7 days:\n\n"+baseURL+"/invite/"+token+"\n")
	return o, token, sent, nil
}

// mail sends when a Mailer is configured and reports whether it did.
func (s *Service) mail(ctx context.Context, to, subject, body string) bool {
	if s.Mailer == nil {
		return false
	}
	if err := s.Mailer.Send(ctx, to, subject, body); err != nil {
		s.Log.Error("send e-mail", "to", to, "err", err)
		return false
	}
	return true
}

// LinkValid reports whether an invitation or reset link can still be used.
func (s *Service) LinkValid(ctx context.Context, token, kind string) bool {
	ok := false
	_ = s.DB.Update(ctx, func(tx *store.Tx) error { ok = tx.TokenValid(HashToken(token), kind); return nil })
	return ok
}

// UseLink sets a password through an invitation or reset link, ends the
// owner's sessions and opens a new one.
func (s *Service) UseLink(ctx context.Context, token, kind, password, ip, ua string) (string, *app.Owner, error) {
	if err := app.ValidatePassword(password); err != nil {
		return "", nil, err
	}
	hash := HashPassword(password)
	var session string
	var o *app.Owner
	err := s.DB.Update(ctx, func(tx *store.Tx) error {
		ownerID, err := tx.UseToken(HashToken(token), kind)
		if err != nil {
			return err
		}
		if o, err = tx.Owner(ownerID); err != nil {
			return err
		}
		if o.Disabled {
			return app.Errorf(app.EINVALID, "This link is invalid or has expired. Ask for a new one.")
		}
		if err := tx.SetOwnerPassword(ownerID, hash); err != nil {
			return err
		}
		if _, err := tx.DeleteOwnerSessions(ownerID, ""); err != nil {
			return err
		}
		k, msg := app.AuditPasswordReset, "Password set through a reset link"
		if kind == app.TokenInvite {
			k, msg = app.AuditInviteAccepted, "Invitation accepted; password set"
		}
		if err := audit.Record(tx, ownerID, ownerID, k, ip, msg); err != nil {
			return err
		}
		session, err = s.newSession(tx, ownerID, ip, ua)
		return err
	})
	return session, o, err
}

// ResetLink makes a password reset link for an owner, for an admin to hand
// over. It is also sent by e-mail when that is configured.
func (s *Service) ResetLink(ctx context.Context, actor *app.Owner, ownerID, ip, baseURL string) (string, bool, error) {
	if !actor.Admin {
		return "", false, app.Errorf(app.EFORBIDDEN, "Only an admin can reset passwords.")
	}
	o, err := s.DB.Owner(ctx, ownerID)
	if err != nil {
		return "", false, err
	}
	token := randomToken()
	err = s.DB.Update(ctx, func(tx *store.Tx) error {
		if err := tx.CreateToken(HashToken(token), o.ID, app.TokenReset, tx.Now().Add(InviteLifetime)); err != nil {
			return err
		}
		return audit.Record(tx, o.ID, actor.ID, app.AuditPasswordReset, ip, "Reset link made by "+actor.Email)
	})
	if err != nil {
		return "", false, err
	}
	sent := s.mail(ctx, o.Email, "Reset your thinx password", "Set a new password here (valid 7 days):\n\n"+baseURL+"/reset/"+token+"\n")
	return token, sent, nil
}

// RequestReset e-mails a reset link when the address belongs to an active
// owner and e-mail is configured. It answers the same way in every case, so
// it cannot be used to find out who has an account.
func (s *Service) RequestReset(ctx context.Context, email, ip, baseURL string) error {
	if blocked, _ := s.IPLimit.Blocked(ip); blocked {
		return errTooMany()
	}
	s.IPLimit.Fail(ip) // every request counts: this endpoint sends mail
	if s.Mailer == nil {
		return app.Errorf(app.ENOTIMPLEMENTED, "E-mail is not configured on this server. Ask your admin for a reset link.")
	}
	o, err := s.DB.OwnerByEmail(ctx, email)
	if err != nil || o.Disabled {
		return nil
	}
	// The token, its audit entry and the mail are made in the background:
	// the answer then costs the same for an address with an account as for
	// one without, so its timing tells nobody which addresses exist.
	go s.sendReset(context.WithoutCancel(ctx), o, ip, baseURL)
	return nil
}

// sendReset stores a one-hour reset token for o and mails the link.
func (s *Service) sendReset(ctx context.Context, o *app.Owner, ip, baseURL string) {
	token := randomToken()
	err := s.DB.Update(ctx, func(tx *store.Tx) error {
		if err := tx.CreateToken(HashToken(token), o.ID, app.TokenReset, tx.Now().Add(ResetLifetime)); err != nil {
			return err
		}
		return audit.Record(tx, o.ID, "", app.AuditPasswordReset, ip, "Reset link requested by e-mail")
	})
	if err != nil {
		s.Log.Error("store reset link", "owner", o.ID, "err", err)
		return
	}
	s.mail(ctx, o.Email, "Reset your thinx password",
		"Someone asked to reset your password. If it was you, follow this link within an hour:\n\n"+baseURL+"/reset/"+token+"\n")
}

// SetDisabled disables or enables an owner; disabling ends their sessions.
func (s *Service) SetDisabled(ctx context.Context, actor *app.Owner, ownerID string, disabled bool, ip string) error {
	if !actor.Admin {
		return app.Errorf(app.EFORBIDDEN, "Only an admin can disable owners.")
	}
	if ownerID == actor.ID {
		return app.Errorf(app.EINVALID, "You cannot disable your own account.")
	}
	defer func() {
		if s.OnOwnerChanged != nil {
			s.OnOwnerChanged(ownerID)
		}
	}()
	return s.DB.Update(ctx, func(tx *store.Tx) error {
		o, err := tx.Owner(ownerID)
		if err != nil {
			return err
		}
		if err := tx.SetOwnerDisabled(ownerID, disabled); err != nil {
			return err
		}
		kind, verb := app.AuditOwnerEnabled, "enabled"
		if disabled {
			kind, verb = app.AuditOwnerDisabled, "disabled"
			if _, err := tx.DeleteOwnerSessions(ownerID, ""); err != nil {
				return err
			}
		}
		msg := "Owner " + o.Email + " " + verb + " by " + actor.Email
		if err := audit.Record(tx, ownerID, actor.ID, kind, ip, msg); err != nil {
			return err
		}
		return audit.Record(tx, actor.ID, actor.ID, kind, ip, msg)
	})
}

// UpdateProfile stores name, e-mail and notification preferences.
func (s *Service) UpdateProfile(ctx context.Context, ownerID, name, email string, notify app.NotifyPrefs, ip string) error {
	return s.DB.Update(ctx, func(tx *store.Tx) error {
		o, err := tx.Owner(ownerID)
		if err != nil {
			return err
		}
		before := o.Email
		o.Name, o.Email, o.Notify = name, email, notify
		if err := tx.UpdateOwnerProfile(o); err != nil {
			return err
		}
		msg := "Profile changed"
		if before != o.Email {
			msg += "; e-mail " + before + " → " + o.Email
		}
		return audit.Record(tx, ownerID, ownerID, app.AuditProfile, ip, msg)
	})
}

// SetAvatar checks an uploaded PNG or JPEG, re-encodes it (dropping
// metadata and anything hidden after the image) and stores it.
func (s *Service) SetAvatar(ctx context.Context, ownerID string, data []byte, ip string) error {
	if len(data) > MaxAvatarBytes {
		return app.Errorf(app.ETOOLARGE, "The image is larger than 256 KB.")
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil || (format != "png" && format != "jpeg") {
		return app.Errorf(app.EINVALID, "The avatar must be a PNG or JPEG image.")
	}
	if cfg.Width > 2048 || cfg.Height > 2048 || cfg.Width*cfg.Height > 2048*2048 {
		return app.Errorf(app.EINVALID, "The image is larger than 2048×2048 pixels.")
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return app.Errorf(app.EINVALID, "The image could not be read: it may be damaged.")
	}
	var buf bytes.Buffer
	ct := "image/png"
	if format == "jpeg" {
		ct = "image/jpeg"
		err = jpeg.Encode(&buf, img, &jpeg.Options{Quality: 85})
	} else {
		err = png.Encode(&buf, img)
	}
	if err != nil {
		return fmt.Errorf("encode avatar: %w", err)
	}
	return s.DB.Update(ctx, func(tx *store.Tx) error {
		if err := tx.SetOwnerAvatar(ownerID, buf.Bytes(), ct); err != nil {
			return err
		}
		return audit.Record(tx, ownerID, ownerID, app.AuditProfile, ip, "Avatar changed ("+strconv.Itoa(cfg.Width)+"×"+strconv.Itoa(cfg.Height)+" "+format+")")
	})
}
