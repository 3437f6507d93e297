package httpapi_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/internal/app"
	"github.com/metagov/metagov-go/internal/apptest"
)

// startTestkit starts a gateway with a community that enabled testkit.
func startTestkit(t *testing.T, db apptest.Database, cfg app.Config) *apptest.Server {
	t.Helper()
	s := apptest.Start(t, db, cfg)
	r := s.Do("PUT", "/api/internal/community/"+community, map[string]any{"plugins": []map[string]any{
		{"name": "testkit", "config": map[string]any{"webhook_slug": "s3cr3tslug"}},
	}})
	require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
	return s
}

func TestProcessUpdatedByWebhooks(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		callbacks := apptest.NewReceiver(t)
		events := apptest.NewReceiver(t)
		s := startTestkit(t, db, app.Config{EventReceiverURL: events.URL})

		r := s.Do("POST", "/api/internal/process/testkit.tally", map[string]any{"title": "Lunch?", "callback_url": callbacks.URL}, header...)
		require.Equal(t, http.StatusAccepted, r.Status, string(r.Body))
		loc := r.Header.Get("Location")
		rec := r.JSON(t)
		require.Equal(t, "pending", rec["status"])
		require.Contains(t, rec["url"], "https://tally.example/")

		hook := "/api/hooks/" + community + "/testkit/s3cr3tslug"
		token := []string{"X-Test-Token", "secret-token"}
		// Unverified webhooks change nothing.
		r = s.Do("POST", hook, `{"vote":"yes"}`, "X-Test-Token", "forged")
		r.RequireError(t, http.StatusUnauthorized, "unauthorized")
		r = s.Do("POST", "/api/hooks/"+community+"/testkit", `{"vote":"yes"}`, token...)
		r.RequireError(t, http.StatusNotFound, "hook_not_found")

		for i := 0; i < 3; i++ {
			r = s.Do("POST", hook, `{"vote":"yes","event":"voted"}`, token...)
			require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		}
		r = s.Do("GET", loc, nil)
		rec = r.JSON(t)
		require.Equal(t, "completed", rec["status"])
		require.Equal(t, map[string]any{"yes": 3.0}, rec["outcome"])

		// Callbacks go one at a time, in order, each with a higher
		// sequence; changes made while one is on its way are coalesced
		// into the next, so the driver may skip some, never the last.
		require.Eventually(t, func() bool {
			got := callbacks.All()
			var body map[string]any
			return len(got) > 0 && json.Unmarshal(got[len(got)-1].Body, &body) == nil && body["sequence"] == 4.0
		}, 10*time.Second, 20*time.Millisecond)
		prev := 1.0
		for _, c := range callbacks.All() {
			var body map[string]any
			require.NoError(t, json.Unmarshal(c.Body, &body))
			require.Greater(t, body["sequence"].(float64), prev)
			prev = body["sequence"].(float64)
		}

		evs := events.WaitFor(t, 3, 10*time.Second)
		var ev map[string]any
		require.NoError(t, json.Unmarshal(evs[0].Body, &ev))
		require.Equal(t, "voted", ev["event_type"])
		require.Equal(t, "testkit", ev["source"])
		// A known user keeps the plugin's keys, the extra ones included.
		require.Equal(t, map[string]any{"user_id": "alice", "provider": "testkit", "user_name": "Alice A."}, ev["initiator"])
		r = s.Do("GET", "/api/internal/events?limit=1", nil)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		require.Equal(t, ev["initiator"], r.JSON(t)["events"].([]any)[0].(map[string]any)["initiator"])

		// The process cannot be closed twice, nor closed at all by its plugin.
		s.Do("DELETE", loc, nil).RequireError(t, http.StatusConflict, "process_completed")
		r = s.Do("POST", "/api/internal/process/testkit.tally", map[string]any{"title": "Dinner?"}, header...)
		require.Equal(t, http.StatusAccepted, r.Status)
		r = s.Do("DELETE", r.Header.Get("Location"), nil)
		r.RequireError(t, http.StatusMethodNotAllowed, "close_not_supported", "does not support manually closing")
		// The process of one type is not found under another's path.
		s.Do("GET", strings.Replace(loc, "testkit.tally", "testkit.ticker", 1), nil).RequireError(t, http.StatusNotFound, "process_not_found")
	})
}

func TestProcessPolled(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		s := startTestkit(t, db, app.Config{})
		r := s.Do("POST", "/api/internal/process/testkit.ticker", map[string]any{}, header...)
		require.Equal(t, http.StatusAccepted, r.Status, string(r.Body))
		loc := r.Header.Get("Location")
		require.Eventually(t, func() bool {
			out := s.Do("GET", loc, nil).JSON(t)["outcome"].(map[string]any)
			return out["polls"].(float64) >= 2
		}, 15*time.Second, 100*time.Millisecond, "a pending process is polled every interval")
		r = s.Do("DELETE", loc, nil)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		polls := r.JSON(t)["outcome"].(map[string]any)["polls"]
		time.Sleep(2500 * time.Millisecond)
		require.Equal(t, polls, s.Do("GET", loc, nil).JSON(t)["outcome"].(map[string]any)["polls"],
			"a completed process is not polled")
	})
}

func TestActionOutcomes(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		s := startTestkit(t, db, app.Config{})
		act := func(name string, params any, headers ...string) apptest.Response {
			return s.Do("POST", "/api/internal/action/testkit."+name, map[string]any{"parameters": params}, append(headers, header...)...)
		}
		r := act("echo", map[string]any{"value": "hi"})
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		require.JSONEq(t, `{"value":"hi"}`, string(r.Body))

		body := act("bad-output", nil).RequireError(t, http.StatusInternalServerError, "internal_error")
		require.NotContains(t, body["detail"], "schema")
		act("platform-fail", nil).RequireError(t, http.StatusBadGateway, "platform_error", "maintenance until noon", "503")
		// A platform that refuses the input is the caller's to fix, not an outage.
		body = act("platform-reject", nil).RequireError(t, http.StatusUnprocessableEntity, "platform_rejected",
			"testkit refused the input (422): title is too short")

		require.Equal(t, "/title", body["field"])
		act("platform-timeout", nil).RequireError(t, http.StatusGatewayTimeout, "platform_timeout", "no answer after 10s")
		body = act("crash", nil).RequireError(t, http.StatusInternalServerError, "internal_error")
		require.NotContains(t, string(body["detail"].(string)), "secret internal detail")

		// A second account of the same plugin in the same community.
		r = s.Do("POST", "/api/internal/plugin/testkit", map[string]any{"account": "second"}, header...)
		require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
		require.Equal(t, "second", r.JSON(t)["community_platform_id"])
		act("echo", map[string]any{"value": "hi"}).RequireError(t, http.StatusBadRequest, "multiple_instances")
		r = act("echo", map[string]any{"value": "hi"}, "X-Metagov-Community-Platform-Id", "second")
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		r = s.Do("GET", "/api/internal/community/"+community, nil)
		require.Len(t, r.JSON(t)["plugins"], 2)
	})
}
