package web

import (
	"net/http"
	"strconv"
	"strings"

	"thinx/app"
	"thinx/views"
)

// dashboard shows counters, the 30-day charts, the latest check-ins and
// errors, open transfers and the questions devices ask.
func (s *Server) dashboard(w http.ResponseWriter, r *http.Request) {
	ctx, o := r.Context(), owner(r)
	d, err := s.Devices.Dashboard(ctx, o.ID)
	if err != nil {
		s.error(w, r, err)
		return
	}
	p := views.DashboardPage{Page: s.page(r, "/", "Dashboard"), D: d, Charts: dailyCharts(d.Days)}
	if d.Errors > 0 {
		p.Errors, _, err = s.Devices.List(ctx, o.ID, app.DeviceFilter{Level: app.LevelError, Sort: "last_checkin", PerPage: 10})
		if err != nil {
			s.error(w, r, err)
			return
		}
	}
	if p.Notifications, err = s.Devices.Notifications(ctx, o.ID, true); err != nil {
		s.error(w, r, err)
		return
	}
	if p.Transfers, err = s.transfersPanel(r, "/", 0); err != nil {
		s.error(w, r, err)
		return
	}
	p.Transfers.Outgoing = nil // the device list shows those
	s.render(w, r, http.StatusOK, views.DashboardView(p))
}

// dailyCharts turns the daily series into the dashboard's five charts.
func dailyCharts(days []app.DailyStat) []views.Chart {
	series := []struct {
		title, class string
		value        func(app.DailyStat) int64
		noun         string
	}{
		{"Check-ins", "", func(d app.DailyStat) int64 { return d.Checkins }, "check-in"},
		{"New devices", "", func(d app.DailyStat) int64 { return d.NewDevices }, "new device"},
		{"Active devices", "ok", func(d app.DailyStat) int64 { return d.Active }, "active device"},
		{"Devices in error", "error", func(d app.DailyStat) int64 { return d.Errors }, "device in error"},
		{"Devices updated", "info", func(d app.DailyStat) int64 { return d.Updated }, "updated device"},
	}
	out := make([]views.Chart, 0, len(series))
	for _, s := range series {
		c := views.Chart{Title: s.title, Class: s.class, LabelEvery: 7}
		for _, d := range days {
			n := s.value(d)
			c.Bars = append(c.Bars, views.Bar{Label: d.Day.Format("Jan 2"), Value: float64(n),
				Tip: d.Day.Format("Mon, Jan 2") + ": " + plural(int(n), s.noun)})
		}
		out = append(out, c)
	}
	return out
}

// answerNotification sends the owner's answer to a device's question.
func (s *Server) answerNotification(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("notification"), 10, 64)
	if err != nil || id <= 0 {
		s.error(w, r, app.Errorf(app.ENOTFOUND, "Notification not found."))
		return
	}
	err = s.Devices.Answer(r.Context(), owner(r).ID, id, strings.TrimSpace(r.PostFormValue("response")))
	switch app.ErrorCode(err) {
	case "":
		redirect(w, r, "/", "ok", "Answer sent to the device.")
	case app.EINVALID, app.ECONFLICT:
		redirect(w, r, "/", "error", app.ErrorMessage(err))
	default:
		s.error(w, r, err)
	}
}
