package web

import (
	"net/http"
	"strconv"
	"strings"

	"thinx/app"
	"thinx/app/transform"
	"thinx/views"
)

func (s *Server) transformerRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /transformers", s.requireOwner(s.transformers))
	mux.HandleFunc("GET /transformers/new", s.requireOwner(s.transformerEdit))
	mux.HandleFunc("POST /transformers/new", s.requireOwner(s.transformerPost))
	mux.HandleFunc("GET /transformers/{transformer}", s.requireOwner(s.transformerEdit))
	mux.HandleFunc("POST /transformers/{transformer}", s.requireOwner(s.transformerPost))
	mux.HandleFunc("POST /transformers/{transformer}/delete", s.requireOwner(s.transformerDelete))
	mux.HandleFunc("POST /transformers/{transformer}/attach", s.requireOwner(s.transformerAttach))
	mux.HandleFunc("POST /transformers/{transformer}/detach", s.requireOwner(s.transformerAttach))
}

func examples() []views.TransformerExample {
	var out []views.TransformerExample
	for _, e := range transform.Examples() {
		out = append(out, views.TransformerExample{Name: e.Name, Title: e.Title, Source: e.Source})
	}
	return out
}

func (s *Server) transformers(w http.ResponseWriter, r *http.Request) {
	items, err := s.DB.Transformers(r.Context(), owner(r).ID)
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, views.TransformersView(views.TransformersPage{Page: s.page(r, "/transformers", "Transformers"), Items: items, Examples: examples()}))
}

// editPage loads the editor's model: the transformer (unless new), its
// versions and devices, and the owner's devices for "try" and "attach".
func (s *Server) editPage(r *http.Request) (views.TransformerEditPage, error) {
	ctx, o := r.Context(), owner(r)
	p := views.TransformerEditPage{Page: s.page(r, "/transformers", "Transformer"), Action: "/transformers/new"}
	var err error
	if p.Devices, err = s.DB.DeviceChoices(ctx, o.ID, 500); err != nil {
		return p, err
	}
	id := r.PathValue("transformer")
	if id == "" {
		p.Title = "New transformer"
		return p, nil
	}
	if p.T, err = s.DB.Transformer(ctx, o.ID, id); err != nil {
		return p, err
	}
	p.Title, p.Alias, p.Source, p.Action = p.T.Alias, p.T.Alias, p.T.Source, "/transformers/"+id
	if p.Versions, err = s.DB.TransformerVersions(ctx, o.ID, id); err != nil {
		return p, err
	}
	if p.Running, err = s.DB.TransformerDevices(ctx, o.ID, id); err != nil {
		return p, err
	}
	running := map[string]bool{}
	for _, d := range p.Running {
		running[d[0]] = true
	}
	for _, d := range p.Devices {
		if !running[d[0]] {
			p.Attachable = append(p.Attachable, d)
		}
	}
	return p, nil
}

func (s *Server) transformerEdit(w http.ResponseWriter, r *http.Request) {
	p, err := s.editPage(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	if p.T == nil {
		ex := r.URL.Query().Get("example")
		for _, e := range examples() {
			if e.Name == ex || (ex == "" && e.Name == "battery") {
				p.Alias, p.Source = e.Title, e.Source
			}
		}
	} else if v, err := strconv.Atoi(r.URL.Query().Get("version")); err == nil {
		for _, ver := range p.Versions {
			if ver.Version == v {
				p.Source = ver.Source
				p.Flash = views.Flash{Kind: "info", Text: "Showing version " + strconv.Itoa(v) + ". Save to make it the current version."}
			}
		}
	}
	s.render(w, r, http.StatusOK, views.TransformerEditView(p))
}

// transformerPost handles the editor's three buttons: check and try answer
// in place (a partial for htmx, the whole page otherwise); save stores a
// new version.
func (s *Server) transformerPost(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(w, r); err != nil {
		s.error(w, r, err)
		return
	}
	p, err := s.editPage(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	o := owner(r)
	p.Alias, p.Source = r.PostFormValue("alias"), strings.ReplaceAll(r.PostFormValue("source"), "\r\n", "\n")
	p.TryStatus, p.TryDevice = r.PostFormValue("try_status"), r.PostFormValue("try_device")
	status := http.StatusOK
	switch r.PostFormValue("action") {
	case "save":
		id := r.PathValue("transformer")
		t, err := s.Transformers.Save(r.Context(), o.ID, id, p.Alias, p.Source, s.clientIP(r))
		if err == nil {
			redirect(w, r, "/transformers/"+t.ID, "ok", "Saved as version "+strconv.Itoa(t.Version)+".")
			return
		}
		status = statusFor(err)
		if app.ErrorCode(err) != app.EINVALID && app.ErrorCode(err) != app.ENOTFOUND {
			s.error(w, r, err)
			return
		}
		p.Result = &views.TransformResult{Action: "save", Problems: strings.Split(app.ErrorMessage(err), "\n")}
	case "try":
		dev := transform.Device{Alias: "example device", UDID: "00000000-0000-0000-0000-000000000000", Platform: "platformio:esp8266", Version: "1.0.0"}
		if p.TryDevice != "" {
			if dev, err = s.Transformers.DeviceView(r.Context(), o.ID, p.TryDevice); err != nil {
				s.error(w, r, err)
				return
			}
		}
		res := s.Transformers.Try(r.Context(), o.ID, p.Source, p.TryStatus, dev)
		p.Result = &views.TransformResult{Action: "try", OK: res.Error == "" && len(res.Problems) == 0, Output: res.Output,
			Error: res.Error, Duration: res.Duration.String()}
		for _, pr := range res.Problems {
			p.Result.Problems = append(p.Result.Problems, pr.String())
		}
	default:
		p.Result = &views.TransformResult{Action: "check", OK: true}
		for _, pr := range transform.Check(p.Source) {
			p.Result.OK = false
			p.Result.Problems = append(p.Result.Problems, pr.String())
		}
	}
	s.render(w, r, status, views.TransformerEditView(p))
}

func (s *Server) transformerDelete(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(w, r); err != nil {
		s.error(w, r, err)
		return
	}
	if err := s.Transformers.Delete(r.Context(), owner(r).ID, r.PathValue("transformer"), s.clientIP(r)); err != nil {
		s.error(w, r, err)
		return
	}
	redirect(w, r, "/transformers", "ok", "Transformer deleted.")
}

func (s *Server) transformerAttach(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(w, r); err != nil {
		s.error(w, r, err)
		return
	}
	id, detach := r.PathValue("transformer"), strings.HasSuffix(r.URL.Path, "/detach")
	if err := s.Transformers.AttachOne(r.Context(), owner(r).ID, r.PostFormValue("udid"), id, detach, s.clientIP(r)); err != nil {
		s.error(w, r, err)
		return
	}
	msg := "Attached: the device runs it from its next status."
	if detach {
		msg = "Removed from the device."
	}
	redirect(w, r, "/transformers/"+id, "ok", msg)
}
