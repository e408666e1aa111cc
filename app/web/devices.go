package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"thinx/app"
	"thinx/views"
)

// deviceFilter reads the list's query parameters, shared by the page and
// the API: q, tag, platform, status, online, stale, mesh, sort, page,
// per_page. Unknown parameters are ignored; malformed known ones are not.
func deviceFilter(q url.Values) (app.DeviceFilter, views.DeviceQuery, error) {
	v := views.DeviceQuery{Q: strings.TrimSpace(q.Get("q")), Tag: strings.TrimSpace(q.Get("tag")),
		Platform: strings.TrimSpace(q.Get("platform")), Status: q.Get("status"), Online: q.Get("online"),
		Mesh: q.Get("mesh"), Sort: q.Get("sort")}
	f := app.DeviceFilter{Search: v.Q, Tag: v.Tag, Platform: v.Platform, Level: v.Status, Mesh: v.Mesh, Sort: v.Sort}
	if len(v.Q) > 200 || len(v.Tag) > 64 || len(v.Platform) > 64 || len(v.Mesh) > 64 {
		return f, v, app.Errorf(app.EINVALID, "The filter is too long.")
	}
	switch v.Online {
	case "":
	case "yes", "true", "1":
		on := true
		f.Online, v.Online = &on, "yes"
	case "no", "false", "0":
		off := false
		f.Online, v.Online = &off, "no"
	default:
		return f, v, app.Errorf(app.EINVALID, "online must be yes or no.")
	}
	switch q.Get("stale") {
	case "", "0", "false", "no":
	case "1", "true", "yes", "on":
		f.Stale, v.Stale = true, true
	default:
		return f, v, app.Errorf(app.EINVALID, "stale must be 1 or 0.")
	}
	var err error
	if f.Page, err = intParam(q, "page", 1, 1_000_000); err != nil {
		return f, v, err
	}
	if f.PerPage, err = intParam(q, "per_page", 50, 500); err != nil {
		return f, v, err
	}
	return f, v, nil
}

func intParam(q url.Values, name string, def, most int) (int, error) {
	s := q.Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > most {
		return 0, app.Errorf(app.EINVALID, "%s must be a whole number from 1 to %d.", name, most)
	}
	return n, nil
}

// listURL is the list with the filter in v, a sort and a page.
func listURL(v views.DeviceQuery, sort string, page, perPage int) string {
	q := url.Values{}
	set := func(k, val string) {
		if val != "" {
			q.Set(k, val)
		}
	}
	set("q", v.Q)
	set("tag", v.Tag)
	set("platform", v.Platform)
	set("status", v.Status)
	set("online", v.Online)
	set("mesh", v.Mesh)
	if v.Stale {
		q.Set("stale", "1")
	}
	set("sort", sort)
	if page > 1 {
		q.Set("page", strconv.Itoa(page))
	}
	if perPage != 50 {
		q.Set("per_page", strconv.Itoa(perPage))
	}
	if len(q) == 0 {
		return "/devices"
	}
	return "/devices?" + q.Encode()
}

// deviceColumns are the list's header cells; a click on a sorted one
// reverses it where the list can be read both ways.
func deviceColumns(v views.DeviceQuery, perPage int) []views.DeviceColumn {
	cols := []struct{ label, asc, desc, class string }{
		{"Name", "alias", "-alias", ""}, {"Status", "level", "", ""}, {"Last check-in", "last_checkin", "-last_checkin", ""},
		{"Firmware", "", "", "opt"}, {"Platform", "platform", "", "opt"}, {"Online", "", "", "opt"}, {"Tags", "", "", "opt"},
	}
	out := make([]views.DeviceColumn, 0, len(cols))
	for _, c := range cols {
		col := views.DeviceColumn{Label: c.label, Class: c.class}
		if c.asc != "" {
			cur := v.Sort
			if cur == "" {
				cur = "alias"
			}
			next := c.asc
			col.Active = cur == c.asc || cur == c.desc
			col.Desc = cur == c.desc
			if cur == c.asc && c.desc != "" {
				next = c.desc
			}
			col.URL = listURL(v, next, 1, perPage)
		}
		out = append(out, col)
	}
	return out
}

// devices is the list page; an htmx request for the table gets the table
// alone.
func (s *Server) devices(w http.ResponseWriter, r *http.Request) {
	ctx, o := r.Context(), owner(r)
	f, v, err := deviceFilter(r.URL.Query())
	if err != nil {
		s.error(w, r, err)
		return
	}
	list, total, err := s.Devices.List(ctx, o.ID, f)
	if err != nil {
		s.error(w, r, err)
		return
	}
	p := views.DevicesPage{Page: s.page(r, "/devices", "Devices"), Query: v, Total: total,
		Columns: deviceColumns(v, f.PerPage), First: (f.Page-1)*f.PerPage + 1}
	for _, d := range list {
		p.Rows = append(p.Rows, views.DeviceRow{D: d, Stale: s.Devices.Stale(d)})
	}
	if f.Page > 1 {
		p.PrevURL = listURL(v, v.Sort, f.Page-1, f.PerPage)
	}
	if f.Page*f.PerPage < total {
		p.NextURL = listURL(v, v.Sort, f.Page+1, f.PerPage)
	}
	if r.Header.Get("HX-Request") == "true" && r.Header.Get("HX-Target") == "device-list" {
		// The address bar gets the short form of the filter, not every
		// empty field of the form.
		w.Header().Set("HX-Push-Url", listURL(v, v.Sort, f.Page, f.PerPage))
		s.render(w, r, http.StatusOK, views.DeviceList(p))
		return
	}
	if p.Meshes, err = s.Devices.Meshes(ctx, o.ID); err != nil {
		s.error(w, r, err)
		return
	}
	if p.OwnerEnv, err = s.Devices.OwnerEnv(ctx, o.ID); err != nil {
		s.error(w, r, err)
		return
	}
	if p.Transfers, err = s.transfersPanel(r, "/devices", 5); err != nil {
		s.error(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, views.DevicesView(p))
}
