package broker

import (
	"context"
	"log/slog"
)

// quietHandler passes the embedded server's log records on at Warn and
// above, without the packets it attaches: a packet can be a second CONNECT
// carrying a password, or a payload that is the owner's business.
type quietHandler struct {
	next slog.Handler
}

// mochiLogger wraps the broker's logger for the embedded server.
func mochiLogger(l *slog.Logger) *slog.Logger {
	return slog.New(quietHandler{next: l.Handler()}).With("component", "mqtt")
}

func (h quietHandler) Enabled(ctx context.Context, lv slog.Level) bool {
	return lv >= slog.LevelWarn && h.next.Enabled(ctx, lv)
}

func (h quietHandler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	r.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case "pk", "packet", "will":
		default:
			out.AddAttrs(a)
		}
		return true
	})
	return h.next.Handle(ctx, out)
}

func (h quietHandler) WithAttrs(as []slog.Attr) slog.Handler {
	keep := make([]slog.Attr, 0, len(as))
	for _, a := range as {
		if a.Key != "pk" && a.Key != "packet" && a.Key != "will" {
			keep = append(keep, a)
		}
	}
	return quietHandler{next: h.next.WithAttrs(keep)}
}

func (h quietHandler) WithGroup(name string) slog.Handler {
	return quietHandler{next: h.next.WithGroup(name)}
}
