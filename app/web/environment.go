package web

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"thinx/app"
	"thinx/views"
)

func (s *Server) environment(w http.ResponseWriter, r *http.Request) {
	vars, err := s.Devices.OwnerEnv(r.Context(), owner(r).ID)
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, views.EnvView(views.EnvPage{Page: s.page(r, "/environment", "Environment"), Vars: vars}))
}

func (s *Server) saveEnvironment(w http.ResponseWriter, r *http.Request) {
	vars, err := envForm(r.PostForm)
	if err == nil {
		err = s.Devices.SetOwnerEnv(r.Context(), owner(r).ID, vars, s.clientIP(r))
	}
	if app.ErrorCode(err) == app.EINVALID {
		redirect(w, r, "/environment", "error", app.ErrorMessage(err))
		return
	} else if err != nil {
		s.error(w, r, err)
		return
	}
	redirect(w, r, "/environment", "ok", "Variables saved.")
}

// envForm reads the rows env.N.name, env.N.value, env.N.secret and
// env.N.remove in the order of N. Rows without a name and rows marked for
// removal are left out; the list replaces the stored one.
func envForm(f url.Values) ([]app.EnvVar, error) {
	var rows []int
	for k := range f {
		rest, ok := strings.CutPrefix(k, "env.")
		if !ok {
			continue
		}
		n, field, _ := strings.Cut(rest, ".")
		i, err := strconv.Atoi(n)
		if err != nil || i < 0 || i > 10*app.MaxEnvVars {
			return nil, app.Errorf(app.EINVALID, "The variables form could not be read.")
		}
		if field == "name" {
			rows = append(rows, i)
		}
	}
	slices.Sort(rows)
	vars := []app.EnvVar{}
	for _, i := range rows {
		pre := "env." + strconv.Itoa(i) + "."
		name, value := strings.TrimSpace(f.Get(pre+"name")), f.Get(pre+"value")
		if f.Get(pre+"remove") != "" {
			continue
		}
		if name == "" {
			if value != "" {
				return nil, app.Errorf(app.EINVALID, "A variable with a value needs a name.")
			}
			continue
		}
		vars = append(vars, app.EnvVar{Name: name, Value: value, Secret: f.Get(pre+"secret") != ""})
	}
	return vars, nil
}

// configForm reads a configuration push: owner_env and device_env name
// variables (ticked boxes, or names separated by commas) and values holds
// KEY=value lines.
func configForm(f url.Values) (app.ConfigRequest, error) {
	var req app.ConfigRequest
	for _, v := range f["owner_env"] {
		req.OwnerEnv = append(req.OwnerEnv, splitList(v)...)
	}
	for _, v := range f["device_env"] {
		req.DeviceEnv = append(req.DeviceEnv, splitList(v)...)
	}
	for n, line := range strings.Split(strings.ReplaceAll(f.Get("values"), "\r\n", "\n"), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return req, app.Errorf(app.EINVALID, "Line %d of the values is not KEY=value.", n+1)
		}
		if req.Values == nil {
			req.Values = map[string]string{}
		}
		if _, dup := req.Values[k]; dup {
			return req, app.Errorf(app.EINVALID, "%s is listed twice in the values.", k)
		}
		req.Values[k] = v
	}
	return req, nil
}
