package web_test

import (
	"context"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"thinx/app/transform"
)

// The editor page: attaching moves a device from the "Add to device"
// choices to the list of devices running the transformer; a refused save
// lists the problems with line numbers and stores nothing.
func TestTransformerPageAttachAndRefusal(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ann := e.owner("ann@example.com", false)
	key, _, err := e.auth.CreateKey(context.Background(), ann.ID, "k", "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	udid := e.checkin(ann.ID, key, "", "Greenhouse", "ba0d5a", "5CCF7F0000C1")
	c := e.login(ann.Email)
	res := c.post("/transformers/new", url.Values{"alias": {"Battery"}, "source": {transform.Examples()[0].Source}, "action": {"save"}})
	id := strings.TrimPrefix(res.header.Get("Location"), "/transformers/")
	if res.status != 303 || id == "" {
		t.Fatalf("save: %d %q", res.status, res.header.Get("Location"))
	}
	option := regexp.MustCompile(`<select name="udid"><option value="` + udid)
	if page := c.get("/transformers/" + id); !option.MatchString(page.body) {
		t.Fatalf("the device is not offered for attaching:\n%s", excerpt(page.body))
	}
	if res := c.post("/transformers/"+id+"/attach", url.Values{"udid": {udid}}); res.status != 303 {
		t.Fatalf("attach: %d", res.status)
	}
	page := c.get("/transformers/" + id)
	if option.MatchString(page.body) || !strings.Contains(page.body, `href="/devices/`+udid+`"`) {
		t.Errorf("after attaching, the device should be listed as running it and not offered again:\n%s", excerpt(page.body))
	}
	bad := c.post("/transformers/new", url.Values{"alias": {"Bad"}, "source": {"package transformer\nimport \"os\"\n"}, "action": {"save"}})
	if bad.status != 422 || !strings.Contains(bad.body, `line 2: import &#34;os&#34; is not allowed`) {
		t.Errorf("refused save: %d\n%s", bad.status, excerpt(bad.body))
	}
	if n := e.count(`SELECT COUNT(*) FROM transformers WHERE owner_id = ?`, ann.ID); n != 1 {
		t.Errorf("%d transformers stored, want 1", n)
	}
}
