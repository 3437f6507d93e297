package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/internal/app"
	"github.com/metagov/metagov-go/internal/apptest"
	"github.com/metagov/metagov-go/internal/core"
)

// TestCallbackURLLength: a callback_url of up to 2,048 bytes is taken; a
// longer one, up to the 200 KB an attacker once stored, is a 400 naming the
// field, and no process is started.
func TestCallbackURLLength(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		s := startTestkit(t, db, app.Config{})
		base := "http://127.0.0.1:9/callback?pad="
		at := func(n int) string { return base + strings.Repeat("a", n-len(base)) }

		r := s.Do("POST", "/api/internal/process/testkit.tally",
			map[string]any{"title": "t", "callback_url": at(core.MaxCallbackURLLength)}, header...)
		require.Equal(t, http.StatusAccepted, r.Status, string(r.Body))

		for _, n := range []int{core.MaxCallbackURLLength + 1, 200_000} {
			r := s.Do("POST", "/api/internal/process/testkit.tally", map[string]any{"title": "t", "callback_url": at(n)}, header...)
			body := r.RequireError(t, http.StatusBadRequest, "invalid_callback_url", "the limit is 2048")
			require.Equal(t, "/callback_url", body["field"])
		}
		// Nothing was written for the refused starts: the audit log shows
		// only the accepted one.
		var started int
		for _, e := range s.Do("GET", "/api/internal/audit?limit=1000", nil).JSON(t)["entries"].([]any) {
			if e.(map[string]any)["action"] == "process.start" {
				started++
			}
		}
		require.Equal(t, 1, started)
	})
}
