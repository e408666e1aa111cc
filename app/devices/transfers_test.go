package devices_test

import (
	"context"
	"testing"
	"time"

	"thinx/app"
)

// transferFixture is a sender with three devices and a receiver.
func transferFixture(t *testing.T) (*env, owner, owner, []string) {
	e := newEnv(t)
	from, to := e.owner("sender"), e.owner("receiver")
	var udids []string
	for i := 0; i < 3; i++ {
		udids = append(udids, e.checkin(from, from.Key, regBody(from, "", "ok")).UDID)
	}
	return e, from, to, udids
}

func TestTransferAcceptSome(t *testing.T) {
	e, from, to, udids := transferFixture(t)
	ctx := context.Background()
	_, err := e.svc.Update(ctx, from.ID, udids[0], app.DeviceUpdate{Env: &[]app.EnvVar{{Name: "WIFI", Value: "x"}}}, "")
	mustf(t, err, "env")
	m, err := e.svc.CreateMesh(ctx, from.ID, "", "Garden", "")
	mustf(t, err, "mesh")
	mustf(t, e.svc.AttachMesh(ctx, from.ID, m.ID, udids[:1], ""), "attach")

	tr, err := e.svc.RequestTransfer(ctx, from.ID, "RECEIVER@example.com", udids, true, "10.0.0.1")
	mustf(t, err, "request")
	if _, err := e.svc.RequestTransfer(ctx, from.ID, to.Email, udids[:1], false, ""); app.ErrorCode(err) != app.ECONFLICT {
		t.Fatalf("device offered twice: %v", err)
	}
	if _, err := e.svc.AcceptTransfer(ctx, from.ID, tr.ID, nil, ""); app.ErrorCode(err) != app.ENOTFOUND {
		t.Fatalf("sender accepted own transfer: %v", err)
	}
	done, err := e.svc.AcceptTransfer(ctx, to.ID, tr.ID, udids[:2], "10.0.0.2")
	mustf(t, err, "accept")
	if done.State != app.TransferPartial {
		t.Fatalf("state %s", done.State)
	}
	for i, u := range udids {
		_, errTo := e.svc.Get(ctx, to.ID, u)
		_, errFrom := e.svc.Get(ctx, from.ID, u)
		if moved := i < 2; moved != (errTo == nil) || moved == (errFrom == nil) {
			t.Fatalf("device %d: receiver %v, sender %v", i, errTo, errFrom)
		}
	}
	d, _ := e.svc.Get(ctx, to.ID, udids[0])
	if len(d.Env) != 1 || len(d.Meshes) != 0 {
		t.Fatalf("moved device keeps env, leaves meshes: %+v", d)
	}
	if owner, _, _ := e.svc.DeviceOwner(ctx, udids[0]); owner != to.ID {
		t.Fatalf("broker sees owner %s", owner)
	}
	for _, o := range []owner{from, to} {
		got, _, _ := e.db.Audit(ctx, app.AuditFilter{OwnerID: o.ID, Kind: app.AuditTransferAccepted})
		req, _, _ := e.db.Audit(ctx, app.AuditFilter{OwnerID: o.ID, Kind: app.AuditTransferRequested})
		if len(got) != 1 || len(req) != 1 {
			t.Fatalf("audit of %s: %d accepted, %d requested", o.Email, len(got), len(req))
		}
	}
	// The rest is free again.
	if _, err := e.svc.RequestTransfer(ctx, from.ID, to.Email, udids[2:], false, ""); err != nil {
		t.Fatalf("declined device could not be offered again: %v", err)
	}
}

// A moved device learns its new owner at its next check-in, which it
// still makes with the old owner's ID and key; then it uses the new ID.
func TestTransferredDeviceLearnsNewOwner(t *testing.T) {
	e, from, to, udids := transferFixture(t)
	ctx := context.Background()
	tr, err := e.svc.RequestTransfer(ctx, from.ID, to.Email, udids[:1], false, "")
	mustf(t, err, "request")
	_, err = e.svc.AcceptTransfer(ctx, to.ID, tr.ID, nil, "")
	mustf(t, err, "accept")

	r := e.checkin(from, from.Key, regBody(from, udids[0], "after move"))
	if r.Owner != to.ID || r.UDID != udids[0] {
		t.Fatalf("old-owner check-in answered %+v", r)
	}
	// Next time the device sends the new owner's ID, still with the key it
	// carries, and is accepted; another key of the old owner is not.
	newIdentity := owner{ID: to.ID}
	if r := e.checkin(newIdentity, from.Key, regBody(newIdentity, udids[0], "settled")); r.Owner != to.ID {
		t.Fatalf("new-owner check-in %+v", r)
	}
	otherKey, _, err := e.auth.CreateKey(ctx, from.ID, "second", "")
	mustf(t, err, "key")
	if _, status := e.svc.RegisterJSON(ctx, otherKey, "", regBody(newIdentity, udids[0], "x")); status != 401 {
		t.Fatalf("another key of the old owner: %d", status)
	}
	d, _ := e.svc.Get(ctx, to.ID, udids[0])
	if d.Status != "settled" || d.Checkins != 3 {
		t.Fatalf("device %+v", d)
	}
}

func TestTransferDeclineAndExpiry(t *testing.T) {
	e, from, to, udids := transferFixture(t)
	ctx := context.Background()
	tr, err := e.svc.RequestTransfer(ctx, from.ID, to.Email, udids[:1], false, "")
	mustf(t, err, "request")
	mustf(t, e.svc.DeclineTransfer(ctx, to.ID, tr.ID, ""), "decline")
	if _, err := e.svc.AcceptTransfer(ctx, to.ID, tr.ID, nil, ""); app.ErrorCode(err) != app.EINVALID {
		t.Fatalf("accepting a declined transfer: %v", err)
	}
	if _, err := e.svc.Get(ctx, from.ID, udids[0]); err != nil {
		t.Fatalf("declined device left its owner: %v", err)
	}

	e.advance(time.Second)
	tr2, err := e.svc.RequestTransfer(ctx, from.ID, to.Email, udids[1:], false, "")
	mustf(t, err, "request 2")
	e.advance(app.TransferTimeout + time.Second)
	if _, err := e.svc.AcceptTransfer(ctx, to.ID, tr2.ID, nil, ""); app.ErrorCode(err) != app.EINVALID {
		t.Fatalf("accepting an expired transfer: %v", err)
	}
	list, _ := e.svc.Transfers(ctx, to.ID)
	if len(list) != 2 || list[0].State != app.TransferExpired {
		t.Fatalf("receiver's list %+v", list)
	}
	n, err := e.svc.ExpireTransfers(ctx)
	if err != nil || n != 1 {
		t.Fatalf("expired %d, %v", n, err)
	}
	got, _, _ := e.db.Audit(ctx, app.AuditFilter{OwnerID: from.ID, Kind: app.AuditTransferExpired})
	if len(got) != 1 {
		t.Fatalf("expiry audit %v", got)
	}
	if _, err := e.svc.RequestTransfer(ctx, from.ID, to.Email, udids[1:], false, ""); err != nil {
		t.Fatalf("expired devices could not be offered again: %v", err)
	}
}

func TestTransferBadRequests(t *testing.T) {
	e, from, to, udids := transferFixture(t)
	ctx := context.Background()
	other := e.owner("other")
	theirs := e.checkin(other, other.Key, regBody(other, "", "x")).UDID
	for name, tc := range map[string]struct {
		to    string
		udids []string
		code  string
	}{
		"unknown receiver": {"nobody@example.com", udids, app.ENOTFOUND},
		"to myself":        {from.Email, udids, app.EINVALID},
		"no devices":       {to.Email, nil, app.EINVALID},
		"foreign device":   {to.Email, []string{udids[0], theirs}, app.ENOTFOUND},
	} {
		if _, err := e.svc.RequestTransfer(ctx, from.ID, tc.to, tc.udids, false, ""); app.ErrorCode(err) != tc.code {
			t.Errorf("%s: %v, want %s", name, err, tc.code)
		}
	}
	if list, _ := e.svc.Transfers(ctx, to.ID); len(list) != 0 {
		t.Fatalf("failed requests left transfers: %v", list)
	}
}
