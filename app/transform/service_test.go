package transform

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"thinx/app"
	"thinx/app/store"
)

// serviceEnv is a real database with an owner and one device, and a
// service over an engine with real worker processes.
type serviceEnv struct {
	db    *store.DB
	svc   *Service
	owner string
	udid  string
}

func newServiceEnv(t *testing.T, o Options) *serviceEnv {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	e := &serviceEnv{db: db, owner: randHex(32), udid: "7d5e8a3c-1b2a-4c3d-8e4f-5a6b7c8d9e0f"}
	err = db.Update(ctx, func(tx *store.Tx) error {
		if err := tx.CreateOwner(&app.Owner{ID: e.owner, Email: "maker@example.com"}); err != nil {
			return err
		}
		now := tx.Now()
		if err := tx.CreateDevice(&app.Device{UDID: e.udid, OwnerID: e.owner, Alias: "greenhouse", Platform: "platformio:esp8266",
			Version: "1.2.0", Tags: []string{"outdoor"}, CreatedAt: now, UpdatedAt: now}); err != nil {
			return err
		}
		return tx.SetDeviceEnv(e.udid, []app.EnvVar{{Name: "ROOM", Value: "north"}, {Name: "WIFI_PASS", Value: "hunter2", Secret: true}})
	})
	if err != nil {
		t.Fatal(err)
	}
	e.svc = NewService(db, newTestEngine(t, o), slog.New(slog.DiscardHandler))
	return e
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

const echoDevice = `package transformer

import (
	"fmt"
	"strings"
	"thinx"
)

func Transform(status string, device thinx.Device) (string, error) {
	return fmt.Sprintf("%s@%s room=%s secret=%q tags=%s", strings.ToUpper(status), device.Alias, device.Env["ROOM"], device.Env["WIFI_PASS"], strings.Join(device.Tags, ",")), nil
}
`

const suffix = `package transformer

import "thinx"

func Transform(status string, device thinx.Device) (string, error) { return status + " #w", nil }
`

const failing = `package transformer

import (
	"errors"
	"thinx"
)

func Transform(status string, device thinx.Device) (string, error) { return "", errors.New("sensor unplugged") }
`

func TestServiceSaveVersionsAndRefusals(t *testing.T) {
	e := newServiceEnv(t, Options{InProcess: true, Workers: 1})
	ctx := context.Background()
	if _, err := e.svc.Save(ctx, e.owner, "", "bad", "package transformer\nimport \"os\"\n", "192.0.2.1"); app.ErrorCode(err) != app.EINVALID ||
		!strings.Contains(app.ErrorMessage(err), `line 2: import "os" is not allowed`) {
		t.Fatalf("forbidden import: %v", err)
	}
	if n, _ := e.db.Transformers(ctx, e.owner); len(n) != 0 {
		t.Fatal("a refused script was stored")
	}
	tr, err := e.svc.Save(ctx, e.owner, "", "Echo", echoDevice, "192.0.2.1")
	if err != nil || tr.Version != 1 {
		t.Fatalf("save: %+v %v", tr, err)
	}
	if tr, err = e.svc.Save(ctx, e.owner, tr.ID, "Echo", suffix, "192.0.2.1"); err != nil || tr.Version != 2 {
		t.Fatalf("second version: %+v %v", tr, err)
	}
	if tr, err = e.svc.Save(ctx, e.owner, tr.ID, "Echo renamed", suffix, "192.0.2.1"); err != nil || tr.Version != 2 || tr.Alias != "Echo renamed" {
		t.Fatalf("a rename without a source change is not a version: %+v %v", tr, err)
	}
	vs, _ := e.db.TransformerVersions(ctx, e.owner, tr.ID)
	if len(vs) != 2 || vs[0].Source != suffix || vs[1].Source != echoDevice {
		t.Fatalf("versions: %+v", vs)
	}
	other := randHex(32)
	if _, err := e.svc.Save(ctx, other, tr.ID, "stolen", suffix, ""); app.ErrorCode(err) != app.ENOTFOUND {
		t.Errorf("another owner saving over it: %v", err)
	}
	if err := e.svc.Attach(ctx, other, e.udid, []string{tr.ID}, ""); app.ErrorCode(err) != app.ENOTFOUND {
		t.Errorf("another owner attaching to the device: %v", err)
	}
	if err := e.svc.Delete(ctx, other, tr.ID, ""); app.ErrorCode(err) != app.ENOTFOUND {
		t.Errorf("another owner deleting: %v", err)
	}
	entries, _, _ := e.db.Audit(ctx, app.AuditFilter{OwnerID: e.owner, Kind: app.AuditTransformerSaved})
	if len(entries) != 3 {
		t.Errorf("audit entries for saves: %d", len(entries))
	}
}

func TestServiceChainFeedsOutputOnAndHidesSecrets(t *testing.T) {
	e := newServiceEnv(t, Options{Workers: 2})
	ctx := context.Background()
	if out, err := e.svc.Transform(ctx, e.owner, e.udid, "raw"); err != nil || out != "raw" {
		t.Fatalf("no chain: %q %v", out, err)
	}
	a, _ := e.svc.Save(ctx, e.owner, "", "Echo", echoDevice, "")
	b, _ := e.svc.Save(ctx, e.owner, "", "Warn", suffix, "")
	if err := e.svc.Attach(ctx, e.owner, e.udid, []string{a.ID, b.ID}, ""); err != nil {
		t.Fatal(err)
	}
	out, err := e.svc.Transform(ctx, e.owner, e.udid, "ok")
	if want := `OK@greenhouse room=north secret="" tags=outdoor #w`; err != nil || out != want {
		t.Fatalf("chain: %q %v, want %q", out, err, want)
	}
	// Another owner's view of the device has no chain at all.
	if out, err := e.svc.Transform(ctx, randHex(32), e.udid, "ok"); err != nil || out != "ok" {
		t.Errorf("foreign owner: %q %v", out, err)
	}
	if err := e.svc.FlushStats(ctx); err != nil {
		t.Fatal(err)
	}
	if tr, _ := e.db.Transformer(ctx, e.owner, a.ID); tr.Runs != 1 || tr.Failures != 0 || tr.Devices != 1 {
		t.Errorf("stats: %+v", tr)
	}
}

func TestServiceFailingTransformerIsQuarantinedAndAudited(t *testing.T) {
	e := newServiceEnv(t, Options{Workers: 1, QuarantineAfter: 3})
	ctx := context.Background()
	tr, _ := e.svc.Save(ctx, e.owner, "", "Flaky", failing, "")
	if err := e.svc.Attach(ctx, e.owner, e.udid, []string{tr.ID}, ""); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		out, err := e.svc.Transform(ctx, e.owner, e.udid, "raw")
		if err == nil || out != "raw" || !strings.Contains(err.Error(), `transformer "Flaky"`) || !strings.Contains(err.Error(), "sensor unplugged") {
			t.Fatalf("call %d: %q %v; want the raw status and a named error", i, out, err)
		}
	}
	got, _ := e.db.Transformer(ctx, e.owner, tr.ID)
	if !got.Quarantined() || !strings.Contains(got.QuarantineReason, "3 times") {
		t.Fatalf("not quarantined: %+v", got)
	}
	entries, _, _ := e.db.Audit(ctx, app.AuditFilter{OwnerID: e.owner, Kind: app.AuditTransformerQuarantined})
	if len(entries) != 1 || !strings.Contains(entries[0].Message, "Flaky") {
		t.Fatalf("audit: %+v", entries)
	}
	// Quarantined: not run, the raw status kept, the reason named.
	if out, err := e.svc.Transform(ctx, e.owner, e.udid, "raw"); out != "raw" || err == nil || !strings.Contains(err.Error(), "quarantined") {
		t.Errorf("while quarantined: %q %v", out, err)
	}
	// Editing lifts it.
	if _, err := e.svc.Save(ctx, e.owner, tr.ID, "Flaky", suffix, ""); err != nil {
		t.Fatal(err)
	}
	if out, err := e.svc.Transform(ctx, e.owner, e.udid, "raw"); err != nil || out != "raw #w" {
		t.Errorf("after the edit: %q %v", out, err)
	}
}

func TestServiceRunawayScriptDoesNotStopTheNextCheckin(t *testing.T) {
	e := newServiceEnv(t, Options{Workers: 2, Timeout: 50 * time.Millisecond})
	ctx := context.Background()
	loop := strings.Replace(suffix, `{ return status + " #w", nil }`, `{ for { } }`, 1)
	tr, err := e.svc.Save(ctx, e.owner, "", "Loop", loop, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Attach(ctx, e.owner, e.udid, []string{tr.ID}, ""); err != nil {
		t.Fatal(err)
	}
	out, err := e.svc.Transform(ctx, e.owner, e.udid, "raw")
	if err == nil || out != "raw" || !strings.Contains(err.Error(), "timed out") {
		t.Fatalf("runaway: %q %v", out, err)
	}
	res := e.svc.Try(ctx, e.owner, suffix, "next", Device{Alias: "x"})
	if res.Error != "" || res.Output != "next #w" {
		t.Errorf("the engine after a runaway: %+v", res)
	}
}

func TestServiceTryReportsProblemsWithoutSaving(t *testing.T) {
	e := newServiceEnv(t, Options{InProcess: true, Workers: 1})
	res := e.svc.Try(context.Background(), e.owner, "package transformer\nfunc Transform() {}\n", "x", Device{})
	if len(res.Problems) == 0 || res.Output != "" {
		t.Fatalf("try of a wrong signature: %+v", res)
	}
	res = e.svc.Try(context.Background(), e.owner, failing, "x", Device{})
	if res.Error == "" || !strings.Contains(res.Error, "sensor unplugged") {
		t.Errorf("try of a failing script: %+v", res)
	}
	if n, _ := e.db.Transformers(context.Background(), e.owner); len(n) != 0 {
		t.Error(fmt.Sprint("try stored something: ", n))
	}
}
