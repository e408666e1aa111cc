package web

import (
	"errors"
	"fmt"
	"io"
	"net/http"

	"thinx/app"
)

// devicePatch is the JSON body of PATCH /api/v1/devices/{udid}: the
// editable fields, each optional.
type devicePatch struct {
	Alias          *string       `json:"alias"`
	Description    *string       `json:"description"`
	Category       *string       `json:"category"`
	Icon           *string       `json:"icon"`
	Tags           *[]string     `json:"tags"`
	AutoUpdate     *bool         `json:"auto_update"`
	TimezoneAbbr   *string       `json:"timezone_abbr"`
	TimezoneOffset *float64      `json:"timezone_offset"`
	Lat            *float64      `json:"lat"`
	Lon            *float64      `json:"lon"`
	Env            *[]app.EnvVar `json:"env"`
}

// configBody is the JSON body of a configuration push.
type configBody struct {
	OwnerEnv  []string          `json:"owner_env"`
	DeviceEnv []string          `json:"device_env"`
	Values    map[string]string `json:"values"`
}

// bulkJSON is a BulkResult with the field names scripts expect.
type bulkJSON struct {
	OK     int            `json:"ok"`
	Failed int            `json:"failed"`
	Items  []app.BulkItem `json:"items"`
}

func (s *Server) apiDevices(w http.ResponseWriter, r *http.Request) {
	f, _, err := deviceFilter(r.URL.Query())
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	list, total, err := s.Devices.List(r.Context(), owner(r).ID, f)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	if list == nil {
		list = []*app.Device{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"success": true, "devices": list, "total": total, "page": f.Page, "per_page": f.PerPage})
}

func (s *Server) apiDevice(w http.ResponseWriter, r *http.Request) {
	udid, err := pathUDID(r)
	var d *app.Device
	if err == nil {
		d, err = s.Devices.Get(r.Context(), owner(r).ID, udid)
	}
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"success": true, "device": d})
}

func (s *Server) apiPatchDevice(w http.ResponseWriter, r *http.Request) {
	udid, err := pathUDID(r)
	var body devicePatch
	if err == nil {
		err = readJSON(w, r, &body)
	}
	if err == nil && (body.Lat == nil) != (body.Lon == nil) {
		err = app.Errorf(app.EINVALID, "Send lat and lon together.")
	}
	var d *app.Device
	if err == nil {
		u := app.DeviceUpdate{Alias: body.Alias, Description: body.Description, Category: body.Category, Icon: body.Icon,
			Tags: body.Tags, AutoUpdate: body.AutoUpdate, TimezoneAbbr: body.TimezoneAbbr, TimezoneOffset: body.TimezoneOffset,
			Lat: body.Lat, Lon: body.Lon, Env: body.Env}
		d, err = s.Devices.Update(r.Context(), owner(r).ID, udid, u, s.clientIP(r))
	}
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"success": true, "device": d})
}

func (s *Server) apiDeleteDevice(w http.ResponseWriter, r *http.Request) {
	udid, err := pathUDID(r)
	if err == nil {
		err = discardBody(w, r)
	}
	if err == nil {
		err = s.Devices.Delete(r.Context(), owner(r).ID, udid, s.clientIP(r))
	}
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"success": true})
}

// apiPushConfig pushes to one device; another owner's UDID is refused
// before anything is queued or recorded.
func (s *Server) apiPushConfig(w http.ResponseWriter, r *http.Request) {
	ctx, o := r.Context(), owner(r)
	udid, err := pathUDID(r)
	if err == nil {
		_, err = s.Devices.Get(ctx, o.ID, udid)
	}
	var body configBody
	if err == nil {
		err = readJSON(w, r, &body)
	}
	var res app.BulkResult
	if err == nil {
		req := app.ConfigRequest{OwnerEnv: body.OwnerEnv, DeviceEnv: body.DeviceEnv, Values: body.Values}
		res, err = s.Devices.PushConfig(ctx, o.ID, []string{udid}, req, s.clientIP(r))
	}
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	status := http.StatusOK
	if res.Failed > 0 {
		status = http.StatusUnprocessableEntity
	}
	writeJSON(w, status, map[string]any{"success": res.Failed == 0, "result": bulkJSON{OK: res.OK, Failed: res.Failed, Items: res.Items}})
}

// discardBody reads a body nobody needs, refusing one over the limit like
// every other API request.
func discardBody(w http.ResponseWriter, r *http.Request) error {
	_, err := io.Copy(io.Discard, http.MaxBytesReader(w, r.Body, maxAPIBody))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return &apiError{http.StatusRequestEntityTooLarge, fmt.Sprintf("The body is larger than %d KB.", maxAPIBody>>10)}
	}
	return err
}
