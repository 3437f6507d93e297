package httpapi_test

import (
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/internal/app"
	"github.com/metagov/metagov-go/internal/apptest"
)

// TestDeliveriesFollowTheGatewayClock checks that the delivery dispatcher
// reads the gateway's one clock (app.Config.Now), as core and the plugins
// do: a retry due in an hour goes out once the clock is moved two hours on,
// without an hour's wait, signed with the moved time.
func TestDeliveriesFollowTheGatewayClock(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		var offset atomic.Int64
		clock := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
		rcv := apptest.NewReceiver(t)
		rcv.Respond = func(n int) int {
			if n == 0 {
				return http.StatusInternalServerError
			}
			return http.StatusOK
		}
		s := startTestkit(t, db, app.Config{Now: clock, RetrySchedule: []time.Duration{0, time.Hour}})
		startTally(t, s, rcv.URL+"/cb")
		vote(t, s)
		rcv.WaitFor(t, 1, 30*time.Second)
		require.Eventually(t, func() bool { // the failure recorded, its retry set by the clock as it was
			list := deliveries(t, s, "?status=pending")
			return len(list) == 1 && len(list[0].(map[string]any)["attempts"].([]any)) == 1
		}, 10*time.Second, 20*time.Millisecond)

		offset.Store(int64(2 * time.Hour)) // past the retry and its jitter (±10 %)
		got := rcv.WaitFor(t, 2, 30*time.Second)
		sent, err := strconv.ParseInt(got[1].Header.Get("webhook-timestamp"), 10, 64)
		require.NoError(t, err)
		require.InDelta(t, clock().Unix(), sent, 300, "signed at the gateway's time")
		require.Equal(t, http.StatusOK, rcv.Respond(1))
	})
}
