package web

import (
	"net/http"
	"strings"

	"thinx/app"
	"thinx/views"
)

// bulkTitles name the bulk actions on the summary page.
var bulkTitles = map[string]string{
	"tags": "Set tags", "auto_update_on": "Turn automatic updates on", "auto_update_off": "Turn automatic updates off",
	"mesh": "Add to mesh", "config": "Push configuration", "delete": "Revoke devices",
}

// bulk applies the action chosen in the list's bulk form to the ticked
// devices and shows what happened to each. Revoking asks once more; a
// transfer goes to the other owner, who answers later.
func (s *Server) bulk(w http.ResponseWriter, r *http.Request) {
	ctx, o, ip := r.Context(), owner(r), s.clientIP(r)
	f := r.PostForm
	action, udids := f.Get("action"), normUDIDs(f["udid"])
	if len(udids) == 0 {
		redirect(w, r, "/devices", "error", "Tick at least one device first.")
		return
	}
	if len(udids) > app.MaxBulkDevices {
		s.error(w, r, app.Errorf(app.EINVALID, "At most %d devices at once.", app.MaxBulkDevices))
		return
	}
	title, known := bulkTitles[action]
	if action == "transfer" {
		t, err := s.Devices.RequestTransfer(ctx, o.ID, strings.TrimSpace(f.Get("email")), udids, f.Get("with_env") != "", ip)
		if err != nil {
			s.bulkError(w, r, err)
			return
		}
		redirect(w, r, "/devices", "ok", "Offered "+plural(len(t.Devices), "device")+" to "+t.ToEmail+". They stay yours until accepted.")
		return
	}
	if !known {
		s.error(w, r, app.Errorf(app.EINVALID, "Unknown action %q.", action))
		return
	}
	p := views.BulkResultPage{Page: s.page(r, "/devices", title), Action: title, Names: map[string]string{}}
	// Names are read before the action, so revoked devices keep theirs.
	names, err := s.DB.DeviceChoices(ctx, o.ID, app.MaxBulkDevices)
	if err != nil {
		s.error(w, r, err)
		return
	}
	for _, n := range names {
		p.Names[n[0]] = n[1]
	}
	if action == "delete" && f.Get("confirm") == "" {
		p.Confirm = udids
		s.render(w, r, http.StatusOK, views.BulkResultView(p))
		return
	}
	a := app.BulkAction{Kind: action, UDIDs: udids}
	switch action {
	case "tags":
		a.Tags = splitList(f.Get("tags"))
	case "auto_update_on", "auto_update_off":
		a.Kind, a.AutoUpdate = app.BulkAutoUpdate, action == "auto_update_on"
	case "mesh":
		a.MeshID = f.Get("mesh")
	case "config":
		if a.Config, err = configForm(f); err != nil {
			s.bulkError(w, r, err)
			return
		}
	}
	res, err := s.Devices.Bulk(ctx, o.ID, a, ip)
	if err != nil {
		s.bulkError(w, r, err)
		return
	}
	p.Result = res
	s.render(w, r, http.StatusOK, views.BulkResultView(p))
}

// bulkAgain answers a reload of a bulk summary, whose address the browser
// keeps: the action is not repeated, the list is shown.
func (s *Server) bulkAgain(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, "/devices", http.StatusSeeOther)
}

// bulkError sends a mistake the person can fix back to the list.
func (s *Server) bulkError(w http.ResponseWriter, r *http.Request, err error) {
	switch app.ErrorCode(err) {
	case app.EINVALID, app.ENOTFOUND, app.ECONFLICT:
		redirect(w, r, "/devices", "error", app.ErrorMessage(err))
	default:
		s.error(w, r, err)
	}
}

// normUDIDs lower-cases UDIDs from a form; malformed ones are kept, so
// the summary reports them as not found.
func normUDIDs(in []string) []string {
	out := make([]string, 0, len(in))
	for _, u := range in {
		if u = strings.ToLower(strings.TrimSpace(u)); u != "" {
			out = append(out, u)
		}
	}
	return out
}
