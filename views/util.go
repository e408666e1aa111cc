package views

import (
	"strconv"
	"time"

	"thinx/app"
)

// statusTitle is the heading of an error page for an HTTP status.
func statusTitle(status int) string {
	switch status {
	case 404:
		return "Not found"
	case 403:
		return "Not allowed"
	case 429:
		return "Too many attempts"
	case 400, 422:
		return "That did not work"
	case 413:
		return "Too large"
	}
	return "Something went wrong"
}

func itoa(n int) string { return strconv.Itoa(n) }

// auditClass colours the kinds that deserve attention.
func auditClass(kind string) string {
	switch kind {
	case "login.failure", "apikey.used_after_revoke", "owner.disabled":
		return "error"
	case "apikey.revoked", "sessions.ended", "password.reset":
		return "warning"
	case "login.success", "apikey.created", "setup", "invite.accepted":
		return "ok"
	}
	return ""
}

func linkValidity(mail bool) string {
	if mail {
		return " and was also e-mailed"
	}
	return ""
}

// StatusBadge is the badge class of a status: its most severe marker.
func StatusBadge(s string) string { return app.StatusLevel(s) }

// StatusText is a status without its markers.
func StatusText(s string) string { return app.StripStatusMarkers(s) }

func ownerShort(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

func bridgeClass(state string) string {
	switch state {
	case "connected":
		return "ok"
	case "reconnecting":
		return "error"
	case "connecting":
		return "warning"
	}
	return ""
}

// shortTopic shows a topic without the owner ID, which every topic of an
// owner shares: "/5227c79a…/00119770-…/status" reads as "…/00119770-…/status".
func shortTopic(t string) string {
	if len(t) > 66 && t[0] == '/' && t[65] == '/' {
		return "…" + t[65:]
	}
	return t
}

// Span says a duration in words: "24 hours", "7 days", "90 minutes".
func Span(d time.Duration) string {
	unit := func(n int64, word string) string {
		if n == 1 {
			return "1 " + word
		}
		return strconv.FormatInt(n, 10) + " " + word + "s"
	}
	switch {
	case d >= 48*time.Hour && d%(24*time.Hour) == 0:
		return unit(int64(d/(24*time.Hour)), "day")
	case d >= time.Hour && d%time.Hour == 0:
		return unit(int64(d/time.Hour), "hour")
	default:
		return unit(int64(d.Round(time.Minute)/time.Minute), "minute")
	}
}
