package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"thinx/app"
	"thinx/views"
)

// deviceUpdate reads the edit form. Every field is on the form, so an
// unticked box means "off" and an empty location means "unchanged".
func deviceUpdate(f url.Values) (app.DeviceUpdate, views.DeviceForm, error) {
	v := views.DeviceForm{Alias: f.Get("alias"), Description: f.Get("description"), Category: f.Get("category"),
		Icon: f.Get("icon"), Tags: f.Get("tags"), TimezoneAbbr: strings.TrimSpace(f.Get("timezone_abbr")),
		TimezoneOffset: strings.TrimSpace(f.Get("timezone_offset")), Lat: strings.TrimSpace(f.Get("lat")),
		Lon: strings.TrimSpace(f.Get("lon")), NoCategory: f.Get("no_category") != "", AutoUpdate: f.Get("auto_update") != ""}
	category := v.Category
	if v.NoCategory {
		category = ""
	}
	tags := splitList(v.Tags)
	u := app.DeviceUpdate{Alias: &v.Alias, Description: &v.Description, Category: &category, Icon: &v.Icon,
		Tags: &tags, AutoUpdate: &v.AutoUpdate, TimezoneAbbr: &v.TimezoneAbbr}
	if !knownIcon(v.Icon) {
		return u, v, app.Errorf(app.EINVALID, "Choose one of the icons offered.")
	}
	if v.TimezoneOffset != "" {
		off, err := strconv.ParseFloat(v.TimezoneOffset, 64)
		if err != nil {
			return u, v, app.Errorf(app.EINVALID, "The UTC offset must be a number of hours, like 1 or -5.5.")
		}
		u.TimezoneOffset = &off
	}
	switch {
	case v.Lat == "" && v.Lon == "":
	case v.Lat == "" || v.Lon == "":
		return u, v, app.Errorf(app.EINVALID, "Give both latitude and longitude, or neither.")
	default:
		lat, err1 := strconv.ParseFloat(v.Lat, 64)
		lon, err2 := strconv.ParseFloat(v.Lon, 64)
		if err1 != nil || err2 != nil {
			return u, v, app.Errorf(app.EINVALID, "Latitude and longitude must be decimal degrees, like 50.08 and 14.42.")
		}
		u.Lat, u.Lon = &lat, &lon
	}
	return u, v, nil
}

func knownIcon(name string) bool {
	for _, i := range views.DeviceIcons {
		if i.Name == name {
			return true
		}
	}
	return false
}

// splitList reads "a, b,,c" as [a b c].
func splitList(s string) []string {
	out := []string{}
	for _, t := range strings.Split(s, ",") {
		if t = strings.TrimSpace(t); t != "" {
			out = append(out, t)
		}
	}
	return out
}

func (s *Server) saveDevice(w http.ResponseWriter, r *http.Request) {
	udid, err := pathUDID(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	u, form, err := deviceUpdate(r.PostForm)
	if err == nil {
		_, err = s.Devices.Update(r.Context(), owner(r).ID, udid, u, s.clientIP(r))
	}
	if err == nil {
		redirect(w, r, "/devices/"+udid, "ok", "Saved.")
		return
	}
	if app.ErrorCode(err) != app.EINVALID {
		s.error(w, r, err)
		return
	}
	// Show the form again with what was typed and what is wrong with it.
	p, perr := s.devicePage(r)
	if perr != nil {
		s.error(w, r, perr)
		return
	}
	p.Form, p.Flash = form, views.Flash{Kind: "error", Text: app.ErrorMessage(err)}
	s.render(w, r, http.StatusUnprocessableEntity, views.DeviceView(p))
}

func (s *Server) saveDeviceEnv(w http.ResponseWriter, r *http.Request) {
	udid, err := pathUDID(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	vars, err := envForm(r.PostForm)
	if err == nil {
		_, err = s.Devices.Update(r.Context(), owner(r).ID, udid, app.DeviceUpdate{Env: &vars}, s.clientIP(r))
	}
	if app.ErrorCode(err) == app.EINVALID {
		redirect(w, r, "/devices/"+udid, "error", app.ErrorMessage(err))
		return
	} else if err != nil {
		s.error(w, r, err)
		return
	}
	redirect(w, r, "/devices/"+udid, "ok", "Variables saved.")
}

// pushDeviceConfig pushes to one device. The device is looked up first, so
// another owner's UDID is refused without writing anything.
func (s *Server) pushDeviceConfig(w http.ResponseWriter, r *http.Request) {
	udid, err := pathUDID(r)
	if err == nil {
		_, err = s.Devices.Get(r.Context(), owner(r).ID, udid)
	}
	if err != nil {
		s.error(w, r, err)
		return
	}
	back := "/devices/" + udid
	req, err := configForm(r.PostForm)
	var res app.BulkResult
	if err == nil {
		res, err = s.Devices.PushConfig(r.Context(), owner(r).ID, []string{udid}, req, s.clientIP(r))
	}
	switch {
	case app.ErrorCode(err) == app.EINVALID:
		redirect(w, r, back, "error", app.ErrorMessage(err))
	case err != nil:
		s.error(w, r, err)
	case len(res.Items) != 1:
		s.error(w, r, app.Errorf(app.EINTERNAL, "push answered %d items", len(res.Items)))
	case !res.Items[0].OK:
		redirect(w, r, back, "error", "Not pushed: "+res.Items[0].Message)
	default:
		redirect(w, r, back, "ok", "Configuration "+res.Items[0].Message+".")
	}
}

// runTransformers runs the device's transformers again on its raw status.
func (s *Server) runTransformers(w http.ResponseWriter, r *http.Request) {
	udid, err := pathUDID(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	ctx, o := r.Context(), owner(r)
	d, err := s.Devices.Get(ctx, o.ID, udid)
	if err == nil {
		err = s.Devices.Status(ctx, o.ID, udid, d.Status)
	}
	if err != nil {
		s.error(w, r, err)
		return
	}
	redirect(w, r, "/devices/"+udid, "ok", "Transformers ran on the last status.")
}

func (s *Server) deleteDevice(w http.ResponseWriter, r *http.Request) {
	udid, err := pathUDID(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	if err := s.Devices.Delete(r.Context(), owner(r).ID, udid, s.clientIP(r)); err != nil {
		s.error(w, r, err)
		return
	}
	redirect(w, r, "/devices", "ok", "Device revoked: its UDID is refused from now on.")
}
