package store_test

import (
	"context"
	"sort"
	"strings"
	"testing"

	"thinx/app"
	"thinx/app/store"
)

// SecretEnvNames: the owner's secret names and those of the owner's own
// device, never another owner's device's.
func TestSecretEnvNames(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ann, bob := strings.Repeat("a", 64), strings.Repeat("b", 64)
	annDev, bobDev := "00000001-0000-11ef-8000-000000000001", "00000002-0000-11ef-8000-000000000002"
	err = db.Update(ctx, func(tx *store.Tx) error {
		for _, o := range []string{ann, bob} {
			if err := tx.CreateOwner(&app.Owner{ID: o, Email: o[:1] + "@example.com"}); err != nil {
				return err
			}
		}
		for owner, udid := range map[string]string{ann: annDev, bob: bobDev} {
			if err := tx.CreateDevice(&app.Device{UDID: udid, OwnerID: owner, Alias: "d"}); err != nil {
				return err
			}
			if err := tx.SetDeviceEnv(udid, []app.EnvVar{{Name: "PIN_" + owner[:1], Value: "1234", Secret: true}, {Name: "LED", Value: "red"}}); err != nil {
				return err
			}
		}
		return tx.SetOwnerEnv(ann, []app.EnvVar{{Name: "WIFI_PASSWORD", Value: "x", Secret: true}, {Name: "SSID", Value: "home"}})
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		owner, udid, want string
	}{
		{ann, annDev, "PIN_a WIFI_PASSWORD"},
		{ann, "", "WIFI_PASSWORD"},
		{ann, bobDev, "WIFI_PASSWORD"}, // bob's device: none of its names
		{bob, bobDev, "PIN_b"},
	} {
		names, err := db.SecretEnvNames(ctx, tc.owner, tc.udid)
		var got []string
		for n := range names {
			got = append(got, n)
		}
		sort.Strings(got)
		if err != nil || strings.Join(got, " ") != tc.want {
			t.Errorf("%s… %s: %v, %v; want %s", tc.owner[:1], tc.udid, got, err, tc.want)
		}
	}
}
