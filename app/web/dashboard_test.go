package web_test

import (
	"context"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"thinx/app"
)

func TestDashboard(t *testing.T) {
	t.Parallel()
	f := newFleet(t)
	ctx := context.Background()
	if err := f.dev.Notification(ctx, f.ann.ID, f.cellar, app.Notification{Title: "Refill the tank?", Body: "Water is low.", ResponseType: "bool"}); err != nil {
		t.Fatal(err)
	}
	if err := f.dev.Notification(ctx, f.ann.ID, f.green, app.Notification{Title: "Name the plant", ResponseType: "string"}); err != nil {
		t.Fatal(err)
	}
	// Yesterday's check-ins land in yesterday's bar.
	f.clock.Add(24 * time.Hour)
	f.checkin(f.ann.ID, f.annKey, f.green, "Greenhouse", "Temp 20C", "5CCF7F0000A1")
	f.checkin(f.ann.ID, f.annKey, f.green, "Greenhouse", "Temp 20C", "5CCF7F0000A1")

	res := f.clients["ann"].get("/")
	if res.status != 200 {
		t.Fatalf("dashboard: %d", res.status)
	}
	for _, want := range []string{
		`href="/" aria-current="page"`,
		`<div class="stat">3<small>devices</small>`, `<div class="stat">1<small>in error</small>`,
		`<div class="stat">0<small>online</small>`, `<div class="stat">2<small>check-ins today</small>`,
		`<div class="stat">0<small>stale</small>`, `href="/devices?status=error"`,
		"Check-ins", "New devices", "Active devices", "Devices in error", "Devices updated",
		"<title>Sun, Mar 1: 3 check-ins</title>", "<title>Mon, Mar 2: 2 check-ins</title>",
		"<title>Sun, Mar 1: 3 new devices</title>", "<title>Sun, Mar 1: 1 device in error</title>",
		"Latest check-ins", "In error", "Low water",
		"Refill the tank?", "Water is low.", `name="response" value="yes"`, "Name the plant", `<input name="response"`,
	} {
		if !strings.Contains(res.body, want) {
			t.Errorf("dashboard lacks %q", want)
		}
	}
	if n := strings.Count(res.body, "<svg viewBox="); n != 5 {
		t.Errorf("%d charts, want 5", n)
	}
	if n := strings.Count(res.body, `<rect class="bar"`); n != 5*30 {
		t.Errorf("%d bars, want 150", n)
	}
	if strings.Contains(res.body, "Bobs hidden sensor") || strings.Contains(res.body, "Bob status") {
		t.Error("bob's device on ann's dashboard")
	}
	bob := f.clients["bob"].get("/")
	if !strings.Contains(bob.body, `<div class="stat">1<small>devices</small>`) || strings.Contains(bob.body, "Refill the tank?") {
		t.Error("bob's dashboard shows ann's figures")
	}

	// Answers need the MQTT broker, which this console runs without: the
	// owner is told, nothing is recorded.
	id := regexp.MustCompile(`/notifications/(\d+)/answer`).FindStringSubmatch(res.body)[1]
	ann := f.clients["ann"]
	ans := ann.post("/notifications/"+id+"/answer", url.Values{"response": {"yes"}})
	if ans.status != 303 || !strings.Contains(ann.follow(ans).body, "Messages to devices are not available.") {
		t.Errorf("answer: %d", ans.status)
	}
	if n, _ := f.dev.Notifications(ctx, f.ann.ID, true); len(n) != 2 {
		t.Errorf("%d open questions after a failed answer", len(n))
	}
	for _, p := range []string{"/notifications/abc/answer", "/notifications/-1/answer", "/notifications/0/answer"} {
		if res := ann.post(p, url.Values{"response": {"yes"}}); res.status != 404 {
			t.Errorf("%s: %d", p, res.status)
		}
	}

	// An owner without devices is told how to get one.
	f.owner("new@example.com", false)
	if body := f.login("new@example.com").get("/").body; !strings.Contains(body, "No devices yet") || !strings.Contains(body, "<title>Sun, Mar 1: 0 check-ins</title>") {
		t.Error("empty dashboard")
	}
}

func TestEnvironmentPage(t *testing.T) {
	t.Parallel()
	f := newFleet(t)
	ann := f.clients["ann"]
	run(t, f.env, f.clients, []scenario{
		{name: "empty", as: "ann", path: "/environment", status: 200, want: []string{`href="/environment" aria-current="page"`, `name="env.0.name"`, `name="env.2.name"`}, forbid: []string{`name="env.3.name"`}},
		{name: "save", as: "ann", method: "POST", path: "/environment", status: 303, location: "/environment",
			form: url.Values{"env.0.name": {"API_TOKEN"}, "env.0.value": {"tok-123456"}, "env.0.secret": {"1"}, "env.1.name": {"SITE"}, "env.1.value": {"Prague"}}},
		{name: "secret masked", as: "ann", path: "/environment", status: 200, want: []string{`value="API_TOKEN"`, `value="Prague"`, "set — leave empty to keep", `name="env.4.name"`}, forbid: []string{"tok-123456"}},
		{name: "bob's is his own", as: "bob", path: "/environment", status: 200, forbid: []string{"API_TOKEN", "Prague"}},
		{name: "bad name", as: "ann", method: "POST", path: "/environment", form: url.Values{"env.0.name": {"A-B"}}, status: 303, location: "/environment"},
		{name: "visitors", path: "/environment", status: 303, location: "/login"},
	})
	if body := ann.get("/environment").body; !strings.Contains(body, "Variables saved.") && !strings.Contains(body, "API_TOKEN") {
		t.Error("environment lost")
	}
	env, err := f.db.OwnerEnv(context.Background(), f.ann.ID)
	if err != nil || len(env) != 2 || env[0].Value != "tok-123456" && env[1].Value != "tok-123456" {
		t.Errorf("stored owner env %+v %v", env, err)
	}
	// The owner's variables are offered for a push.
	if body := ann.get("/devices/" + f.green).body; !strings.Contains(body, `name="owner_env" value="API_TOKEN"`) {
		t.Error("device page does not offer the owner's variables")
	}
}
