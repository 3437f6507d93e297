package httpapi_test

import (
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/internal/app"
	"github.com/metagov/metagov-go/internal/apptest"
)

// TestProcessReadYourWrites reads a process, changes it by action and by
// webhooks until it completes, and reads it again at once each time: the
// gateway caches process records, but never serves one older than a change
// it has answered.
func TestProcessReadYourWrites(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		rcv := apptest.NewReceiver(t)
		// An hour: only the gateway's own invalidation can make a change show.
		s := startTestkit(t, db, app.Config{ConfigWatchInterval: time.Hour})
		loc := startTally(t, s, rcv.URL)
		first := s.Do("GET", loc, nil).JSON(t)
		id := first["id"].(float64)
		require.Equal(t, 1.0, first["sequence"])

		r := s.Do("POST", "/api/internal/action/testkit.nudge", map[string]any{"parameters": map[string]any{"process_id": id, "votes": 1}}, header...)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		got := s.Do("GET", loc, nil).JSON(t)
		require.Equal(t, map[string]any{"yes": 1.0}, got["outcome"], "a change by action shows at once")
		require.Equal(t, 2.0, got["sequence"])

		r = s.Do("POST", "/api/hooks/"+community+"/testkit/s3cr3tslug", `{"vote":"yes"}`, "X-Test-Token", "secret-token")
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		got = s.Do("GET", loc, nil).JSON(t)
		require.Equal(t, map[string]any{"yes": 2.0}, got["outcome"], "a change by webhook shows at once")
		require.Equal(t, 3.0, got["sequence"])

		r = s.Do("POST", "/api/hooks/"+community+"/testkit/s3cr3tslug", `{"vote":"yes"}`, "X-Test-Token", "secret-token")
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		got = s.Do("GET", loc, nil).JSON(t)
		require.Equal(t, "completed", got["status"], "completing at the third vote shows at once")
		require.Equal(t, 4.0, got["sequence"])

		// Removing the community removes its processes, cached or not.
		require.Equal(t, http.StatusNoContent, s.Do("DELETE", "/api/internal/community/"+community, nil).Status)
		s.Do("GET", loc, nil).RequireError(t, http.StatusNotFound, "process_not_found")
	})
}

// TestProcessChangeSeenByOtherGateway runs two gateway processes on one
// PostgreSQL database: a change made through one shows at once there, and
// through the other within its watch interval (here 200 ms; the test allows
// seconds more for a loaded machine).
func TestProcessChangeSeenByOtherGateway(t *testing.T) {
	if os.Getenv(apptest.PostgresEnv) == "" {
		t.Skipf("%s is not set: two gateways need PostgreSQL", apptest.PostgresEnv)
	}
	const window = 200 * time.Millisecond
	db := apptest.Postgres(t)
	rcv := apptest.NewReceiver(t)
	a := startTestkit(t, db, app.Config{ConfigWatchInterval: window})
	b := apptest.Start(t, db, app.Config{ConfigWatchInterval: window})
	loc := startTally(t, a, rcv.URL)
	id := a.Do("GET", loc, nil).JSON(t)["id"].(float64)
	// Read it on b for a few watch intervals, so that b has it cached after
	// b's watcher saw the community created (which drops every cache).
	for settle := time.Now(); time.Since(settle) < 3*window; time.Sleep(20 * time.Millisecond) {
		require.Equal(t, 1.0, b.Do("GET", loc, nil).JSON(t)["sequence"])
	}

	r := a.Do("POST", "/api/internal/action/testkit.nudge", map[string]any{"parameters": map[string]any{"process_id": id, "votes": 1}}, header...)
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	changed := time.Now()
	require.Equal(t, 2.0, a.Do("GET", loc, nil).JSON(t)["sequence"], "the gateway that made the change shows it at once")
	for {
		got := b.Do("GET", loc, nil).JSON(t)
		if got["sequence"] == 2.0 {
			require.Equal(t, map[string]any{"yes": 1.0}, got["outcome"])
			break
		}
		require.Less(t, time.Since(changed), window+5*time.Second, "the other gateway still serves sequence %v", got["sequence"])
		time.Sleep(20 * time.Millisecond)
	}
}
