package devices_test

import (
	"context"
	"encoding/json"
	"testing"

	"thinx/app"
)

var jsonUnmarshal = json.Unmarshal

func TestRegisterThenCheckin(t *testing.T) {
	e := newEnv(t)
	o := e.owner("alice")
	r := e.checkin(o, o.Key, regBody(o, "", "Booting"))
	if !r.Success || r.Status != "OK" || r.Owner != o.ID || !app.IsUDID(r.UDID) || r.Alias == "" || r.Alias == "unnamed" {
		t.Fatalf("first registration reply: %+v", r)
	}
	if r.Timestamp != e.clock().Unix() {
		t.Errorf("timestamp %d, want %d", r.Timestamp, e.clock().Unix())
	}
	e.advance(60e9)
	r2 := e.checkin(o, o.Key, regBody(o, r.UDID, "Running #w", `"alias":"kitchen"`))
	if r2.UDID != r.UDID || r2.Alias != r.Alias {
		t.Fatalf("check-in changed identity: %+v vs %+v", r2, r)
	}
	d, err := e.svc.Get(context.Background(), o.ID, r.UDID)
	mustf(t, err, "get")
	if d.MAC != "5C:CF:7F:A1:B2:C3" || d.Checkins != 2 || d.Status != "Running #w" || d.Level != app.LevelWarning || d.RSSI != -67 || d.Lat != 50.08 {
		t.Fatalf("device after check-in: %+v", d)
	}
}
