package web

import "net/http"

// deviceRoutes registers the device pages, the dashboard, the owner
// environment and the owner API. Every POST reads its form first (through
// s.form), so an oversized body is refused before anything else happens.
func (s *Server) deviceRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /{$}", s.requireOwner(s.dashboard))
	mux.HandleFunc("POST /notifications/{notification}/answer", s.requireOwner(s.form(s.answerNotification)))

	mux.HandleFunc("GET /devices", s.requireOwner(s.devices))
	mux.HandleFunc("GET /devices/events", s.requireOwner(s.deviceEvents))
	mux.HandleFunc("GET /devices/bulk", s.requireOwner(s.bulkAgain))
	mux.HandleFunc("POST /devices/bulk", s.requireOwner(s.form(s.bulk)))
	mux.HandleFunc("GET /devices/{udid}", s.requireOwner(s.device))
	mux.HandleFunc("POST /devices/{udid}", s.requireOwner(s.form(s.saveDevice)))
	mux.HandleFunc("POST /devices/{udid}/env", s.requireOwner(s.form(s.saveDeviceEnv)))
	mux.HandleFunc("POST /devices/{udid}/config", s.requireOwner(s.form(s.pushDeviceConfig)))
	mux.HandleFunc("POST /devices/{udid}/run", s.requireOwner(s.form(s.runTransformers)))
	mux.HandleFunc("POST /devices/{udid}/delete", s.requireOwner(s.form(s.deleteDevice)))

	mux.HandleFunc("GET /devices/meshes", s.requireOwner(s.meshes))
	mux.HandleFunc("POST /devices/meshes", s.requireOwner(s.form(s.createMesh)))
	mux.HandleFunc("POST /devices/meshes/attach", s.requireOwner(s.form(s.attachMesh)))
	mux.HandleFunc("POST /devices/meshes/detach", s.requireOwner(s.form(s.attachMesh)))
	mux.HandleFunc("POST /devices/meshes/{mesh}/rename", s.requireOwner(s.form(s.renameMesh)))
	mux.HandleFunc("POST /devices/meshes/{mesh}/delete", s.requireOwner(s.form(s.deleteMesh)))

	mux.HandleFunc("POST /devices/transfers/{transfer}/accept", s.requireOwner(s.form(s.acceptTransfer)))
	mux.HandleFunc("POST /devices/transfers/{transfer}/decline", s.requireOwner(s.form(s.closeTransfer)))
	mux.HandleFunc("POST /devices/transfers/{transfer}/cancel", s.requireOwner(s.form(s.closeTransfer)))

	mux.HandleFunc("GET /environment", s.requireOwner(s.environment))
	mux.HandleFunc("POST /environment", s.requireOwner(s.form(s.saveEnvironment)))

	mux.HandleFunc("GET /api", s.requireOwner(s.apiPage))
	mux.HandleFunc("GET /api/v1/openapi.yaml", s.openAPI)
	mux.HandleFunc("GET /api/v1/devices", s.apiAuth(s.apiDevices))
	mux.HandleFunc("GET /api/v1/devices/{udid}", s.apiAuth(s.apiDevice))
	mux.HandleFunc("PATCH /api/v1/devices/{udid}", s.apiAuth(s.apiPatchDevice))
	mux.HandleFunc("DELETE /api/v1/devices/{udid}", s.apiAuth(s.apiDeleteDevice))
	mux.HandleFunc("POST /api/v1/devices/{udid}/configuration", s.apiAuth(s.apiPushConfig))
}

// form parses a urlencoded form of at most maxFormBytes before the handler
// runs.
func (s *Server) form(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := parseForm(w, r); err != nil {
			s.error(w, r, err)
			return
		}
		next(w, r)
	}
}
