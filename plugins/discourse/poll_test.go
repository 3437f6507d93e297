package discourse_test

import (
	"encoding/json"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/internal/apptest"
)

// startPoll starts a discourse.poll and returns its location and record.
func startPoll(t *testing.T, b *testBundle, params map[string]any) (string, map[string]any) {
	t.Helper()
	r := b.gw.Do("POST", "/api/internal/process/discourse.poll", params, header...)
	require.Equal(t, http.StatusAccepted, r.Status, string(r.Body))
	return r.Header.Get("Location"), r.JSON(t)
}

// lastPostID returns the id of the newest post with a poll on the forum,
// the one the last started poll created.
func lastPostID(t *testing.T, b *testBundle) int64 {
	t.Helper()
	req, ok := b.forum.LastRequest("POST", "/posts.json")
	require.True(t, ok)
	raw := req.JSON()["raw"]
	for id := int64(1000); id > 0; id-- {
		if p, ok := b.forum.Post(id); ok && p.Poll != nil && p.Raw == raw {
			return id
		}
	}
	t.Fatal("no post with the last poll")
	return 0
}

func TestPollBBCode(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		b := setup(t, db)
		tests := []struct {
			name    string
			params  map[string]any
			wantRaw string
		}{
			{name: "every option", params: map[string]any{
				"title": "Which colour do we paint?", "options": []string{"red", "green"}, "details": "Pick one.",
				"category": 3, "closing_at": "2030-04-22", "poll_type": "multiple", "public": true,
				"results": "on_close", "min": 1, "max": 2, "step": 1, "chart_type": "pie", "groups": []string{"staff", "members"},
			}, wantRaw: "\nPick one.\n[poll type=multiple close=2030-04-22 groups=staff,members public=true chartType=pie min=1 max=2 step=1 results=on_close]\n# Which colour do we paint?\n* red\n* green\n\n[/poll]\n"},
			{name: "defaults", params: map[string]any{"title": "Lunch at noon tomorrow?", "options": []string{"yes", "no"}},
				wantRaw: "\n\n[poll type=regular]\n# Lunch at noon tomorrow?\n* yes\n* no\n\n[/poll]\n"},
			{name: "number poll without options", params: map[string]any{"title": "How many chairs do we need?", "poll_type": "number", "min": 1, "max": 5},
				wantRaw: "\n\n[poll type=number min=1 max=5]\n# How many chairs do we need?\n\n[/poll]\n"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, rec := startPoll(t, b, tt.params)
				require.Equal(t, "pending", rec["status"])
				req, ok := b.forum.LastRequest("POST", "/posts.json")
				require.True(t, ok)
				body := req.JSON()
				require.Equal(t, tt.wantRaw, body["raw"])
				require.Equal(t, tt.params["title"], body["title"])
				require.Equal(t, rec["url"], rec["outcome"].(map[string]any)["poll_url"])
				require.Regexp(t, "^"+b.forum.URL+`/t/[a-z0-9-]+/\d+/1$`, rec["url"])
			})
		}
		r := b.gw.Do("POST", "/api/internal/process/discourse.poll", map[string]any{"title": "A poll with no options?"}, header...)
		r.RequireError(t, http.StatusBadRequest, "invalid_input", "options are required for poll type regular")
	})
}

func TestPollLifecycle(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		b := setup(t, db)
		callbacks := apptest.NewReceiver(t)
		topic := b.forum.CreateTopic("alice", "Where shall we meet?", "Let us pick a place to meet.", nil)

		// A poll closed on Discourse completes at the next poll.
		loc, rec := startPoll(t, b, map[string]any{"title": "Place?", "options": []string{"park", "cafe"},
			"topic_id": topic.TopicID, "callback_url": callbacks.URL + "/1"})
		require.Equal(t, b.forum.URL+"/t/where-shall-we-meet/"+strconv.FormatInt(topic.TopicID, 10)+"/2", rec["url"])
		first := lastPostID(t, b)
		// A second poll is closed by the driver.
		loc2, _ := startPoll(t, b, map[string]any{"title": "What time suits everyone?", "options": []string{"noon", "evening"},
			"callback_url": callbacks.URL + "/2"})
		second := lastPostID(t, b)
		require.NotEqual(t, first, second)

		b.forum.Vote(first, "park", 3)
		b.forum.Vote(first, "cafe", 1)
		b.restart(t) // runs the minute's poll now
		require.Eventually(t, func() bool {
			out := b.gw.Do("GET", loc, nil).JSON(t)["outcome"].(map[string]any)
			return out["votes"] != nil
		}, 15*time.Second, 50*time.Millisecond)
		got := b.gw.Do("GET", loc, nil).JSON(t)
		require.Equal(t, "pending", got["status"])
		require.Equal(t, map[string]any{"park": 3.0, "cafe": 1.0}, got["outcome"].(map[string]any)["votes"])
		require.Equal(t, got["url"], got["outcome"].(map[string]any)["poll_url"])

		b.forum.Vote(first, "cafe", 4)
		b.forum.ClosePoll(first)
		b.restart(t)
		require.Eventually(t, func() bool {
			return b.gw.Do("GET", loc, nil).JSON(t)["status"] == "completed"
		}, 15*time.Second, 50*time.Millisecond)
		got = b.gw.Do("GET", loc, nil).JSON(t)
		require.Equal(t, map[string]any{"park": 3.0, "cafe": 5.0}, got["outcome"].(map[string]any)["votes"])

		// DELETE closes the second poll on Discourse.
		b.forum.Vote(second, "evening", 2)
		r := b.gw.Do("DELETE", loc2, nil)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		closed := r.JSON(t)
		require.Equal(t, "completed", closed["status"])
		require.Equal(t, map[string]any{"noon": 0.0, "evening": 2.0}, closed["outcome"].(map[string]any)["votes"])
		req, ok := b.forum.LastRequest("PUT", "/polls/toggle_status")
		require.True(t, ok)
		require.Equal(t, "application/x-www-form-urlencoded", req.Header.Get("Content-Type"))
		require.Equal(t, map[string][]string{"post_id": {strconv.FormatInt(second, 10)}, "poll_name": {"poll"}, "status": {"closed"}}, req.Form())
		p, _ := b.forum.Post(second)
		require.Equal(t, "closed", p.Poll.Status)
		b.gw.Do("DELETE", loc2, nil).RequireError(t, http.StatusConflict, "process_completed")

		// Callbacks: votes, then completion, for each poll (the second's
		// first poll found no votes yet). A periodic poll may land between
		// the vote on the second poll and its DELETE and add a pending
		// callback in the middle, so wait for both completions and check the
		// ends of each list.
		byPath := map[string][]map[string]any{}
		require.Eventually(t, func() bool {
			clear(byPath)
			for _, c := range callbacks.All() {
				var body map[string]any
				require.NoError(t, json.Unmarshal(c.Body, &body))
				byPath[c.Path] = append(byPath[c.Path], body)
			}
			for _, list := range byPath {
				slices.SortFunc(list, func(a, b map[string]any) int { return int(a["sequence"].(float64) - b["sequence"].(float64)) })
			}
			done := func(list []map[string]any) bool {
				return len(list) >= 2 && list[len(list)-1]["status"] == "completed"
			}
			return done(byPath["/1"]) && done(byPath["/2"])
		}, 10*time.Second, 50*time.Millisecond, "callbacks: %v", byPath)
		require.Len(t, byPath["/1"], 2)
		require.Equal(t, map[string]any{"noon": 0.0, "evening": 0.0}, byPath["/2"][0]["outcome"].(map[string]any)["votes"])
		last := byPath["/2"][len(byPath["/2"])-1]
		require.Equal(t, map[string]any{"noon": 0.0, "evening": 2.0}, last["outcome"].(map[string]any)["votes"])
	})
}

func TestPollHiddenResults(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		b := setup(t, db)
		loc, _ := startPoll(t, b, map[string]any{"title": "A secret ballot for all", "options": []string{"a", "b"}, "results": "on_close"})
		post := lastPostID(t, b)
		b.forum.Vote(post, "a", 2)
		b.forum.Fail(http.StatusInternalServerError, "boom")
		r := b.gw.Do("DELETE", loc, nil)
		r.RequireError(t, http.StatusBadGateway, "platform_error", "boom")
		require.Equal(t, "pending", b.gw.Do("GET", loc, nil).JSON(t)["status"], "a failed close changes nothing")
		b.forum.Fail(0, "")
		r = b.gw.Do("DELETE", loc, nil)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		require.Equal(t, map[string]any{"a": 2.0, "b": 0.0}, r.JSON(t)["outcome"].(map[string]any)["votes"],
			"results hidden until close are read from the closed poll")
	})
}

// TestPollOptionsAsSent checks that options Discourse stores as cooked HTML
// (an ampersand escaped, Markdown rendered) come back in outcome.votes under
// the texts the driver sent.
func TestPollOptionsAsSent(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		b := setup(t, db)
		options := []string{"Tea & biscuits", "**Coffee**", "`<script>` tags", "Café \"au lait\""}
		loc, _ := startPoll(t, b, map[string]any{"title": "What do we serve at the meeting?", "options": options})
		post := lastPostID(t, b)

		// Discourse keeps the options rendered.
		p, ok := b.forum.Post(post)
		require.True(t, ok)
		var stored []string
		for _, o := range p.Poll.Options {
			stored = append(stored, o.HTML)
		}
		require.Equal(t, []string{"Tea &amp; biscuits", "<strong>Coffee</strong>", "<code>&lt;script&gt;</code> tags", "Café “au lait”"}, stored)

		b.forum.Vote(post, "Tea & biscuits", 2)
		b.forum.Vote(post, "**Coffee**", 5)
		b.forum.Vote(post, `Café "au lait"`, 1)
		b.restart(t) // runs the minute's poll now
		want := map[string]any{"Tea & biscuits": 2.0, "**Coffee**": 5.0, "`<script>` tags": 0.0, `Café "au lait"`: 1.0}
		require.Eventually(t, func() bool {
			out := b.gw.Do("GET", loc, nil).JSON(t)["outcome"].(map[string]any)
			return reflect.DeepEqual(want, out["votes"])
		}, 15*time.Second, 50*time.Millisecond, "votes keyed by the texts sent")

		r := b.gw.Do("DELETE", loc, nil)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		require.Equal(t, want, r.JSON(t)["outcome"].(map[string]any)["votes"])
	})
}
