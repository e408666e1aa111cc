package web

import (
	"net/http"
	"strconv"

	"thinx/app"
	"thinx/views"
)

func (s *Server) keysPage(r *http.Request) (views.KeysPage, error) {
	keys, err := s.Auth.Keys(r.Context(), owner(r).ID)
	return views.KeysPage{Page: s.page(r, "/keys", "API keys"), Keys: keys}, err
}

func (s *Server) keys(w http.ResponseWriter, r *http.Request) {
	p, err := s.keysPage(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, views.KeysPageView(p))
}

// createKey shows the new key in the response itself (never in a redirect
// or cookie), so it exists only on this one page.
func (s *Server) createKey(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(w, r); err != nil {
		s.error(w, r, err)
		return
	}
	key, k, err := s.Auth.CreateKey(r.Context(), owner(r).ID, r.PostFormValue("alias"), s.clientIP(r))
	if err != nil {
		s.error(w, r, err)
		return
	}
	p, err := s.keysPage(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	p.NewKey, p.Alias = key, k.Alias
	p.Flash = views.Flash{Kind: "ok", Text: "API key created."}
	s.render(w, r, http.StatusOK, views.KeysPageView(p))
}

func (s *Server) revokeKey(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		s.error(w, r, app.Errorf(app.ENOTFOUND, "API key not found."))
		return
	}
	if err := s.Auth.RevokeKey(r.Context(), owner(r).ID, id, s.clientIP(r)); err != nil {
		s.error(w, r, err)
		return
	}
	redirect(w, r, "/keys", "ok", "API key revoked. Devices using it are refused from now on.")
}

// keysJSON lists keys for scripts: alias, last 4 characters and times only.
func (s *Server) keysJSON(w http.ResponseWriter, r *http.Request) {
	keys, err := s.Auth.Keys(r.Context(), owner(r).ID)
	if err != nil {
		s.error(w, r, err)
		return
	}
	type row struct {
		ID       int64  `json:"id"`
		Alias    string `json:"alias"`
		Last4    string `json:"last4"`
		Created  string `json:"created"`
		LastUsed string `json:"last_used,omitempty"`
		Revoked  bool   `json:"revoked"`
	}
	out := make([]row, 0, len(keys))
	for _, k := range keys {
		out = append(out, row{k.ID, k.Alias, k.Last4, views.Rel(k.CreatedAt), views.Rel(k.LastUsedAt), k.Revoked()})
	}
	writeJSON(w, http.StatusOK, map[string]any{"keys": out})
}
