package discourse_test

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/internal/apptest"
)

// storedEvents lists the community's events through the API, by type.
func storedEvents(t *testing.T, b *testBundle) map[string]int {
	t.Helper()
	r := b.gw.Do("GET", "/api/internal/events?community="+community+"&limit=100", nil)
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	counts := map[string]int{}
	for _, e := range r.JSON(t)["events"].([]any) {
		counts[e.(map[string]any)["event_type"].(string)]++
	}
	return counts
}

// TestWebhookRedelivery: Discourse delivering the same signed event twice
// (same body, same X-Discourse-Event-Id) makes one event; a user_updated
// replayed after a later one neither makes an event nor puts back the
// fields it carried; a day later, past the replay window, the id is
// forgotten.
func TestWebhookRedelivery(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		b := setup(t, db)
		send := func(d interface{ Send(string) (int, error) }) {
			t.Helper()
			status, err := d.Send(b.gw.URL + hookPath)
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, status)
		}
		topic := b.forum.CreateTopic("alice", "Proposal: bigger garden", "We should grow more vegetables.", nil)
		post := b.forum.PostCreated(topic.ID)
		send(post)
		send(post)
		send(b.forum.TopicCreated(topic.TopicID))
		require.Equal(t, map[string]int{"post_created": 1, "topic_created": 1}, storedEvents(t, b))

		blue := b.forum.UserUpdated(b.bob)
		send(blue)
		b.forum.SetUserFields(b.bob, map[string]string{"1": "green"})
		send(b.forum.UserUpdated(b.bob))
		send(blue)
		require.Equal(t, map[string]int{"post_created": 1, "topic_created": 1, "user_fields_changed": 2}, storedEvents(t, b))
		var users map[string]map[string]any
		b.state(t, "users", &users)
		require.Equal(t, map[string]any{"1": "green"}, users[strconv.FormatInt(b.bob, 10)]["user_fields"],
			"the replayed delivery did not put back the old fields")

		b.cfg.Now = func() time.Time { return time.Now().Add(25 * time.Hour) }
		b.restart(t)
		send(post)
		require.Equal(t, 2, storedEvents(t, b)["post_created"], "past the window the id is forgotten")
	})
}
