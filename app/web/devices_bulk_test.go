package web_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
)

func TestBulkActions(t *testing.T) {
	t.Parallel()
	f := newFleet(t)
	ann := f.clients["ann"]
	both := []string{f.green, f.cellar}
	mesh, err := f.dev.CreateMesh(context.Background(), f.ann.ID, "", "Garden", "")
	if err != nil {
		t.Fatal(err)
	}
	run(t, f.env, f.clients, []scenario{
		{name: "tags", as: "ann", method: "POST", path: "/devices/bulk", form: url.Values{"udid": both, "action": {"tags"}, "tags": {"cellar, wet"}},
			status: 200, want: []string{"Set tags", `<div class="stat">2<small>done</small>`, `<div class="stat">0<small>failed</small>`, ">Greenhouse</a>", ">Cellar pump</a>", f.green[:8]}},
		{name: "auto update on", as: "ann", method: "POST", path: "/devices/bulk", form: url.Values{"udid": both, "action": {"auto_update_on"}},
			status: 200, want: []string{"Turn automatic updates on", `<div class="stat">2<small>done</small>`}},
		{name: "mesh", as: "ann", method: "POST", path: "/devices/bulk", form: url.Values{"udid": both, "action": {"mesh"}, "mesh": {mesh.ID}},
			status: 200, want: []string{"Add to mesh", `<div class="stat">2<small>done</small>`}},
		{name: "config", as: "ann", method: "POST", path: "/devices/bulk", form: url.Values{"udid": both, "action": {"config"}, "values": {"MODE=eco"}},
			status: 200, want: []string{"Push configuration", "queued until the device connects"}},
		{name: "bob's device fails alone", as: "ann", method: "POST", path: "/devices/bulk", form: url.Values{"udid": {f.green, f.bobDev}, "action": {"tags"}, "tags": {"mine"}},
			status: 200, want: []string{`<div class="stat">1<small>done</small>`, `<div class="stat">1<small>failed</small>`, "Device not found."}, forbid: []string{"Bobs hidden sensor"}},
		{name: "a malformed UDID fails alone", as: "ann", method: "POST", path: "/devices/bulk", form: url.Values{"udid": {f.garage, "nope"}, "action": {"auto_update_off"}},
			status: 200, want: []string{`<div class="stat">1<small>failed</small>`}},
		{name: "revoke asks first", as: "ann", method: "POST", path: "/devices/bulk", form: url.Values{"udid": {f.garage}, "action": {"delete"}},
			status: 200, want: []string{"Revoke 1 device?", `name="confirm" value="1"`, `name="udid" value="` + f.garage + `"`, ">Garage door</a>"}},
		{name: "a reload of the summary shows the list", as: "ann", path: "/devices/bulk", status: 303, location: "/devices"},
		{name: "nothing ticked", as: "ann", method: "POST", path: "/devices/bulk", form: url.Values{"action": {"tags"}}, status: 303, location: "/devices"},
		{name: "unknown action", as: "ann", method: "POST", path: "/devices/bulk", form: url.Values{"udid": both, "action": {"explode"}}, status: 422, want: []string{"Unknown action"}},
		{name: "bad tags", as: "ann", method: "POST", path: "/devices/bulk", form: url.Values{"udid": both, "action": {"tags"}, "tags": {"a b"}}, status: 303},
		{name: "unknown mesh", as: "ann", method: "POST", path: "/devices/bulk", form: url.Values{"udid": both, "action": {"mesh"}, "mesh": {"nope"}}, status: 303},
		{name: "bad config", as: "ann", method: "POST", path: "/devices/bulk", form: url.Values{"udid": both, "action": {"config"}, "values": {"=x"}}, status: 303},
	})
	for _, u := range both {
		d := f.device(f.ann.ID, u)
		if strings.Join(d.Tags, ",") != "cellar,wet" && u == f.cellar || !d.AutoUpdate || len(d.Meshes) != 1 {
			t.Errorf("%s after bulk: tags %v auto %v meshes %v", d.Alias, d.Tags, d.AutoUpdate, d.Meshes)
		}
	}
	if d := f.device(f.bob.ID, f.bobDev); len(d.Tags) != 0 {
		t.Errorf("bob's device was tagged: %v", d.Tags)
	}
	if f.device(f.ann.ID, f.garage) == nil {
		t.Fatal("revoked before confirming")
	}
	res := ann.post("/devices/bulk", url.Values{"udid": {f.garage, f.bobDev}, "action": {"delete"}, "confirm": {"1"}})
	if res.status != 200 || !strings.Contains(res.body, `<div class="stat">1<small>done</small>`) || !strings.Contains(res.body, ">Garage door</a>") || strings.Contains(res.body, "Bobs hidden sensor") {
		t.Fatalf("confirmed revoke: %d", res.status)
	}
	if _, err := f.dev.Get(context.Background(), f.ann.ID, f.garage); err == nil {
		t.Error("the device survived its revocation")
	}
	f.device(f.bob.ID, f.bobDev)
	if body := ann.follow(ann.post("/devices/bulk", url.Values{"udid": both, "action": {"tags"}, "tags": {"a b"}})).body; !strings.Contains(body, "Tag &#34;a b&#34;") {
		t.Error("a bad tag is not explained")
	}
}

func TestTransfers(t *testing.T) {
	t.Parallel()
	f := newFleet(t)
	ann, bob := f.clients["ann"], f.clients["bob"]
	offer := url.Values{"udid": {f.green, f.cellar}, "action": {"transfer"}, "email": {"BOB@example.com"}}
	res := ann.post("/devices/bulk", offer)
	if res.status != 303 || !strings.Contains(ann.follow(res).body, "Offered 2 devices to bob@example.com.") {
		t.Fatalf("offer: %d", res.status)
	}
	for name, form := range map[string]url.Values{
		"nobody":     {"udid": {f.garage}, "action": {"transfer"}, "email": {"nobody@example.com"}},
		"to herself": {"udid": {f.garage}, "action": {"transfer"}, "email": {f.ann.Email}},
		"bob's own":  {"udid": {f.bobDev}, "action": {"transfer"}, "email": {f.bob.Email}},
	} {
		if body := ann.follow(ann.post("/devices/bulk", form)).body; !strings.Contains(body, `class="flash error"`) {
			t.Errorf("transfer %s: no error", name)
		}
	}
	list := ann.get("/devices").body
	if !strings.Contains(list, "Offered to bob@example.com: 2 devices") || !strings.Contains(list, "Cancel the transfer") {
		t.Error("the sender does not see the open transfer")
	}
	var id string
	for _, dash := range []string{"/devices", "/"} {
		page := bob.get(dash).body
		if !strings.Contains(page, "ann@example.com offers you 2 devices") || !strings.Contains(page, "Accept selected") {
			t.Fatalf("%s: bob does not see the offer", dash)
		}
		i := strings.Index(page, "/devices/transfers/")
		id = strings.SplitN(page[i+len("/devices/transfers/"):], "/", 2)[0]
	}
	// Ann cannot answer her own offer; bob cannot cancel it.
	if res := ann.post("/devices/transfers/"+id+"/accept", url.Values{"all": {"1"}}); res.status != 404 {
		t.Errorf("sender accepts: %d", res.status)
	}
	if res := bob.post("/devices/transfers/"+id+"/cancel", nil); res.status != 404 {
		t.Errorf("receiver cancels: %d", res.status)
	}
	if res := bob.post("/devices/transfers/"+id+"/accept", nil); res.status != 422 {
		t.Errorf("accept with nothing ticked: %d", res.status)
	}
	res = bob.post("/devices/transfers/"+id+"/accept", url.Values{"udid": {f.cellar}, "back": {"/"}})
	if res.status != 303 || res.header.Get("Location") != "/" || !strings.Contains(bob.follow(res).body, "Accepted 1 device from ann@example.com.") {
		t.Fatalf("accept: %d %s", res.status, res.header.Get("Location"))
	}
	if d := f.device(f.bob.ID, f.cellar); d.Alias != "Cellar pump" {
		t.Errorf("moved device: %+v", d)
	}
	if _, err := f.dev.Get(context.Background(), f.ann.ID, f.cellar); err == nil {
		t.Error("ann still has the accepted device")
	}
	f.device(f.ann.ID, f.green) // declined part stays with her
	if body := ann.get("/devices").body; !strings.Contains(body, `<span class="badge info">partial</span>`) {
		t.Error("the sender does not see the outcome")
	}

	// A second offer is declined; a third is cancelled.
	ann.post("/devices/bulk", url.Values{"udid": {f.green}, "action": {"transfer"}, "email": {f.bob.Email}})
	page := bob.get("/devices").body
	i := strings.Index(page, "/devices/transfers/")
	id2 := strings.SplitN(page[i+len("/devices/transfers/"):], "/", 2)[0]
	if res := bob.post("/devices/transfers/"+id2+"/decline", url.Values{"back": {"//evil.example"}}); res.status != 303 || res.header.Get("Location") != "/devices" {
		t.Errorf("decline: %d %s", res.status, res.header.Get("Location"))
	}
	ann.post("/devices/bulk", url.Values{"udid": {f.green}, "action": {"transfer"}, "email": {f.bob.Email}})
	page = ann.get("/devices").body
	i = strings.Index(page, "/devices/transfers/")
	id3 := strings.SplitN(page[i+len("/devices/transfers/"):], "/", 2)[0]
	if res := ann.post("/devices/transfers/"+id3+"/cancel", nil); res.status != 303 || !strings.Contains(ann.follow(res).body, "Transfer cancelled") {
		t.Errorf("cancel: %d", res.status)
	}
	if res := ann.post("/devices/transfers/"+id3+"/cancel", nil); res.status != 422 || !strings.Contains(res.body, "no longer open") {
		t.Errorf("cancel twice: %d", res.status)
	}
	f.device(f.ann.ID, f.green)
}

func TestMeshes(t *testing.T) {
	t.Parallel()
	f := newFleet(t)
	ann := f.clients["ann"]
	res := ann.post("/devices/meshes", url.Values{"alias": {"Kitchen lights"}})
	if res.status != 303 || !strings.Contains(ann.follow(res).body, "/"+f.ann.ID+"/kitchen-lights") {
		t.Fatalf("create: %d", res.status)
	}
	back := "/devices/" + f.green
	res = ann.post("/devices/meshes/attach", url.Values{"mesh": {"kitchen-lights"}, "udid": {f.green}, "back": {back}})
	if res.status != 303 || res.header.Get("Location") != back {
		t.Fatalf("attach: %d %s", res.status, res.header.Get("Location"))
	}
	if page := ann.follow(res).body; !strings.Contains(page, "Added to the mesh.") || !strings.Contains(page, `href="/devices?mesh=kitchen-lights">Kitchen lights</a>`) {
		t.Error("the device page does not show its mesh")
	}
	if list := ann.get("/devices?mesh=kitchen-lights").body; !strings.Contains(list, "1–1 of 1") || !strings.Contains(list, "Greenhouse") {
		t.Error("mesh filter")
	}
	run(t, f.env, f.clients, []scenario{
		{name: "meshes page", as: "ann", path: "/devices/meshes", status: 200, want: []string{"Kitchen lights", "kitchen-lights", `href="/devices?mesh=kitchen-lights">1</a>`}},
		{name: "bob sees none", as: "bob", path: "/devices/meshes", status: 200, want: []string{"No meshes yet"}, forbid: []string{"kitchen-lights"}},
		{name: "bad id", as: "ann", method: "POST", path: "/devices/meshes", form: url.Values{"alias": {"X"}, "id": {"Bad ID!"}}, status: 303},
		{name: "duplicate", as: "ann", method: "POST", path: "/devices/meshes", form: url.Values{"alias": {"Kitchen lights"}}, status: 303},
		{name: "bob attaches ann's device to his mesh", as: "bob", method: "POST", path: "/devices/meshes/attach", form: url.Values{"mesh": {"kitchen-lights"}, "udid": {f.green}}, status: 404},
		{name: "rename", as: "ann", method: "POST", path: "/devices/meshes/kitchen-lights/rename", form: url.Values{"alias": {"Lights"}}, status: 303, location: "/devices/meshes"},
		{name: "bob renames", as: "bob", method: "POST", path: "/devices/meshes/kitchen-lights/rename", form: url.Values{"alias": {"Mine"}}, status: 404},
		{name: "bob deletes", as: "bob", method: "POST", path: "/devices/meshes/kitchen-lights/delete", status: 404},
		{name: "detach with no device", as: "ann", method: "POST", path: "/devices/meshes/detach", form: url.Values{"mesh": {"kitchen-lights"}}, status: 303},
		{name: "detach", as: "ann", method: "POST", path: "/devices/meshes/detach", form: url.Values{"mesh": {"kitchen-lights"}, "udid": {f.green}, "back": {back}}, status: 303, location: back},
	})
	if d := f.device(f.ann.ID, f.green); len(d.Meshes) != 0 {
		t.Errorf("still in %v", d.Meshes)
	}
	if body := ann.get("/devices/meshes").body; !strings.Contains(body, `value="Lights"`) {
		t.Error("rename did not stick")
	}
	if res := ann.post("/devices/meshes/kitchen-lights/delete", nil); res.status != 303 || !strings.Contains(ann.follow(res).body, "No meshes yet") {
		t.Errorf("delete: %d", res.status)
	}
}
