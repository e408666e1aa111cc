package web

import (
	"net/http"
	"strconv"
	"strings"

	"thinx/app"
	"thinx/views"
)

// transfersPanel sorts the owner's transfers into those to answer, those
// waiting for the other side and at most closed recent ones.
func (s *Server) transfersPanel(r *http.Request, back string, closed int) (views.TransfersPanel, error) {
	o := owner(r)
	p := views.TransfersPanel{Back: back}
	ts, err := s.Devices.Transfers(r.Context(), o.ID)
	if err != nil {
		return p, err
	}
	for _, t := range ts {
		switch {
		case t.State == app.TransferPending && t.ToOwnerID == o.ID:
			p.Incoming = append(p.Incoming, t)
		case t.State == app.TransferPending:
			p.Outgoing = append(p.Outgoing, t)
		case len(p.Closed) < closed:
			p.Closed = append(p.Closed, t)
		}
	}
	return p, nil
}

// transferBack is where an answer to a transfer returns: the page it came
// from, on this site.
func transferBack(r *http.Request) string {
	if b := safeNext(r.PostFormValue("back")); b != "/" || r.PostFormValue("back") == "/" {
		return b
	}
	return "/devices"
}

func (s *Server) acceptTransfer(w http.ResponseWriter, r *http.Request) {
	var udids []string
	if r.PostFormValue("all") == "" {
		udids = r.PostForm["udid"]
		if len(udids) == 0 {
			s.error(w, r, app.Errorf(app.EINVALID, "Choose at least one device, or accept all."))
			return
		}
	}
	t, err := s.Devices.AcceptTransfer(r.Context(), owner(r).ID, r.PathValue("transfer"), udids, s.clientIP(r))
	if err != nil {
		s.error(w, r, err)
		return
	}
	n := 0
	for _, d := range t.Devices {
		if d.State == app.TransferAccepted {
			n++
		}
	}
	redirect(w, r, transferBack(r), "ok", "Accepted "+plural(n, "device")+" from "+t.FromEmail+".")
}

// closeTransfer declines a received transfer or cancels a sent one.
func (s *Server) closeTransfer(w http.ResponseWriter, r *http.Request) {
	id, ctx, o, ip := r.PathValue("transfer"), r.Context(), owner(r), s.clientIP(r)
	var err error
	msg := "Transfer declined: the devices stay with the sender."
	if strings.HasSuffix(r.URL.Path, "/cancel") {
		err, msg = s.Devices.CancelTransfer(ctx, o.ID, id, ip), "Transfer cancelled: the devices stay yours."
	} else {
		err = s.Devices.DeclineTransfer(ctx, o.ID, id, ip)
	}
	if err != nil {
		s.error(w, r, err)
		return
	}
	redirect(w, r, transferBack(r), "ok", msg)
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}
