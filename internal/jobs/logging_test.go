package jobs

import (
	"bytes"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"
)

// River's "Producer job counts" line, at INFO every few seconds while jobs
// run, is logged at DEBUG; River's other lines keep their level.
func TestRiverLoggerDemotesJobCounts(t *testing.T) {
	for _, tc := range []struct {
		level slog.Level
		want  string
	}{
		{slog.LevelInfo, "level=INFO msg=\"worker started\" queue=default\n"},
		{slog.LevelDebug, "level=INFO msg=\"worker started\" queue=default\n" +
			"level=DEBUG msg=\"producer: Producer job counts\" queue=default num_jobs_running=1\n"},
	} {
		t.Run(tc.level.String(), func(t *testing.T) {
			var buf bytes.Buffer
			base := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{
				Level: tc.level,
				ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
					if a.Key == slog.TimeKey {
						return slog.Attr{}
					}
					return a
				},
			}))
			l := riverLogger(base).With("queue", "default")
			l.Info("worker started")
			l.Info("producer: Producer job counts", "num_jobs_running", 1)
			require.Equal(t, tc.want, buf.String())
		})
	}
}
