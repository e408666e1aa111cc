package web

import (
	"net/http"
	"net/url"
	"strconv"
	"time"

	"thinx/app"
	"thinx/views"
)

const auditPageSize = 50

// audit lists the owner's audit log; an admin may look across all owners.
func (s *Server) audit(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	o := owner(r)
	p := views.AuditPage{Page: s.page(r, "/audit", "Audit log"), Kinds: app.AuditKinds}
	f := app.AuditFilter{OwnerID: o.ID, Kind: q.Get("kind"), Text: q.Get("q"), Limit: auditPageSize}
	if o.Admin && q.Get("all") == "1" {
		f.OwnerID, p.ShowAll = "", true
	}
	f.Offset, _ = strconv.Atoi(q.Get("offset"))
	f.Offset = max(f.Offset, 0)
	var err error
	if p.FromText = q.Get("from"); p.FromText != "" {
		if f.From, err = time.Parse("2006-01-02", p.FromText); err != nil {
			p.Flash = views.Flash{Kind: "error", Text: "“From” must be a date like 2026-01-31."}
		}
	}
	if p.ToText = q.Get("to"); p.ToText != "" {
		var to time.Time
		if to, err = time.Parse("2006-01-02", p.ToText); err != nil {
			p.Flash = views.Flash{Kind: "error", Text: "“To” must be a date like 2026-01-31."}
		} else {
			f.To = to.AddDate(0, 0, 1) // the whole "to" day is included
		}
	}
	entries, total, err := s.DB.Audit(r.Context(), f)
	if err != nil {
		s.error(w, r, err)
		return
	}
	p.Entries, p.Total, p.Filter = entries, total, f
	page := func(off int) string {
		v := url.Values{}
		for k, vs := range q {
			if k != "offset" {
				v[k] = vs
			}
		}
		v.Set("offset", strconv.Itoa(off))
		return "/audit?" + v.Encode()
	}
	if f.Offset > 0 {
		p.PrevURL = page(max(f.Offset-auditPageSize, 0))
	}
	if f.Offset+len(entries) < total {
		p.NextURL = page(f.Offset + auditPageSize)
	}
	s.render(w, r, http.StatusOK, views.AuditPageView(p))
}
