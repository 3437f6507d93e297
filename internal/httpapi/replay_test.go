package httpapi_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/internal/app"
	"github.com/metagov/metagov-go/internal/apptest"
)

// TestWebhookReplayMemoryIsBounded sends 300 Standard Webhooks deliveries to
// the webhook plugin, one per second of the gateway's clock, with a
// tolerance of 60 s (ids are remembered 121 s). Each id is kept as its own
// small state value, never more than the window's worth at once; a replay
// of a recent id is still dropped, one of an id from before the window with
// a fresh timestamp is accepted, and with its old timestamp refused.
func TestWebhookReplayMemoryIsBounded(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		base := time.Now().Truncate(time.Second)
		var offset atomic.Int64 // seconds past base
		now := func() time.Time { return base.Add(time.Duration(offset.Load()) * time.Second) }
		s := apptest.Start(t, db, app.Config{Now: now})
		key := []byte("0123456789abcdef0123456789abcdef")
		r := s.Do("PUT", "/api/internal/community/replay", map[string]any{"plugins": []map[string]any{{
			"name": "webhook", "config": map[string]any{
				"secret": "whsec_" + base64.StdEncoding.EncodeToString(key), "webhook_slug": "replay-slug", "tolerance_seconds": 60,
			},
		}}})
		require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
		instanceID := int64(r.JSON(t)["plugins"].([]any)[0].(map[string]any)["id"].(float64))

		sentAt := map[string]int64{}
		send := func(id string, ts int64) int {
			t.Helper()
			body := fmt.Sprintf(`{"type":%q}`, id)
			r := s.Do("POST", "/api/hooks/replay/webhook/replay-slug", body,
				"webhook-id", id, "webhook-timestamp", strconv.FormatInt(ts, 10),
				"webhook-signature", signStandard(key, id, ts, body))
			return r.Status
		}
		lastEvent := func() float64 {
			t.Helper()
			var last float64
			for after := 0.0; ; {
				r := s.Do("GET", fmt.Sprintf("/api/internal/events?community=replay&after=%v&limit=100", after), nil)
				require.Equal(t, http.StatusOK, r.Status, string(r.Body))
				events := r.JSON(t)["events"].([]any)
				if len(events) == 0 {
					return last
				}
				last = events[len(events)-1].(map[string]any)["id"].(float64)
				after = last
			}
		}
		eventsAfter := func(after float64) int {
			r := s.Do("GET", fmt.Sprintf("/api/internal/events?community=replay&after=%v", after), nil)
			require.Equal(t, http.StatusOK, r.Status, string(r.Body))
			return len(r.JSON(t)["events"].([]any))
		}
		checkState := func() {
			t.Helper()
			// Everything stored, expired values not yet deleted included.
			all, err := s.App.Store().PluginStateList(context.Background(), instanceID, "", time.Time{})
			require.NoError(t, err)
			require.LessOrEqual(t, len(all), 122, "no more ids than the window holds")
			for k, v := range all {
				require.LessOrEqual(t, len(v), 32, "state %q is one small value", k)
			}
		}

		for i := range 300 {
			offset.Store(int64(i))
			id := fmt.Sprintf("msg_%d", i)
			sentAt[id] = now().Unix()
			require.Equal(t, http.StatusOK, send(id, sentAt[id]), id)
			if i%50 == 49 {
				checkState()
			}
		}
		last := lastEvent()

		// msg_250 was received 49 s ago: a replay, with a timestamp that
		// passes, is answered 200 and emits nothing.
		require.Equal(t, http.StatusOK, send("msg_250", now().Unix()))
		require.Zero(t, eventsAfter(last), "replay within the window")

		// msg_100 was received 199 s ago, past the window: with its old
		// timestamp it fails verification; re-signed now, it is new again.
		require.Equal(t, http.StatusUnauthorized, send("msg_100", sentAt["msg_100"]))
		require.Equal(t, http.StatusOK, send("msg_100", now().Unix()))
		require.Equal(t, 1, eventsAfter(last), "an id from before the window is accepted")
		checkState()
	})
}
