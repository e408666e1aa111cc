package devices_test

import (
	"context"
	"testing"

	"thinx/app"
)

func TestMeshes(t *testing.T) {
	e := newEnv(t)
	o := e.owner("o")
	ctx := context.Background()
	a := e.checkin(o, o.Key, regBody(o, "", "ok")).UDID
	b := e.checkin(o, o.Key, regBody(o, "", "ok")).UDID

	m, err := e.svc.CreateMesh(ctx, o.ID, "", "Kitchen Lights!", "")
	mustf(t, err, "create")
	if m.ID != "kitchen-lights" {
		t.Fatalf("mesh id %q", m.ID)
	}
	if _, err := e.svc.CreateMesh(ctx, o.ID, "kitchen-lights", "again", ""); app.ErrorCode(err) != app.ECONFLICT {
		t.Fatalf("duplicate mesh: %v", err)
	}
	for _, bad := range []string{"shared", "Upper", a, "a/b", "#"} {
		if _, err := e.svc.CreateMesh(ctx, o.ID, bad, "x", ""); app.ErrorCode(err) != app.EINVALID {
			t.Errorf("mesh id %q: %v", bad, err)
		}
	}
	var told []string
	e.svc.OnMeshesChanged = func(owner string) { told = append(told, owner) }
	mustf(t, e.svc.AttachMesh(ctx, o.ID, m.ID, []string{a, b}, ""), "attach")
	if len(told) != 1 || told[0] != o.ID {
		t.Fatalf("the broker was not told of the new members: %v", told)
	}
	mustf(t, e.svc.AttachMesh(ctx, o.ID, m.ID, []string{a}, ""), "attach twice")
	owner, meshes, err := e.svc.DeviceOwner(ctx, a)
	if err != nil || owner != o.ID || len(meshes) != 1 || meshes[0] != m.ID {
		t.Fatalf("DeviceOwner: %s %v %v", owner, meshes, err)
	}
	if list, n, _ := e.svc.List(ctx, o.ID, app.DeviceFilter{Mesh: m.ID}); n != 2 || len(list) != 2 {
		t.Fatalf("devices in mesh: %d", n)
	}
	mustf(t, e.svc.DetachMesh(ctx, o.ID, m.ID, []string{b}, ""), "detach")
	if err := e.svc.DetachMesh(ctx, o.ID, m.ID, []string{b}, ""); app.ErrorCode(err) != app.ENOTFOUND {
		t.Fatalf("detach twice: %v", err)
	}
	mustf(t, e.svc.RenameMesh(ctx, o.ID, m.ID, "Kitchen", ""), "rename")
	list, _ := e.svc.Meshes(ctx, o.ID)
	if len(list) != 1 || list[0].Alias != "Kitchen" || list[0].Devices != 1 {
		t.Fatalf("meshes %+v", list[0])
	}
	mustf(t, e.svc.DeleteMesh(ctx, o.ID, m.ID, ""), "delete")
	if _, meshes, _ := e.svc.DeviceOwner(ctx, a); len(meshes) != 0 {
		t.Fatalf("deleted mesh still listed: %v", meshes)
	}
	if _, _, err := e.svc.DeviceOwner(ctx, "00000000-0000-4000-8000-000000000000"); app.ErrorCode(err) != app.ENOTFOUND {
		t.Fatalf("unknown device: %v", err)
	}
}

func TestBulkSummary(t *testing.T) {
	e := newEnv(t)
	o, other := e.owner("o"), e.owner("other")
	ctx := context.Background()
	var mine []string
	for i := 0; i < 3; i++ {
		mine = append(mine, e.checkin(o, o.Key, regBody(o, "", "ok")).UDID)
	}
	theirs := e.checkin(other, other.Key, regBody(other, "", "ok")).UDID
	m, _ := e.svc.CreateMesh(ctx, o.ID, "lab", "Lab", "")
	all := append([]string{theirs}, mine...)

	for _, a := range []app.BulkAction{
		{Kind: app.BulkTags, Tags: []string{"lab", "v2"}},
		{Kind: app.BulkAutoUpdate, AutoUpdate: true},
		{Kind: app.BulkMesh, MeshID: m.ID},
	} {
		a.UDIDs = all
		res, err := e.svc.Bulk(ctx, o.ID, a, "")
		mustf(t, err, "bulk %s", a.Kind)
		if res.OK != 3 || res.Failed != 1 || len(res.Items) != 4 {
			t.Fatalf("%s: %+v", a.Kind, res)
		}
		for _, it := range res.Items {
			if (it.UDID == theirs) == it.OK {
				t.Fatalf("%s: item %+v", a.Kind, it)
			}
		}
	}
	d, _ := e.svc.Get(ctx, o.ID, mine[1])
	if !d.AutoUpdate || len(d.Tags) != 2 || len(d.Meshes) != 1 {
		t.Fatalf("after bulk %+v", d)
	}
	if dt, _ := e.svc.Get(ctx, other.ID, theirs); dt.AutoUpdate || len(dt.Tags) != 0 {
		t.Fatalf("other owner's device changed %+v", dt)
	}
	sub := e.bus.Subscribe(o.ID, 16)
	defer sub.Close()
	res, err := e.svc.Bulk(ctx, o.ID, app.BulkAction{Kind: app.BulkDelete, UDIDs: all}, "")
	if err != nil || res.OK != 3 || res.Failed != 1 {
		t.Fatalf("bulk delete %+v %v", res, err)
	}
	if _, n, _ := e.svc.List(ctx, o.ID, app.DeviceFilter{}); n != 0 {
		t.Fatalf("%d devices left", n)
	}
	if ev := <-sub.C; ev.Kind != "revoked" {
		t.Fatalf("event %+v", ev)
	}
	if _, err := e.svc.Get(ctx, other.ID, theirs); err != nil {
		t.Fatalf("bulk delete reached another owner: %v", err)
	}
	if _, err := e.svc.Bulk(ctx, o.ID, app.BulkAction{Kind: "explode", UDIDs: all}, ""); app.ErrorCode(err) != app.EINVALID {
		t.Fatalf("unknown action: %v", err)
	}
}

func TestStatusAndOnlineEvents(t *testing.T) {
	e := newEnv(t)
	o := e.owner("o")
	ctx := context.Background()
	udid := e.checkin(o, o.Key, regBody(o, "", "ok")).UDID
	sub := e.bus.Subscribe(o.ID, 16)
	defer sub.Close()
	mustf(t, e.svc.Status(ctx, o.ID, udid, "overheating #e"), "status")
	mustf(t, e.svc.SetOnline(ctx, o.ID, udid, true), "online")
	e.checkin(o, o.Key, regBody(o, udid, "cool"))
	var kinds []string
	for i := 0; i < 3; i++ {
		ev := <-sub.C
		d := ev.Data.(*app.Device)
		if ev.Subject != udid || d.UDID != udid {
			t.Fatalf("event %+v", ev)
		}
		kinds = append(kinds, ev.Kind)
		if ev.Kind == "status" && (d.Level != app.LevelError || d.Status != "overheating #e") {
			t.Fatalf("status event device %+v", d)
		}
	}
	if kinds[0] != "status" || kinds[1] != "online" || kinds[2] != "checkin" {
		t.Fatalf("events %v", kinds)
	}
}
