package web

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"thinx/app"
	"thinx/views"
)

// historyKept is how many check-ins the device page shows.
const historyKept = 100

// pathUDID reads {udid}; a malformed one is "not found", like another
// owner's device, so the answer says nothing about what exists.
func pathUDID(r *http.Request) (string, error) {
	u := strings.ToLower(r.PathValue("udid"))
	if !app.IsUDID(u) {
		return "", app.Errorf(app.ENOTFOUND, "Device not found.")
	}
	return u, nil
}

func (s *Server) device(w http.ResponseWriter, r *http.Request) {
	p, err := s.devicePage(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, views.DeviceView(p))
}

// devicePage loads everything the device page shows.
func (s *Server) devicePage(r *http.Request) (views.DevicePage, error) {
	ctx, o := r.Context(), owner(r)
	p := views.DevicePage{Page: s.page(r, "/devices", "Device")}
	udid, err := pathUDID(r)
	if err != nil {
		return p, err
	}
	if p.D, err = s.Devices.Get(ctx, o.ID, udid); err != nil {
		return p, err
	}
	p.Title, p.Stale, p.Form = p.D.Alias, s.Devices.Stale(p.D), views.FormOf(p.D)
	if p.Checkins, err = s.Devices.Checkins(ctx, o.ID, udid, historyKept); err != nil {
		return p, err
	}
	p.Signal, p.PerHour = signalChart(p.Checkins), perHourChart(p.Checkins, s.DB.Now())
	if p.Transformers, err = s.DB.DeviceTransformers(ctx, o.ID, udid); err != nil {
		return p, err
	}
	if p.Pushes, err = s.Devices.ConfigPushes(ctx, o.ID, udid); err != nil {
		return p, err
	}
	if p.OwnerEnv, err = s.Devices.OwnerEnv(ctx, o.ID); err != nil {
		return p, err
	}
	p.Meshes, err = s.Devices.Meshes(ctx, o.ID)
	return p, err
}

// signalChart draws the RSSI of the check-ins, oldest first.
func signalChart(cs []*app.Checkin) views.Chart {
	c := views.Chart{Title: "Signal strength (RSSI, dBm) of the last check-ins", Unit: " dBm", Floor: -100}
	for i := len(cs) - 1; i >= 0; i-- {
		ck := cs[i]
		if ck.RSSI == 0 {
			continue // not reported
		}
		c.Bars = append(c.Bars, views.Bar{Label: ck.At.UTC().Format("15:04"), Value: float64(ck.RSSI),
			Tip: views.Exact(ck.At) + ": " + strconv.Itoa(ck.RSSI) + " dBm"})
	}
	return c
}

// perHourChart counts check-ins in each of the last 24 hours.
func perHourChart(cs []*app.Checkin, now time.Time) views.Chart {
	c := views.Chart{Title: "Check-ins per hour, last 24 hours", LabelEvery: 4}
	end := now.UTC().Truncate(time.Hour).Add(time.Hour)
	counts := make([]int, 24)
	for _, ck := range cs {
		h := int(end.Sub(ck.At) / time.Hour)
		if h >= 0 && h < 24 {
			counts[23-h]++
		}
	}
	if len(cs) == 0 {
		return c
	}
	for i, n := range counts {
		from := end.Add(time.Duration(i-24) * time.Hour)
		c.Bars = append(c.Bars, views.Bar{Label: from.Format("15h"), Value: float64(n),
			Tip: from.Format("Jan 2, 15:00") + "–" + from.Add(time.Hour).Format("15:00") + " UTC: " + plural(n, "check-in")})
	}
	return c
}
