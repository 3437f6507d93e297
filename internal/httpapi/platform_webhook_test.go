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

// TestPlatformWebhook: a platform-wide webhook reaches the instances, in any
// community, connected to the platform account it names, and only those.
func TestPlatformWebhook(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		events := apptest.NewReceiver(t)
		s := apptest.Start(t, db, app.Config{EventReceiverURL: events.URL})
		for c, account := range map[string]string{"north": "acme", "south": "acme", "west": "other"} {
			r := s.Do("PUT", "/api/internal/community/"+c, map[string]any{"plugins": []map[string]any{
				{"name": "testkit", "config": map[string]any{"account": account}},
			}})
			require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
		}
		r := s.Do("POST", "/api/hooks/testkit", `{"event":"deployed"}`, "X-Account", "acme", "X-Test-Token", "secret-token")
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		got := events.WaitFor(t, 2, 10*time.Second)
		var communities []string
		for _, g := range got {
			var ev map[string]any
			require.NoError(t, json.Unmarshal(g.Body, &ev))
			require.Equal(t, "deployed", ev["event_type"])
			communities = append(communities, ev["community"].(string))
		}
		require.ElementsMatch(t, []string{"north", "south"}, communities)

		r = s.Do("POST", "/api/hooks/testkit", ``, "X-Ping", "1")
		require.Equal(t, http.StatusOK, r.Status)
		require.Equal(t, "pong", string(r.Body))
		s.Do("POST", "/api/hooks/testkit", `{"event":"x"}`).RequireError(t, http.StatusUnauthorized, "unauthorized")
		// The instance's own verifier still applies.
		s.Do("POST", "/api/hooks/testkit", `{"event":"x"}`, "X-Account", "other", "X-Test-Token", "forged").RequireError(t,
			http.StatusUnauthorized, "unauthorized")

		time.Sleep(300 * time.Millisecond)
		require.Len(t, events.All(), 2)
	})
}
