package loomio_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/internal/app"
	"github.com/metagov/metagov-go/internal/apptest"
	"github.com/metagov/metagov-go/plugins/loomio/loomiofake"
)

// startPoll starts a poll and returns its location, its record and the
// key Loomio gave it.
func startPoll(t *testing.T, b *testBundle, input map[string]any) (string, map[string]any, string) {
	t.Helper()
	r := b.s.Do("POST", "/api/internal/process/loomio.poll", input, header...)
	require.Equal(t, http.StatusAccepted, r.Status, string(r.Body))
	keys := b.fake.PollKeys()
	key := keys[len(keys)-1]
	return r.Header.Get("Location"), r.JSON(t), key
}

// lastCallback decodes the latest callback received.
func lastCallback(t *testing.T, got []apptest.Received) map[string]any {
	t.Helper()
	var cb map[string]any
	require.NoError(t, json.Unmarshal(got[len(got)-1].Body, &cb))
	return cb
}

func TestPollByWebhook(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		b := setup(t, db, app.Config{})
		callbacks := apptest.NewReceiver(t)
		closing := time.Now().Add(72 * time.Hour).UTC().Format(time.RFC3339)
		loc, rec, key := startPoll(t, b, map[string]any{
			"title": "Adopt the budget?", "options": []string{"agree", "disagree", "abstain"}, "closing_at": closing,
			"details": "See the thread", "recipient_emails": []string{"c@example.org"}, "recipient_user_ids": []int{879750},
			"anonymous": false, "discussion_id": true, "callback_url": callbacks.URL,
		})
		pollURL := b.fake.PollURL(key)
		require.Equal(t, "pending", rec["status"])
		require.Equal(t, pollURL, rec["url"])
		zero := map[string]any{"count": 0.0, "users": []any{}}
		require.Equal(t, map[string]any{
			"poll_url": pollURL, "votes": map[string]any{"agree": zero, "disagree": zero, "abstain": zero},
			"voters_count": 2.0, "undecided_voters_count": 2.0, "cast_stances_pct": 0.0,
		}, rec["outcome"])

		form := b.fake.PollForm(key)
		require.Equal(t, []string{"agree", "disagree", "abstain"}, form["options[]"])
		require.Equal(t, []string{"c@example.org"}, form["recipient_emails[]"])
		require.Equal(t, []string{"879750"}, form["recipient_user_ids[]"])
		require.Equal(t, "proposal", form.Get("poll_type"), "proposal is the default poll type")
		require.Equal(t, "false", form.Get("anonymous"))
		require.Empty(t, form["discussion_id"], "the boolean the old schema allowed is not sent")
		require.Equal(t, mainKey, form.Get("api_key"))
		requests := b.fake.Requests()
		require.Equal(t, "application/x-www-form-urlencoded", requests[len(requests)-1].ContentType)

		votes := func() map[string]any {
			return b.s.Do("GET", loc, nil).JSON(t)["outcome"].(map[string]any)["votes"].(map[string]any)
		}
		require.NoError(t, b.fake.Vote(key, 879750, "agree"))
		steps := []struct {
			name   string
			hook   string
			kind   string
			url    string
			status int
		}{
			{name: "wrong slug", hook: b.s.URL + "/api/hooks/" + community + "/loomio/wrong-slug-0000000", kind: loomiofake.StanceCreated, url: pollURL, status: http.StatusNotFound},
			{name: "no slug", hook: b.s.URL + "/api/hooks/" + community + "/loomio", kind: loomiofake.StanceCreated, url: pollURL, status: http.StatusNotFound},
			{name: "another poll", hook: b.hook, kind: loomiofake.StanceCreated, url: b.fake.PollURL(key + "x"), status: http.StatusOK},
			{name: "another kind", hook: b.hook, kind: "comment_created", url: pollURL, status: http.StatusOK},
		}
		for _, st := range steps {
			status, err := b.fake.SendWebhook(st.hook, st.kind, st.url)
			require.NoError(t, err, st.name)
			require.Equal(t, st.status, status, st.name)
			require.Equal(t, zero, votes()["agree"], "%s: the poll is not fetched", st.name)
		}
		status, err := loomiofake.Post(b.hook, []byte(`{"kind": "stance_created",`))
		require.NoError(t, err)
		require.Equal(t, http.StatusBadRequest, status, "malformed JSON")

		status, err = b.fake.SendWebhook(b.hook, loomiofake.StanceCreated, pollURL+"?stance=1")
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, status)
		got := callbacks.WaitFor(t, 1, 10*time.Second)
		cb := lastCallback(t, got)
		require.Equal(t, "pending", cb["status"])
		outcome := cb["outcome"].(map[string]any)
		require.Equal(t, map[string]any{"count": 1.0, "users": []any{"879750"}}, outcome["votes"].(map[string]any)["agree"])
		require.Equal(t, 1.0, outcome["undecided_voters_count"])
		require.Equal(t, 50.0, outcome["cast_stances_pct"])
		require.Equal(t, pollURL, outcome["poll_url"])

		requireError(t, b.s.Do("DELETE", loc, nil), http.StatusMethodNotAllowed, "close_not_supported")

		require.NoError(t, b.fake.Vote(key, 4759171, "disagree"))
		require.NoError(t, b.fake.ClosePoll(key))
		status, err = b.fake.SendWebhook(b.hook, loomiofake.PollClosedByUser, pollURL)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, status)
		got = callbacks.WaitFor(t, 2, 10*time.Second)
		cb = lastCallback(t, got)
		require.Equal(t, "completed", cb["status"])
		require.Equal(t, map[string]any{"count": 1.0, "users": []any{"4759171"}}, cb["outcome"].(map[string]any)["votes"].(map[string]any)["disagree"])
		require.Equal(t, cb["outcome"], b.s.Do("GET", loc, nil).JSON(t)["outcome"])

		// A completed poll ignores further webhooks.
		status, err = b.fake.SendWebhook(b.hook, loomiofake.PollExpired, pollURL)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, status)
		requireError(t, b.s.Do("DELETE", loc, nil), http.StatusConflict, "process_completed")
		time.Sleep(200 * time.Millisecond)
		require.Len(t, callbacks.All(), 2, "one callback per change")
	})
}

// TestPollByTimer runs a poll whose webhook never comes. The gateway's clock
// is two minutes ahead and closing_at two minutes and two seconds from now,
// so the timer falls due two seconds after the start; by then the fake is on
// the gateway's clock, under which the poll has lapsed.
func TestPollByTimer(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		later := func() time.Time { return time.Now().Add(2 * time.Minute) }
		b := setup(t, db, app.Config{Now: later})
		callbacks := apptest.NewReceiver(t)
		closing := time.Now().Add(2*time.Minute + 2*time.Second).UTC().Format(time.RFC3339)
		loc, rec, key := startPoll(t, b, map[string]any{"title": "Lunch?", "poll_type": "poll", "options": []string{"pizza", "salad"},
			"closing_at": closing, "subgroup": "2qE8dI91", "callback_url": callbacks.URL})
		require.Equal(t, "pending", rec["status"])
		require.Equal(t, subKey, b.fake.PollForm(key).Get("api_key"), "the subgroup's key creates the poll")
		require.NoError(t, b.fake.Vote(key, 879750, "salad"))
		b.fake.SetNow(later)

		got := callbacks.WaitFor(t, 1, 20*time.Second)
		cb := lastCallback(t, got)
		require.Equal(t, "completed", cb["status"])
		require.Equal(t, map[string]any{"count": 1.0, "users": []any{"879750"}}, cb["outcome"].(map[string]any)["votes"].(map[string]any)["salad"])
		require.True(t, b.fake.Closed(key))
		require.Equal(t, "completed", b.s.Do("GET", loc, nil).JSON(t)["status"])
		var fetches int
		for _, req := range b.fake.Requests() {
			if req.Path == "/api/b1/polls/"+key {
				fetches++
				require.Equal(t, subKey, req.Params.Get("api_key"))
			}
		}
		require.Equal(t, 1, fetches, "fetched once, at closing time")
	})
}

func TestPollTypes(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		b := setup(t, db, app.Config{})
		closingDate := time.Now().AddDate(0, 0, 3).UTC().Format("2006-01-02")
		tests := []struct {
			name    string
			options []string
		}{
			{name: "proposal", options: []string{"agree", "disagree", "abstain", "block"}},
			{name: "poll", options: []string{"red", "green"}},
			{name: "count", options: []string{"yes", "no"}},
			{name: "score", options: []string{"a", "b", "c"}},
			{name: "ranked_choice", options: []string{"x", "y", "z"}},
			{name: "meeting", options: []string{"2031-02-01", "2031-02-02T10:00:00Z"}},
			{name: "dot_vote", options: []string{"one", "two"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, rec, key := startPoll(t, b, map[string]any{"title": tt.name, "poll_type": tt.name, "options": tt.options,
					"closing_at": closingDate, "details_format": "md", "notify_on_closing_soon": "voters"})
				require.Equal(t, "pending", rec["status"])
				require.Len(t, rec["outcome"].(map[string]any)["votes"], len(tt.options))
				form := b.fake.PollForm(key)
				require.Equal(t, tt.name, form.Get("poll_type"))
				require.Equal(t, closingDate, form.Get("closing_at"), "a date is passed on as given")
				require.Equal(t, "voters", form.Get("notify_on_closing_soon"))
			})
		}
	})
}

func TestPollStartErrors(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		b := setup(t, db, app.Config{})
		closing := time.Now().Add(48 * time.Hour).UTC().Format(time.RFC3339)
		valid := func(changes map[string]any) map[string]any {
			in := map[string]any{"title": "T", "options": []string{"agree", "disagree"}, "closing_at": closing}
			for k, v := range changes {
				in[k] = v
			}
			return in
		}
		tests := []struct {
			name      string
			arrange   func()
			input     map[string]any
			status    int
			code      string
			field     string
			fragments []string
		}{
			{name: "unknown poll type", input: valid(map[string]any{"poll_type": "lottery"}), status: http.StatusBadRequest, code: "invalid_input", field: "/poll_type"},
			{name: "no closing_at", input: map[string]any{"title": "T", "options": []string{"agree"}}, status: http.StatusBadRequest, code: "invalid_input"},
			{name: "closing_at not a date", input: valid(map[string]any{"closing_at": "next tuesday"}), status: http.StatusBadRequest,
				code: "invalid_input", field: "/closing_at", fragments: []string{"neither a date"}},
			{name: "unknown subgroup", input: valid(map[string]any{"subgroup": "nope"}), status: http.StatusBadRequest, code: "invalid_input", field: "/subgroup"},
			{name: "loomio refuses the options", input: valid(map[string]any{"options": []string{"maybe"}}), status: http.StatusUnprocessableEntity,
				code: "platform_rejected", fragments: []string{"loomio refused the input (422)", `"options"`, "maybe"}},
			{name: "closing_at in the past", input: valid(map[string]any{"closing_at": "2020-01-01"}), status: http.StatusUnprocessableEntity,
				code: "platform_rejected", fragments: []string{"must be in the future"}},
			{name: "loomio fails", arrange: func() { b.fake.Fail(http.StatusInternalServerError, `{"exception":"RuntimeError boom"}`) },
				input: valid(nil), status: http.StatusBadGateway, code: "platform_error", fragments: []string{"RuntimeError boom"}},
			{name: "loomio stalls", arrange: func() { b.fake.Fail(0, ""); b.fake.Stall(true) },
				input: valid(nil), status: http.StatusGatewayTimeout, code: "platform_timeout"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				if tt.arrange != nil {
					tt.arrange()
				}
				r := b.s.Do("POST", "/api/internal/process/loomio.poll", tt.input, header...)
				body := requireError(t, r, tt.status, tt.code, tt.fragments...)
				if tt.field != "" {
					require.Equal(t, tt.field, body["field"])
				}
				require.NotContains(t, string(r.Body), mainKey)
			})
		}
		require.Empty(t, b.fake.PollKeys(), "no poll was created")
	})
}
