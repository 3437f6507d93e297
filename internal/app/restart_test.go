package app_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/internal/app"
	"github.com/metagov/metagov-go/internal/apptest"
	_ "github.com/metagov/metagov-go/plugins/randomness"
)

// TestTimerFiresAfterRestart stops the gateway while a process waits for its
// deadline, lets the deadline pass while it is down, and checks that the
// process completes and its callback is delivered once it is back.
func TestTimerFiresAfterRestart(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		callbacks := apptest.NewReceiver(t)
		before := apptest.Start(t, db, app.Config{})
		r := before.Do("PUT", "/api/internal/community/c", map[string]any{"plugins": []map[string]any{
			{"name": "randomness", "config": map[string]any{"default_low": 0, "default_high": 9}},
		}})
		require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
		r = before.Do("POST", "/api/internal/process/randomness.delayed-stochastic-vote",
			map[string]any{"options": []string{"yes", "no"}, "delay": 1, "callback_url": callbacks.URL}, "X-Metagov-Community", "c")
		require.Equal(t, http.StatusAccepted, r.Status, string(r.Body))
		loc := r.Header.Get("Location")
		before.Stop()
		require.Empty(t, callbacks.All(), "nothing is due before the deadline")

		// The gateway comes back two minutes later by its clock.
		later := func() time.Time { return time.Now().Add(2 * time.Minute) }
		after := apptest.Start(t, db, app.Config{Now: later})
		got := callbacks.WaitFor(t, 1, 30*time.Second)
		var cb map[string]any
		require.NoError(t, json.Unmarshal(got[0].Body, &cb))
		require.Equal(t, "completed", cb["status"])
		require.Contains(t, []any{"yes", "no"}, cb["outcome"].(map[string]any)["winner"])

		rec := after.Do("GET", loc, nil).JSON(t)
		require.Equal(t, "completed", rec["status"])
		require.Equal(t, cb["outcome"], rec["outcome"])
		time.Sleep(500 * time.Millisecond)
		require.Len(t, callbacks.All(), 1, "the process completes once")
	})
}
