package opencollective_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/internal/app"
	"github.com/metagov/metagov-go/internal/apptest"
	ocfake "github.com/metagov/metagov-go/plugins/opencollective/opencollectivefake"
)

// TestVote runs a vote from start to close: the conversation is opened,
// reactions of both 👍 forms and 👎 are counted by the poll that runs when
// the gateway starts, and closing it renames the conversation and posts the
// final count.
func TestVote(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		b := setup(t, db, app.Config{})
		callbacks := apptest.NewReceiver(t)

		r := b.s.Do("POST", "/api/internal/process/opencollective.vote",
			map[string]any{"title": "Adopt the budget?", "callback_url": callbacks.URL}, header...)
		require.Equal(t, http.StatusAccepted, r.Status, string(r.Body))
		loc := r.Header.Get("Location")
		rec := r.JSON(t)
		convs := b.fake.Conversations()
		require.Len(t, convs, 1)
		conv := convs[0]
		url := fmt.Sprintf("%s/%s/conversations/adopt-the-budget-%s", webURL, ocfake.CollectiveSlug, conv.ID)
		require.Equal(t, "pending", rec["status"])
		require.Equal(t, url, rec["url"])
		require.Equal(t, map[string]any{"votes": map[string]any{"yes": 0.0, "no": 0.0}, "vote_url": url}, rec["outcome"])
		require.Equal(t, []string{"metagov-vote"}, conv.Tags)
		require.Equal(t, "Adopt the budget?", conv.HTML, "without details the title is the body")

		b.fake.React(conv.ID, "\U0001F44D\uFE0F", 2) // 👍️ as Open Collective's picker sends it
		b.fake.React(conv.ID, "\U0001F44D", 1)       // 👍 without the variation selector
		b.fake.React(conv.ID, "\U0001F44E", 1)       // 👎
		b.fake.React(conv.ID, "\U0001F389", 4)       // 🎉 does not count

		// Polls run every minute, and at start: restart rather than wait.
		b.restart(t)
		got := callbacks.WaitFor(t, 1, 30*time.Second)
		var cb map[string]any
		require.NoError(t, json.Unmarshal(got[0].Body, &cb))
		require.Equal(t, "pending", cb["status"])
		require.Equal(t, map[string]any{"yes": 3.0, "no": 1.0}, cb["outcome"].(map[string]any)["votes"])
		require.Equal(t, url, cb["outcome"].(map[string]any)["vote_url"])

		b.fake.React(conv.ID, "\U0001F44E", 1)
		r = b.s.Do("DELETE", loc, nil)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		rec = r.JSON(t)
		require.Equal(t, "completed", rec["status"])
		require.Equal(t, map[string]any{"yes": 3.0, "no": 2.0}, rec["outcome"].(map[string]any)["votes"])
		conv = b.fake.Conversations()[0]
		require.Equal(t, "[CLOSED] Adopt the budget?", conv.Title)
		require.Equal(t, []string{"Voting period is closed. Final count is 3 for and 2 against."}, conv.Comments)

		// A minute's poll may land before the DELETE and call back a pending
		// record first: wait for the completed one, whichever comes last.
		callbacks.WaitUntil(t, 10*time.Second, func(all []apptest.Received) bool {
			for _, latest := range apptest.LatestByPath(all) {
				return latest["status"] == "completed"
			}
			return false
		})
		latest := apptest.LatestByPath(callbacks.All())
		require.Len(t, latest, 1)
		for _, cb := range latest {
			require.Equal(t, map[string]any{"yes": 3.0, "no": 2.0}, cb["outcome"].(map[string]any)["votes"])
		}
		r = b.s.Do("DELETE", loc, nil)
		require.Equal(t, http.StatusConflict, r.Status, string(r.Body))
		requireValidQueries(t, b.fake)
	})
}

// TestVoteErrors checks a vote with details and the failures of its
// start and close.
func TestVoteErrors(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		b := setup(t, db, app.Config{})
		start := func(params map[string]any) apptest.Response {
			return b.s.Do("POST", "/api/internal/process/opencollective.vote", params, header...)
		}
		start(map[string]any{"details": "no title"}).RequireError(t, http.StatusBadRequest, "invalid_input")

		b.fake.FailField("createConversation", "Forbidden", "You are not allowed to start conversations")
		start(map[string]any{"title": "T"}).RequireError(t, http.StatusBadGateway, "platform_error", "not allowed to start conversations")
		b.fake.FailField("createConversation", "", "")
		require.Empty(t, b.fake.Conversations())

		r := start(map[string]any{"title": "Lunch?", "details": "<p>Pizza or salad</p>"})
		require.Equal(t, http.StatusAccepted, r.Status, string(r.Body))
		loc := r.Header.Get("Location")
		require.Equal(t, "<p>Pizza or salad</p>", b.fake.Conversations()[0].HTML)

		// A close that fails on the platform leaves the vote pending.
		b.fake.FailField("editConversation", "Forbidden", "Conversation is locked")
		b.s.Do("DELETE", loc, nil).RequireError(t, http.StatusBadGateway, "platform_error", "Conversation is locked")
		require.Equal(t, "pending", b.s.Do("GET", loc, nil).JSON(t)["status"])
		b.fake.FailField("editConversation", "", "")
		r = b.s.Do("DELETE", loc, nil)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		require.Equal(t, "completed", r.JSON(t)["status"])
		requireValidQueries(t, b.fake)
	})
}
