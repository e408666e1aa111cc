package devices_test

import (
	"context"
	"testing"

	"thinx/app"
)

// Every owner-scoped method, called by another owner with the victim's
// device, mesh, transfer and question IDs, answers "not found" and leaves
// the victim's data as it was.
func TestOtherOwnersIDsAreNotFound(t *testing.T) {
	e := newEnv(t)
	victim, mallory := e.owner("victim"), e.owner("mallory")
	ctx := context.Background()
	pub := &recorder{online: map[string]bool{}}
	e.svc.Publisher = pub
	udid := e.checkin(victim, victim.Key, regBody(victim, "", "secret status", `"alias":"vault-door"`)).UDID
	pub.set(udid, true)
	m, err := e.svc.CreateMesh(ctx, victim.ID, "vault", "Vault", "")
	mustf(t, err, "mesh")
	mustf(t, e.svc.AttachMesh(ctx, victim.ID, m.ID, []string{udid}, ""), "attach")
	third := e.owner("third")
	tr, err := e.svc.RequestTransfer(ctx, victim.ID, third.Email, []string{udid}, false, "")
	mustf(t, err, "transfer")
	mustf(t, e.svc.Notification(ctx, victim.ID, udid, app.Notification{Title: "q", ResponseType: "bool"}), "ask")
	qs, _ := e.svc.Notifications(ctx, victim.ID, true)
	before, _ := e.svc.Get(ctx, victim.ID, udid)

	notFound := map[string]error{}
	try := func(name string, err error) { notFound[name] = err }
	_, err = e.svc.Get(ctx, mallory.ID, udid)
	try("Get", err)
	_, err = e.svc.Checkins(ctx, mallory.ID, udid, 10)
	try("Checkins", err)
	_, err = e.svc.Update(ctx, mallory.ID, udid, app.DeviceUpdate{Alias: ptr("mine")}, "")
	try("Update", err)
	try("Delete", e.svc.Delete(ctx, mallory.ID, udid, ""))
	try("Status", e.svc.Status(ctx, mallory.ID, udid, "pwned"))
	try("SetOnline", e.svc.SetOnline(ctx, mallory.ID, udid, false))
	try("Notification", e.svc.Notification(ctx, mallory.ID, udid, app.Notification{Title: "x"}))
	try("Answer", e.svc.Answer(ctx, mallory.ID, qs[0].ID, "yes"))
	_, err = e.svc.ConfigPushes(ctx, mallory.ID, udid)
	try("ConfigPushes", err)
	try("RenameMesh", e.svc.RenameMesh(ctx, mallory.ID, m.ID, "x", ""))
	try("DeleteMesh", e.svc.DeleteMesh(ctx, mallory.ID, m.ID, ""))
	try("DetachMesh", e.svc.DetachMesh(ctx, mallory.ID, m.ID, []string{udid}, ""))
	_, err = e.svc.AcceptTransfer(ctx, mallory.ID, tr.ID, nil, "")
	try("AcceptTransfer", err)
	try("DeclineTransfer", e.svc.DeclineTransfer(ctx, mallory.ID, tr.ID, ""))
	try("CancelTransfer", e.svc.CancelTransfer(ctx, mallory.ID, tr.ID, ""))
	_, err = e.svc.RequestTransfer(ctx, mallory.ID, third.Email, []string{udid}, false, "")
	try("RequestTransfer", err)
	// Mallory's own mesh, the victim's device.
	mm, _ := e.svc.CreateMesh(ctx, mallory.ID, "mine", "Mine", "")
	try("AttachMesh", e.svc.AttachMesh(ctx, mallory.ID, mm.ID, []string{udid}, ""))
	for name, err := range notFound {
		if app.ErrorCode(err) != app.ENOTFOUND {
			t.Errorf("%s as another owner: %v, want not found", name, err)
		}
	}

	// Calls that report per device or return lists say nothing either.
	for _, a := range []app.BulkAction{
		{Kind: app.BulkDelete}, {Kind: app.BulkTags, Tags: []string{"x"}}, {Kind: app.BulkAutoUpdate, AutoUpdate: true},
		{Kind: app.BulkMesh, MeshID: mm.ID}, {Kind: app.BulkConfig, Config: app.ConfigRequest{Values: map[string]string{"A": "b"}}},
	} {
		a.UDIDs = []string{udid}
		res, err := e.svc.Bulk(ctx, mallory.ID, a, "")
		if err != nil || res.OK != 0 || res.Items[0].Message != "Device not found." {
			t.Errorf("bulk %s: %+v %v", a.Kind, res, err)
		}
	}
	if list, n, _ := e.svc.List(ctx, mallory.ID, app.DeviceFilter{Search: "vault"}); n != 0 || len(list) != 0 {
		t.Error("search found the victim's device")
	}
	if ms, _ := e.svc.Meshes(ctx, mallory.ID); len(ms) != 1 {
		t.Errorf("meshes %v", ms)
	}
	if ts, _ := e.svc.Transfers(ctx, mallory.ID); len(ts) != 0 {
		t.Errorf("transfers %v", ts)
	}
	if qs, _ := e.svc.Notifications(ctx, mallory.ID, false); len(qs) != 0 {
		t.Errorf("questions %v", qs)
	}
	if d, _ := e.svc.Dashboard(ctx, mallory.ID); d.Devices != 0 || len(d.Recent) != 0 || d.Notifications != 0 {
		t.Errorf("dashboard %+v", d)
	}
	if got := pub.take(); len(got) != 0 {
		t.Errorf("published for another owner: %v", got)
	}
	after, err := e.svc.Get(ctx, victim.ID, udid)
	if err != nil || after.Alias != before.Alias || after.Status != before.Status || !after.UpdatedAt.Equal(before.UpdatedAt) ||
		len(after.Meshes) != 1 || len(after.Tags) != 0 || after.AutoUpdate {
		t.Fatalf("victim's device changed: %+v → %+v (%v)", before, after, err)
	}
}
