package vote_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/internal/app"
	"github.com/metagov/metagov-go/internal/apptest"
	"github.com/metagov/metagov-go/plugins/vote/tally"
)

// TestCastThroughTwoGateways casts ballots into one poll through two gateway
// processes sharing a PostgreSQL database, all at once: each gateway
// serialises the casts it runs, and a cast that finds the poll changed by
// the other gateway runs again on the poll as it now is, so that every
// cast is answered 200 and counted, none refused with 409.
func TestCastThroughTwoGateways(t *testing.T) {
	if os.Getenv(apptest.PostgresEnv) == "" {
		t.Skipf("two gateways share a database on PostgreSQL only: set %s", apptest.PostgresEnv)
	}
	t.Parallel()
	db := apptest.Postgres(t)
	gateways := []*apptest.Server{start(t, db, app.Config{}), apptest.Start(t, db, app.Config{})}
	r := gateways[0].Do("POST", "/api/internal/process/vote.poll", map[string]any{
		"title": "Which colour?", "method": "single-choice", "options": []string{"red", "blue"}, "duration_minutes": 60,
	}, header...)
	require.Equal(t, http.StatusAccepted, r.Status, string(r.Body))
	id := r.JSON(t)["id"].(float64)

	const voters = 160
	var wg sync.WaitGroup
	failures := make(chan string, voters)
	for client := range 16 {
		wg.Go(func() {
			for i := client; i < voters; i += 16 {
				s := gateways[i%2]
				if r := cast(s, id, fmt.Sprintf("voter-%d", i), []string{"red", "blue"}[i%2]); r.Status != http.StatusOK {
					failures <- fmt.Sprintf("voter-%d: %d %s", i, r.Status, r.Body)
				}
			}
		})
	}
	wg.Wait()
	close(failures)
	for f := range failures {
		t.Error(f)
	}

	r = gateways[1].Do("POST", "/api/internal/action/vote.export", map[string]any{"parameters": map[string]any{"process_id": id}}, header...)
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	var record tally.Record
	require.NoError(t, json.Unmarshal(r.Body, &record))
	require.NoError(t, tally.Verify(record))
	require.Len(t, record.Ballots, voters, "every cast answered 200 is counted")
}
