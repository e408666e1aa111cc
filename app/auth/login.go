package auth

import (
	"context"
	"strconv"
	"time"

	"thinx/app"
	"thinx/app/audit"
	"thinx/app/store"
)

// SetupOpen reports whether no owner exists yet, so the first visitor may
// create the admin account.
//
// Owners are never deleted, so once one exists the answer is remembered
// and the login page and every visitor's redirect skip the query.
func (s *Service) SetupOpen(ctx context.Context) (bool, error) {
	if s.setupDone.Load() {
		return false, nil
	}
	n, err := s.DB.OwnerCount(ctx)
	if err == nil && n > 0 {
		s.setupDone.Store(true)
	}
	return n == 0, err
}

// Setup creates the first owner, an admin, and logs them in. It fails with
// EFORBIDDEN once any owner exists, even when two visitors race.
func (s *Service) Setup(ctx context.Context, email, name, password, ip, ua string) (string, *app.Owner, error) {
	if err := app.ValidatePassword(password); err != nil {
		return "", nil, err
	}
	o := &app.Owner{ID: NewOwnerID(), Email: email, Name: name, Admin: true, PasswordHash: HashPassword(password),
		Notify: app.NotifyPrefs{Security: true, DeviceErrors: true, Builds: true, Transfers: true}}
	var token string
	err := s.DB.Update(ctx, func(tx *store.Tx) error {
		if n, err := tx.OwnerCount(); err != nil {
			return err
		} else if n > 0 {
			return app.Errorf(app.EFORBIDDEN, "Setup is already done. Log in instead.")
		}
		if err := tx.CreateOwner(o); err != nil {
			return err
		}
		if err := audit.Record(tx, o.ID, o.ID, app.AuditSetup, ip, "First owner "+o.Email+" created at setup"); err != nil {
			return err
		}
		var err error
		token, err = s.newSession(tx, o.ID, ip, ua)
		return err
	})
	return token, o, err
}

// CreateOwner adds an owner with a password, for the CLI.
func (s *Service) CreateOwner(ctx context.Context, email, password string, admin bool) (*app.Owner, error) {
	if err := app.ValidatePassword(password); err != nil {
		return nil, err
	}
	o := &app.Owner{ID: NewOwnerID(), Email: email, Admin: admin, PasswordHash: HashPassword(password),
		Notify: app.NotifyPrefs{Security: true}}
	err := s.DB.Update(ctx, func(tx *store.Tx) error {
		if err := tx.CreateOwner(o); err != nil {
			return err
		}
		return audit.Record(tx, o.ID, "", app.AuditOwnerAdded, "", "Owner "+o.Email+" added from the command line")
	})
	return o, err
}

func (s *Service) newSession(tx *store.Tx, ownerID, ip, ua string) (string, error) {
	token := randomToken()
	if len(ua) > 300 {
		ua = ua[:300]
	}
	sess := &app.Session{ID: HashToken(token), OwnerID: ownerID, IP: ip, UserAgent: ua, ExpiresAt: tx.Now().Add(s.SessionLifetime)}
	return token, tx.CreateSession(sess)
}

// Login checks a password and opens a new session. Unknown accounts,
// disabled accounts and wrong passwords get the same error after the same
// work, so nobody learns which addresses exist.
func (s *Service) Login(ctx context.Context, email, password, ip, ua string) (string, *app.Owner, error) {
	email = app.NormalizeEmail(email)
	if blocked, _ := s.IPLimit.Blocked(ip); blocked {
		return "", nil, errTooMany()
	}
	if blocked, _ := s.AccountLimit.Blocked(email); blocked {
		return "", nil, errTooMany()
	}
	bad := app.Errorf(app.EUNAUTHORIZED, "Wrong e-mail address or password.")
	if len(password) > app.MaxPasswordLen {
		password = password[:app.MaxPasswordLen+1] // still wrong, but bounded work
	}
	o, err := s.DB.OwnerByEmail(ctx, email)
	if err != nil && app.ErrorCode(err) != app.ENOTFOUND {
		return "", nil, err
	}
	hash := dummyHash
	if o != nil && o.PasswordHash != "" {
		hash = o.PasswordHash
	}
	ok := VerifyPassword(hash, password) && o != nil && o.PasswordHash != ""
	if !ok || o.Disabled {
		s.IPLimit.Fail(ip)
		s.AccountLimit.Fail(email)
		owner, why := "", "Failed login for unknown address "+email
		if o != nil {
			owner, why = o.ID, "Failed login: wrong password"
			if ok {
				why = "Failed login: account disabled"
			}
		}
		if err := audit.Write(ctx, s.DB, owner, "", app.AuditLoginFail, ip, why); err != nil {
			s.Log.Error("audit failed login", "err", err)
		}
		return "", nil, bad
	}
	s.AccountLimit.Reset(email)
	var token string
	err = s.DB.Update(ctx, func(tx *store.Tx) error {
		if err := tx.TouchOwnerLogin(o.ID); err != nil {
			return err
		}
		if err := audit.Record(tx, o.ID, o.ID, app.AuditLoginOK, ip, "Logged in"); err != nil {
			return err
		}
		var err error
		token, err = s.newSession(tx, o.ID, ip, ua)
		return err
	})
	return token, o, err
}

// SessionOwner resolves a session cookie to its owner. Expired sessions,
// unknown tokens and disabled owners are all EUNAUTHORIZED.
func (s *Service) SessionOwner(ctx context.Context, token string) (*app.Owner, *app.Session, error) {
	unauth := app.Errorf(app.EUNAUTHORIZED, "Please log in.")
	if token == "" || len(token) > 100 {
		return nil, nil, unauth
	}
	sess, err := s.DB.Session(ctx, HashToken(token))
	if err != nil {
		return nil, nil, unauth
	}
	o, err := s.DB.Owner(ctx, sess.OwnerID)
	if err != nil || o.Disabled {
		return nil, nil, unauth
	}
	// Slide the expiry at most once a minute: a page view must not cost a write.
	if now := s.DB.Now(); now.Sub(sess.SeenAt) > time.Minute {
		_ = s.DB.Update(ctx, func(tx *store.Tx) error { return tx.TouchSession(sess.ID, now.Add(s.SessionLifetime)) })
	}
	return o, sess, nil
}

// Logout ends the session of token.
func (s *Service) Logout(ctx context.Context, ownerID, token, ip string) error {
	return s.DB.Update(ctx, func(tx *store.Tx) error {
		if err := tx.DeleteSession(HashToken(token)); err != nil {
			return err
		}
		return audit.Record(tx, ownerID, ownerID, app.AuditLogout, ip, "Logged out")
	})
}

// LogoutEverywhere ends every session of the owner, this one included.
func (s *Service) LogoutEverywhere(ctx context.Context, ownerID, ip string) error {
	return s.DB.Update(ctx, func(tx *store.Tx) error {
		n, err := tx.DeleteOwnerSessions(ownerID, "")
		if err != nil {
			return err
		}
		return audit.Record(tx, ownerID, ownerID, app.AuditSessionsEnded, ip, "Logged out everywhere ("+strconv.FormatInt(n, 10)+" sessions)")
	})
}

// ChangePassword checks the current password, stores the new one and ends
// every other session of the owner.
func (s *Service) ChangePassword(ctx context.Context, ownerID, sessionID, current, next, ip string) error {
	if blocked, _ := s.IPLimit.Blocked(ip); blocked {
		return errTooMany()
	}
	o, err := s.DB.Owner(ctx, ownerID)
	if err != nil {
		return err
	}
	if !VerifyPassword(o.PasswordHash, current) {
		s.IPLimit.Fail(ip)
		return app.Errorf(app.EINVALID, "The current password is wrong.")
	}
	if err := app.ValidatePassword(next); err != nil {
		return err
	}
	hash := HashPassword(next)
	return s.DB.Update(ctx, func(tx *store.Tx) error {
		if err := tx.SetOwnerPassword(ownerID, hash); err != nil {
			return err
		}
		n, err := tx.DeleteOwnerSessions(ownerID, sessionID)
		if err != nil {
			return err
		}
		return audit.Record(tx, ownerID, ownerID, app.AuditPassword, ip, "Password changed; "+strconv.FormatInt(n, 10)+" other sessions ended")
	})
}
