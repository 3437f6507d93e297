package jobs

import (
	"context"
	"log/slog"
	"strings"
)

// riverLogger is the logger River gets: the gateway's, except that River's
// routine "Producer job counts" line, which it logs at INFO every few
// seconds while jobs run, is logged at DEBUG, so that an idle-looking
// gateway's INFO log says what happened rather than how busy it was.
func riverLogger(l *slog.Logger) *slog.Logger {
	return slog.New(demoteHandler{l.Handler()})
}

// demoted reports whether River's message is routine chatter.
func demoted(msg string) bool { return strings.HasSuffix(msg, "Producer job counts") }

// demoteHandler logs River's routine INFO messages at DEBUG.
type demoteHandler struct{ next slog.Handler }

// Enabled cannot see the message, so it lets INFO through for Handle to
// decide.
func (h demoteHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.next.Enabled(ctx, level)
}

func (h demoteHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level == slog.LevelInfo && demoted(r.Message) {
		if !h.next.Enabled(ctx, slog.LevelDebug) {
			return nil
		}
		r.Level = slog.LevelDebug
	}
	return h.next.Handle(ctx, r)
}

func (h demoteHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return demoteHandler{h.next.WithAttrs(attrs)}
}

func (h demoteHandler) WithGroup(name string) slog.Handler {
	return demoteHandler{h.next.WithGroup(name)}
}
