package web_test

import (
	"strings"
	"testing"
	"time"
)

func TestDeviceList(t *testing.T) {
	t.Parallel()
	f := newFleet(t)
	htmx := map[string]string{"HX-Request": "true", "HX-Target": "device-list"}
	run(t, f.env, f.clients, []scenario{
		{name: "her devices, not his", as: "ann", path: "/devices", status: 200,
			want:   []string{"Greenhouse", "Cellar pump", "Garage door", "1–3 of 3", `href="/devices/` + f.green + `"`, `sse-connect="/devices/events"`, `sse-swap="device-` + f.green + `"`},
			forbid: []string{"Bobs hidden sensor", f.bobDev, "Nothing here yet"}},
		{name: "markers become badges and leave the text", as: "ann", path: "/devices", status: 200,
			want:   []string{`<span class="badge error">error</span>`, "Low water", `<span class="badge warning">warning</span>`, "Door open"},
			forbid: []string{"Low water #e", "Door open #w"}},
		{name: "firmware, platform, tags, last check-in with the exact time on hover", as: "ann", path: "/devices", status: 200,
			want: []string{"thinx-lib-esp8266:3.0.270", "1.0.0", "platformio:esp32", `href="/devices?tag=outdoor"`, `title="2026-03-01 12:00 UTC"`, "offline"}},
		{name: "search", as: "ann", path: "/devices?q=cellar", status: 200, want: []string{"Cellar pump", "1–1 of 1", `value="cellar"`}, forbid: []string{"Greenhouse"}},
		{name: "search by status text", as: "ann", path: "/devices?q=door+open", status: 200, want: []string{"Garage door"}, forbid: []string{"Cellar pump"}},
		{name: "search finds nothing of bob's", as: "ann", path: "/devices?q=Bob", status: 200, want: []string{"No devices match"}, forbid: []string{"Bobs hidden sensor"}},
		{name: "errors", as: "ann", path: "/devices?status=error", status: 200, want: []string{"Cellar pump"}, forbid: []string{"Garage door", "Greenhouse"}},
		{name: "warnings", as: "ann", path: "/devices?status=warning", status: 200, want: []string{"Garage door"}, forbid: []string{"Cellar pump"}},
		{name: "tag", as: "ann", path: "/devices?tag=north", status: 200, want: []string{"Greenhouse"}, forbid: []string{"Cellar pump"}},
		{name: "platform", as: "ann", path: "/devices?platform=esp32", status: 200, want: []string{"Cellar pump", "Garage door"}, forbid: []string{"Greenhouse"}},
		{name: "online", as: "ann", path: "/devices?online=yes", status: 200, want: []string{"No devices match", "Clear the filter"}, forbid: []string{"Greenhouse"}},
		{name: "offline", as: "ann", path: "/devices?online=no", status: 200, want: []string{"1–3 of 3"}},
		{name: "none stale yet", as: "ann", path: "/devices?stale=1", status: 200, want: []string{"No devices match"}},
		{name: "paging", as: "ann", path: "/devices?per_page=1&page=2", status: 200,
			want:   []string{"Garage door", "2–2 of 3", `href="/devices?per_page=1"`, `href="/devices?page=3&amp;per_page=1"`},
			forbid: []string{"Greenhouse", "Cellar pump"}},
		{name: "sort header links keep the filter and reverse", as: "ann", path: "/devices?status=error", status: 200,
			want: []string{`href="/devices?sort=-alias&amp;status=error"`, `aria-sort="ascending"`, `href="/devices?sort=last_checkin&amp;status=error"`}},
		{name: "htmx asks for the table alone", as: "ann", path: "/devices?q=green", header: htmx, status: 200,
			want: []string{`<div id="device-list">`, "Greenhouse"}, forbid: []string{"<!doctype html>", "With the selected devices"}},
		{name: "bad page", as: "ann", path: "/devices?page=0", status: 422, want: []string{"page must be a whole number"}},
		{name: "bad per_page", as: "ann", path: "/devices?per_page=5000", status: 422},
		{name: "bad online", as: "ann", path: "/devices?online=maybe", status: 422, want: []string{"online must be yes or no"}},
		{name: "bad stale", as: "ann", path: "/devices?stale=perhaps", status: 422},
		{name: "bad sort", as: "ann", path: "/devices?sort=owner_id", status: 422, want: []string{"Unknown sort"}},
		{name: "bad status", as: "ann", path: "/devices?status=fatal", status: 422, want: []string{"Unknown status filter"}},
		{name: "long search", as: "ann", path: "/devices?q=" + strings.Repeat("x", 300), status: 422},
		{name: "visitors log in first", path: "/devices", status: 303, location: "/login?next=%2Fdevices"},
		{name: "bob sees only his", as: "bob", path: "/devices", status: 200, want: []string{"Bobs hidden sensor", "1–1 of 1"}, forbid: []string{"Greenhouse", f.green}},
	})
}

func TestDeviceListSortAndStale(t *testing.T) {
	t.Parallel()
	f := newFleet(t)
	ann := f.clients["ann"]
	order := func(path string, names ...string) {
		t.Helper()
		body := ann.get(path).body
		last := -1
		for _, n := range names {
			i := strings.Index(body, ">"+n+"</a>")
			if i < 0 || i < last {
				t.Errorf("%s: %s missing or out of order", path, n)
			}
			last = i
		}
	}
	order("/devices", "Cellar pump", "Garage door", "Greenhouse")
	order("/devices?sort=-alias", "Greenhouse", "Garage door", "Cellar pump")
	order("/devices?sort=level", "Cellar pump", "Garage door", "Greenhouse")

	// htmx gets the table with the sort the filter form sends next, and a
	// short address for the address bar.
	res := ann.do("GET", "/devices?q=e&tag=&platform=&status=&online=&mesh=&sort=-alias", nil, map[string]string{"HX-Request": "true", "HX-Target": "device-list"})
	if got := res.header.Get("HX-Push-Url"); got != "/devices?q=e&sort=-alias" {
		t.Errorf("HX-Push-Url %q", got)
	}
	if !strings.Contains(res.body, `<input type="hidden" name="sort" value="-alias" form="filter">`) {
		t.Errorf("the table does not carry its sort:\n%s", excerpt(res.body))
	}

	// Two days without a check-in make a device stale; one checks in again.
	f.clock.Add(49 * time.Hour)
	f.checkin(f.ann.ID, f.annKey, f.green, "Greenhouse", "Temp 22C", "5CCF7F0000A1")
	order("/devices?sort=last_checkin", "Greenhouse", "Cellar pump")
	res = ann.get("/devices?stale=1")
	if !strings.Contains(res.body, "1–2 of 2") || strings.Contains(res.body, ">Greenhouse</a>") || !strings.Contains(res.body, `<span class="badge warning">stale</span>`) {
		t.Errorf("stale filter:\n%s", excerpt(res.body))
	}
}
