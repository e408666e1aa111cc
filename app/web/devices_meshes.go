package web

import (
	"net/http"
	"strings"

	"thinx/app"
	"thinx/views"
)

func (s *Server) meshes(w http.ResponseWriter, r *http.Request) {
	ms, err := s.Devices.Meshes(r.Context(), owner(r).ID)
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, views.MeshesView(views.MeshesPage{Page: s.page(r, "/devices", "Meshes"), Meshes: ms}))
}

// meshDone answers a mesh form: mistakes go back as a message, anything
// else is an error page.
func (s *Server) meshDone(w http.ResponseWriter, r *http.Request, back string, err error, ok string) {
	switch {
	case err == nil:
		redirect(w, r, back, "ok", ok)
	case app.ErrorCode(err) == app.EINVALID || app.ErrorCode(err) == app.ECONFLICT:
		redirect(w, r, back, "error", app.ErrorMessage(err))
	default:
		s.error(w, r, err)
	}
}

func (s *Server) createMesh(w http.ResponseWriter, r *http.Request) {
	m, err := s.Devices.CreateMesh(r.Context(), owner(r).ID, strings.TrimSpace(r.PostFormValue("id")), r.PostFormValue("alias"), s.clientIP(r))
	msg := ""
	if err == nil {
		msg = "Mesh " + m.Alias + " created: its topic is /" + owner(r).ID + "/" + m.ID + "."
	}
	s.meshDone(w, r, "/devices/meshes", err, msg)
}

func (s *Server) renameMesh(w http.ResponseWriter, r *http.Request) {
	err := s.Devices.RenameMesh(r.Context(), owner(r).ID, r.PathValue("mesh"), r.PostFormValue("alias"), s.clientIP(r))
	s.meshDone(w, r, "/devices/meshes", err, "Mesh renamed.")
}

func (s *Server) deleteMesh(w http.ResponseWriter, r *http.Request) {
	err := s.Devices.DeleteMesh(r.Context(), owner(r).ID, r.PathValue("mesh"), s.clientIP(r))
	s.meshDone(w, r, "/devices/meshes", err, "Mesh deleted; its devices stay.")
}

// attachMesh adds devices to a mesh or takes them out (…/detach).
func (s *Server) attachMesh(w http.ResponseWriter, r *http.Request) {
	ctx, o, ip := r.Context(), owner(r), s.clientIP(r)
	mesh, udids := r.PostFormValue("mesh"), normUDIDs(r.PostForm["udid"])
	back := safeNext(r.PostFormValue("back"))
	if back == "/" {
		back = "/devices/meshes"
	}
	if len(udids) == 0 {
		redirect(w, r, back, "error", "Choose at least one device.")
		return
	}
	var err error
	msg := "Added to the mesh."
	if strings.HasSuffix(r.URL.Path, "/detach") {
		err, msg = s.Devices.DetachMesh(ctx, o.ID, mesh, udids, ip), "Removed from the mesh."
	} else {
		err = s.Devices.AttachMesh(ctx, o.ID, mesh, udids, ip)
	}
	s.meshDone(w, r, back, err, msg)
}
