package devices

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"thinx/app"
	"thinx/app/audit"
	"thinx/app/store"
)

// RequestTransfer offers devices to the owner with the e-mail address
// toEmail. The receiver has 24 hours to accept all or some of them, or to
// decline. withEnv sends the device environments along.
func (s *Service) RequestTransfer(ctx context.Context, ownerID, toEmail string, udids []string, withEnv bool, ip string) (*app.Transfer, error) {
	udids = slices.Compact(slices.Sorted(slices.Values(udids)))
	if len(udids) == 0 || len(udids) > app.MaxBulkDevices {
		return nil, app.Errorf(app.EINVALID, "Choose between 1 and %d devices.", app.MaxBulkDevices)
	}
	t := &app.Transfer{ID: randomHex(16), FromOwnerID: ownerID, WithEnv: withEnv, State: app.TransferPending}
	err := s.DB.Update(ctx, func(tx *store.Tx) error {
		to, err := tx.OwnerByEmail(toEmail)
		if err != nil || to.Disabled {
			return app.Errorf(app.ENOTFOUND, "No owner with the e-mail address %s can receive devices.", app.NormalizeEmail(toEmail))
		}
		if to.ID == ownerID {
			return app.Errorf(app.EINVALID, "The devices are already yours.")
		}
		from, err := tx.Owner(ownerID)
		if err != nil {
			return err
		}
		t.ToOwnerID, t.ToEmail, t.FromEmail = to.ID, to.Email, from.Email
		t.ExpiresAt = tx.Now().Add(app.TransferTimeout)
		for _, u := range udids {
			d, err := tx.Device(ownerID, u)
			if err != nil {
				return err
			}
			t.Devices = append(t.Devices, app.TransferDevice{UDID: u, Alias: d.Alias, State: app.TransferPending})
		}
		if err := tx.CreateTransfer(t); err != nil {
			return err
		}
		n := pluralDevices(len(udids))
		if err := audit.Record(tx, ownerID, ownerID, app.AuditTransferRequested, ip, "Transfer of "+n+" to "+to.Email+" requested."); err != nil {
			return err
		}
		return audit.Record(tx, to.ID, ownerID, app.AuditTransferRequested, ip, "Transfer of "+n+" from "+from.Email+" offered.")
	})
	if err != nil {
		return nil, err
	}
	s.mailTransfer(ctx, t)
	return t, nil
}

func (s *Service) mailTransfer(ctx context.Context, t *app.Transfer) {
	if s.Mailer == nil {
		return
	}
	var names []string
	for _, d := range t.Devices {
		names = append(names, d.Alias)
	}
	body := fmt.Sprintf("%s wants to hand %s to you: %s.\n\nOpen the console to accept or decline before %s.\n",
		t.FromEmail, pluralDevices(len(t.Devices)), strings.Join(names, ", "), t.ExpiresAt.Format(time.RFC1123))
	if err := s.Mailer.Send(ctx, t.ToEmail, "Devices offered to you", body); err != nil {
		s.Log.Warn("mail transfer offer", "transfer", t.ID, "err", err)
	}
}

// Transfers lists the transfers an owner sent or received, newest first.
// Pending ones past their time show as expired even before the sweep.
func (s *Service) Transfers(ctx context.Context, ownerID string) ([]*app.Transfer, error) {
	ts, err := s.DB.Transfers(ctx, ownerID)
	now := s.now()
	for _, t := range ts {
		if t.State == app.TransferPending && !t.Open(now) {
			t.State = app.TransferExpired
		}
	}
	return ts, err
}

// openTransfer reads a transfer the owner may answer: received (or sent,
// for cancelling), pending and not expired.
func openTransfer(tx *store.Tx, ownerID, id string, receiver bool) (*app.Transfer, error) {
	t, err := tx.Transfer(id)
	if err != nil {
		return nil, err
	}
	if receiver && t.ToOwnerID != ownerID || !receiver && t.FromOwnerID != ownerID {
		return nil, app.Errorf(app.ENOTFOUND, "Transfer not found.")
	}
	if !t.Open(tx.Now()) {
		return nil, app.Errorf(app.EINVALID, "This transfer is no longer open (%s).", stateWord(t, tx.Now()))
	}
	return t, nil
}

func stateWord(t *app.Transfer, now time.Time) string {
	if t.State == app.TransferPending && !now.Before(t.ExpiresAt) {
		return app.TransferExpired
	}
	return t.State
}

// AcceptTransfer takes the devices of a received transfer; udids empty
// means all of them. The devices not chosen go back to the sender.
func (s *Service) AcceptTransfer(ctx context.Context, ownerID, id string, udids []string, ip string) (*app.Transfer, error) {
	var t *app.Transfer
	var moved []string
	err := s.DB.Update(ctx, func(tx *store.Tx) error {
		var err error
		if t, err = openTransfer(tx, ownerID, id, true); err != nil {
			return err
		}
		want, err := chosen(t, udids)
		if err != nil {
			return err
		}
		if moved, err = moveDevices(tx, t, want); err != nil {
			return err
		}
		state := app.TransferAccepted
		if len(moved) < len(t.Devices) {
			state = app.TransferPartial
		}
		if err := tx.CloseTransfer(t.ID, state); err != nil {
			return err
		}
		t.State, t.ClosedAt = state, tx.Now()
		msg := fmt.Sprintf("Transfer %s: %s of %d accepted by %s.", t.ID[:8], pluralDevices(len(moved)), len(t.Devices), t.ToEmail)
		return auditBoth(tx, t, ownerID, app.AuditTransferAccepted, ip, msg)
	})
	if err != nil {
		return nil, err
	}
	for _, u := range moved {
		s.revoked(t.FromOwnerID, u)
		s.publish("revoked", &app.Device{UDID: u, OwnerID: t.FromOwnerID})
		if d, err := s.DB.Device(ctx, t.ToOwnerID, u); err == nil {
			s.publish("changed", d)
		}
	}
	return t, nil
}

// chosen checks the receiver's choice against the transfer.
func chosen(t *app.Transfer, udids []string) (map[string]bool, error) {
	want := map[string]bool{}
	for _, d := range t.Devices {
		if len(udids) == 0 && d.State == app.TransferPending {
			want[d.UDID] = true
		}
	}
	for _, u := range udids {
		i := slices.IndexFunc(t.Devices, func(d app.TransferDevice) bool { return d.UDID == u })
		if i < 0 || t.Devices[i].State != app.TransferPending {
			return nil, app.Errorf(app.EINVALID, "Device %s is not part of this transfer.", u)
		}
		want[u] = true
	}
	return want, nil
}

// moveDevices hands the chosen devices over; one the sender deleted in the
// meantime is skipped.
func moveDevices(tx *store.Tx, t *app.Transfer, want map[string]bool) ([]string, error) {
	var moved []string
	for i, d := range t.Devices {
		if !want[d.UDID] {
			continue
		}
		err := tx.MoveDevice(d.UDID, t.FromOwnerID, t.ToOwnerID, t.WithEnv)
		if app.ErrorCode(err) == app.ENOTFOUND {
			continue
		} else if err != nil {
			return nil, err
		}
		if err := tx.SetTransferDeviceState(t.ID, d.UDID, app.TransferAccepted); err != nil {
			return nil, err
		}
		t.Devices[i].State = app.TransferAccepted
		moved = append(moved, d.UDID)
	}
	return moved, nil
}

// DeclineTransfer refuses a received transfer; the devices stay with the
// sender.
func (s *Service) DeclineTransfer(ctx context.Context, ownerID, id, ip string) error {
	return s.closeTransfer(ctx, ownerID, id, ip, true, app.TransferDeclined, app.AuditTransferDeclined)
}

// CancelTransfer withdraws a transfer the owner sent.
func (s *Service) CancelTransfer(ctx context.Context, ownerID, id, ip string) error {
	return s.closeTransfer(ctx, ownerID, id, ip, false, app.TransferCancelled, app.AuditTransferCancelled)
}

func (s *Service) closeTransfer(ctx context.Context, ownerID, id, ip string, receiver bool, state, kind string) error {
	return s.DB.Update(ctx, func(tx *store.Tx) error {
		t, err := openTransfer(tx, ownerID, id, receiver)
		if err != nil {
			return err
		}
		if err := tx.CloseTransfer(t.ID, state); err != nil {
			return err
		}
		msg := fmt.Sprintf("Transfer %s of %s from %s to %s %s.", t.ID[:8], pluralDevices(len(t.Devices)), t.FromEmail, t.ToEmail, state)
		return auditBoth(tx, t, ownerID, kind, ip, msg)
	})
}

// ExpireTransfers closes pending transfers whose time ran out and returns
// how many it closed. RunMaintenance calls it.
func (s *Service) ExpireTransfers(ctx context.Context) (int, error) {
	n := 0
	err := s.DB.Update(ctx, func(tx *store.Tx) error {
		ids, err := tx.ExpiredTransfers()
		if err != nil {
			return err
		}
		for _, id := range ids {
			t, err := tx.Transfer(id)
			if err != nil {
				return err
			}
			if err := tx.CloseTransfer(id, app.TransferExpired); err != nil {
				return err
			}
			msg := fmt.Sprintf("Transfer %s of %s from %s to %s expired.", id[:8], pluralDevices(len(t.Devices)), t.FromEmail, t.ToEmail)
			if err := auditBoth(tx, t, "", app.AuditTransferExpired, "", msg); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}

// auditBoth records a transfer step in the logs of both owners.
func auditBoth(tx *store.Tx, t *app.Transfer, actor, kind, ip, msg string) error {
	if err := audit.Record(tx, t.FromOwnerID, actor, kind, ip, msg); err != nil {
		return err
	}
	return audit.Record(tx, t.ToOwnerID, actor, kind, ip, msg)
}
