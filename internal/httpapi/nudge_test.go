package httpapi_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/internal/app"
	"github.com/metagov/metagov-go/internal/apptest"
)

// TestActionOnProcess drives an action that changes a process (as casting a
// ballot does): it commits with a callback, reads listed state, and cannot
// reach a process of another community.
func TestActionOnProcess(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		rcv := apptest.NewReceiver(t)
		s := startTestkit(t, db, app.Config{})
		loc := startTally(t, s, rcv.URL)
		id := s.Do("GET", loc, nil).JSON(t)["id"].(float64)

		for i := 1; i <= 2; i++ {
			r := s.Do("POST", "/api/internal/action/testkit.nudge", map[string]any{"parameters": map[string]any{"process_id": id, "votes": 1}}, header...)
			require.Equal(t, http.StatusOK, r.Status, string(r.Body))
			require.JSONEq(t, `{"yes": `+itoa(i)+`, "nudges": `+itoa(i)+`}`, string(r.Body))
		}
		require.Equal(t, map[string]any{"yes": 2.0}, s.Do("GET", loc, nil).JSON(t)["outcome"])
		// A process's callbacks go one at a time, in order; the second
		// change may be coalesced into the first callback if that had
		// not gone yet, but the last record always arrives.
		require.Eventually(t, func() bool {
			got := rcv.All()
			var cb map[string]any
			return len(got) > 0 && json.Unmarshal(got[len(got)-1].Body, &cb) == nil && cb["sequence"] == 3.0
		}, 10*time.Second, 20*time.Millisecond)
		require.LessOrEqual(t, len(rcv.All()), 2)

		s.Do("POST", "/api/internal/action/testkit.nudge", map[string]any{"parameters": map[string]any{"votes": 1}}, header...).RequireError(t,
			http.StatusBadRequest, "invalid_input")

		s.Do("POST", "/api/internal/action/testkit.nudge", map[string]any{"parameters": map[string]any{"process_id": 424242}}, header...).RequireError(t,
			http.StatusNotFound, "process_not_found")

		r := s.Do("PUT", "/api/internal/community/other", map[string]any{"plugins": []map[string]any{{"name": "testkit"}}})
		require.Equal(t, http.StatusCreated, r.Status)
		s.Do("POST", "/api/internal/action/testkit.nudge", map[string]any{"parameters": map[string]any{"process_id": id}},
			"X-Metagov-Community", "other").RequireError(t,
			http.StatusNotFound, "process_not_found")

	})
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }
