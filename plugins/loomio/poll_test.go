package loomio_test

import (
	"encoding/json"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/internal/app"
	"github.com/metagov/metagov-go/internal/apptest"
	"github.com/metagov/metagov-go/plugin"
	"github.com/metagov/metagov-go/plugin/plugintest"
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

// fetches counts the GETs of a poll the fake received.
func fetches(fake *loomiofake.Server, key string) int {
	n := 0
	for _, req := range fake.Requests() {
		if req.Method == http.MethodGet && req.Path == "/api/b2/polls/"+key {
			n++
		}
	}
	return n
}

func votes(t *testing.T, outcome any) map[string]any {
	t.Helper()
	v, ok := outcome.(map[string]any)["votes"].(map[string]any)
	require.True(t, ok, "votes: %v", outcome)
	return v
}

func TestPollByWebhook(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		b := setup(t, db, app.Config{})
		callbacks := apptest.NewReceiver(t)
		closing := time.Now().Add(72 * time.Hour).UTC()
		loc, rec, key := startPoll(t, b, map[string]any{
			"title": "Adopt the budget?", "options": []string{"agree", "disagree", "abstain"}, "closing_at": closing.Format(time.RFC3339),
			"details": "See the thread", "recipient_emails": []string{"c@example.org"}, "recipient_user_ids": []int{aliceID},
			"notify_recipients": true, "hide_results_until_closed": false, "anonymous": false, "discussion_id": true,
			"callback_url": callbacks.URL,
		})
		pollURL := b.fake.PollURL(key)
		require.Equal(t, "pending", rec["status"])
		require.Equal(t, pollURL, rec["url"])
		zero := map[string]any{"count": 0.0, "users": []any{}, "names": []any{}, "voter_count": 0.0}
		outcome := rec["outcome"].(map[string]any)
		require.Equal(t, map[string]any{"agree": zero, "disagree": zero, "abstain": zero}, outcome["votes"], "i18n names read as the driver's")
		require.Equal(t, false, outcome["results_hidden"])
		require.Equal(t, []any{"agree", "disagree", "abstain"}, outcome["options"])
		require.Equal(t, 2.0, outcome["voters_count"], "the humans of the group, not the bot")
		require.Equal(t, pollURL, outcome["poll_url"])
		// Loomio rounds the closing time down to the hour; the outcome says
		// Loomio's.
		require.Equal(t, closing.Truncate(time.Hour).Format("2006-01-02T15:04:05.000Z"), outcome["closing_at"])

		resource, raw := b.fake.PollParams(key)
		require.Equal(t, map[string]any{"group_id": json.Number("710495"), "title": "Adopt the budget?", "poll_type": "proposal",
			"options": []any{"agree", "disagree", "abstain"}, "closing_at": closing.Format(time.RFC3339), "details": "See the thread",
			"hide_results": "off", "anonymous": false}, resource, "the controller reads the nested poll")
		require.Equal(t, []any{"c@example.org"}, raw["recipient_emails"])
		require.Equal(t, []any{json.Number("879750")}, raw["recipient_user_ids"])
		require.Equal(t, true, raw["notify_recipients"])

		require.NoError(t, b.fake.Vote(key, aliceID, "agree"))
		before := fetches(b.fake, key)
		otherKey := "Zz9Yy8Xx"
		for _, st := range []struct {
			name   string
			url    string
			body   string
			status int
		}{
			{name: "wrong slug", url: b.s.URL + "/api/hooks/" + community + "/loomio/wrong-slug-0000000", body: `{"text": "x"}`, status: http.StatusNotFound},
			{name: "no slug", url: b.s.URL + "/api/hooks/" + community + "/loomio", body: `{"text": "x"}`, status: http.StatusNotFound},
			{name: "another poll", url: b.hook, body: `{"text": "Bob voted on [Other](` + b.fake.URL + `/p/` + otherKey + `?change_vote=true)", "username": "Loomio"}`, status: http.StatusOK},
			{name: "malformed JSON", url: b.hook, body: `{"text": `, status: http.StatusBadRequest},
			{name: "not an object", url: b.hook, body: `["` + pollURL + `"]`, status: http.StatusBadRequest},
		} {
			status, err := loomiofake.Post(st.url, []byte(st.body))
			require.NoError(t, err, st.name)
			require.Equal(t, st.status, status, st.name)
		}
		require.Equal(t, before, fetches(b.fake, key), "none of those fetched the poll")
		require.Equal(t, zero, votes(t, b.s.Do("GET", loc, nil).JSON(t)["outcome"])["agree"])

		// A vote webhook in Loomio's markdown format: only text, icon_url
		// and username, the poll named by its /p/<key> links.
		body, err := b.fake.Body(loomiofake.Markdown, loomiofake.StanceCreated, key)
		require.NoError(t, err)
		var fields map[string]any
		require.NoError(t, json.Unmarshal(body, &fields))
		require.ElementsMatch(t, []string{"text", "icon_url", "username"}, keysOf(fields))
		status, err := loomiofake.Post(b.hook, body)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, status)
		got := callbacks.WaitFor(t, 1, 10*time.Second)
		cb := lastCallback(t, got)
		require.Equal(t, "pending", cb["status"])
		require.Equal(t, map[string]any{"count": 1.0, "users": []any{"879750"}, "names": []any{"Alice Ng"}, "voter_count": 1.0}, votes(t, cb["outcome"])["agree"])
		require.Equal(t, 1.0, cb["outcome"].(map[string]any)["undecided_voters_count"])
		require.Equal(t, 50.0, cb["outcome"].(map[string]any)["cast_stances_pct"])

		b.s.Do("DELETE", loc, nil).RequireError(t, http.StatusMethodNotAllowed, "close_not_supported")

		// A webhook that links to no poll (a comment) fetches every pending
		// poll.
		require.NoError(t, b.fake.Vote(key, bobID, "disagree"))
		status, err = b.fake.SendWebhook(b.hook, loomiofake.Markdown, loomiofake.NewComment, key)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, status)
		got = callbacks.WaitFor(t, 2, 10*time.Second)
		require.Equal(t, map[string]any{"count": 1.0, "users": []any{"4759171"}, "names": []any{"Bob Smith"}, "voter_count": 1.0},
			votes(t, lastCallback(t, got)["outcome"])["disagree"])

		// Closed by its author, announced in the Slack format.
		require.NoError(t, b.fake.ClosePoll(key))
		status, err = b.fake.SendWebhook(b.hook, loomiofake.Slack, loomiofake.PollClosedByUser, key)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, status)
		got = callbacks.WaitFor(t, 3, 10*time.Second)
		cb = lastCallback(t, got)
		require.Equal(t, "completed", cb["status"])
		require.NotNil(t, cb["outcome"].(map[string]any)["closed_at"])
		require.Equal(t, cb["outcome"], b.s.Do("GET", loc, nil).JSON(t)["outcome"])

		// A completed poll ignores further webhooks.
		status, err = b.fake.SendWebhook(b.hook, loomiofake.Markdown, loomiofake.PollExpired, key)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, status)
		b.s.Do("DELETE", loc, nil).RequireError(t, http.StatusConflict, "process_completed")
		time.Sleep(200 * time.Millisecond)
		require.Len(t, callbacks.All(), 3, "one callback per change")
		requireBearerOnly(t, b.fake, botKey)
	})
}

func keysOf(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestWebhookFormats sends a vote webhook in each of Loomio's formats; each
// makes the plugin fetch the poll it links to.
func TestWebhookFormats(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		b := setup(t, db, app.Config{})
		closing := time.Now().Add(72 * time.Hour).UTC().Format(time.RFC3339)
		loc, _, key := startPoll(t, b, map[string]any{"title": "Lunch?", "poll_type": "poll", "options": []string{"pizza", "salad"}, "closing_at": closing})
		for i, format := range loomiofake.Formats {
			voter := []int64{aliceID, bobID}[i%2]
			option := []string{"pizza", "salad"}[i%2]
			require.NoError(t, b.fake.Vote(key, voter, option))
			before := fetches(b.fake, key)
			status, err := b.fake.SendWebhook(b.hook, format, loomiofake.StanceCreated, key)
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, status, format)
			require.Equal(t, before+1, fetches(b.fake, key), "%s: the poll was fetched once", format)
			v := votes(t, b.s.Do("GET", loc, nil).JSON(t)["outcome"])
			require.Equal(t, 1.0, v[option].(map[string]any)["count"], format)
		}
	})
}

// loomioInfo is the plugin with its pending polls fetched every second.
func loomioInfo(t *testing.T) plugin.Info {
	t.Helper()
	info, ok := plugintest.Lookup("loomio")
	require.True(t, ok)
	procs := append([]plugin.ProcessType(nil), info.Processes...)
	procs[0].PollInterval = time.Second
	info.Processes = procs
	return info
}

// TestPollByPeriodicFetch runs a poll whose votes send no webhook: the
// periodic fetch picks them up.
func TestPollByPeriodicFetch(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		b := setup(t, db, app.Config{Plugins: []plugin.Info{loomioInfo(t)}})
		callbacks := apptest.NewReceiver(t)
		closing := time.Now().Add(72 * time.Hour).UTC().Format(time.RFC3339)
		_, _, key := startPoll(t, b, map[string]any{"title": "Lunch?", "poll_type": "poll", "options": []string{"pizza", "salad"},
			"closing_at": closing, "callback_url": callbacks.URL})
		require.NoError(t, b.fake.Vote(key, aliceID, "salad"))
		got := callbacks.WaitFor(t, 1, 20*time.Second)
		cb := lastCallback(t, got)
		require.Equal(t, "pending", cb["status"])
		require.Equal(t, map[string]any{"count": 1.0, "users": []any{"879750"}, "names": []any{"Alice Ng"}, "voter_count": 1.0}, votes(t, cb["outcome"])["salad"])
	})
}

// TestPollHiddenResults runs a poll that hides its results until it
// closes: the outcome says hidden (not zero) until then.
func TestPollHiddenResults(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		b := setup(t, db, app.Config{})
		closing := time.Now().Add(72 * time.Hour).UTC().Format(time.RFC3339)
		for _, input := range []map[string]any{
			{"hide_results": "until_closed"},
			{"hide_results_until_closed": true},
			{"anonymous": true},
		} {
			input["title"], input["options"], input["closing_at"] = "Secret?", []string{"agree", "disagree"}, closing
			loc, rec, key := startPoll(t, b, input)
			outcome := rec["outcome"].(map[string]any)
			require.Equal(t, true, outcome["results_hidden"], "%v", input)
			require.Nil(t, outcome["votes"], "hidden is not zero")
			require.Equal(t, []any{"agree", "disagree"}, outcome["options"])
			resource, _ := b.fake.PollParams(key)
			if input["anonymous"] == nil {
				require.Equal(t, "until_closed", resource["hide_results"])
			}

			require.NoError(t, b.fake.Vote(key, aliceID, "agree"))
			status, err := b.fake.SendWebhook(b.hook, loomiofake.Markdown, loomiofake.NewComment, key)
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, status)
			outcome = b.s.Do("GET", loc, nil).JSON(t)["outcome"].(map[string]any)
			require.Equal(t, true, outcome["results_hidden"])
			require.Nil(t, outcome["votes"])
			require.Equal(t, 1.0, outcome["decided_voters_count"], "turnout is not hidden")

			require.NoError(t, b.fake.ClosePoll(key))
			status, err = b.fake.SendWebhook(b.hook, loomiofake.Markdown, loomiofake.PollClosedByUser, key)
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, status)
			done := b.s.Do("GET", loc, nil).JSON(t)
			require.Equal(t, "completed", done["status"])
			outcome = done["outcome"].(map[string]any)
			require.Equal(t, false, outcome["results_hidden"])
			agree := votes(t, outcome)["agree"].(map[string]any)
			require.Equal(t, 1.0, agree["count"])
			if input["anonymous"] != nil {
				require.Equal(t, []any{}, agree["users"], "an anonymous poll names nobody")
			} else {
				require.Equal(t, []any{"879750"}, agree["users"])
			}
		}
	})
}

// TestPollByTimer runs a poll whose webhook never comes: the gateway
// fetches it at Loomio's closing time. Both clocks jump to just after it.
func TestPollByTimer(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		var offset atomic.Int64
		clock := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
		b := setup(t, db, app.Config{Now: clock})
		b.fake.SetNow(clock)
		callbacks := apptest.NewReceiver(t)
		closing := time.Now().Add(3 * time.Hour).UTC().Format(time.RFC3339)
		loc, rec, key := startPoll(t, b, map[string]any{"title": "Lunch?", "poll_type": "poll", "options": []string{"pizza", "salad"},
			"closing_at": closing, "group_id": "metagov-testing", "callback_url": callbacks.URL})
		require.Equal(t, "pending", rec["status"])
		resource, _ := b.fake.PollParams(key)
		require.Equal(t, json.Number("710496"), resource["group_id"], "the poll is in the group it names")
		require.NoError(t, b.fake.Vote(key, aliceID, "salad"))
		offset.Store(int64(time.Until(b.fake.ClosingAt(key)) + time.Second))

		got := callbacks.WaitFor(t, 1, 20*time.Second)
		cb := lastCallback(t, got)
		require.Equal(t, "completed", cb["status"])
		require.Equal(t, 1.0, votes(t, cb["outcome"])["salad"].(map[string]any)["count"])
		require.True(t, b.fake.Closed(key))
		require.Equal(t, "completed", b.s.Do("GET", loc, nil).JSON(t)["status"])
		require.Equal(t, 1, fetches(b.fake, key), "fetched once, at closing time")
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
				loc, rec, key := startPoll(t, b, map[string]any{"title": tt.name, "poll_type": tt.name, "options": tt.options,
					"closing_at": closingDate, "details_format": "md", "notify_on_closing_soon": "voters"})
				require.Equal(t, "pending", rec["status"])
				require.Len(t, votes(t, rec["outcome"]), len(tt.options))
				resource, _ := b.fake.PollParams(key)
				require.Equal(t, tt.name, resource["poll_type"])
				require.Equal(t, closingDate+"T00:00:00Z", resource["closing_at"])
				require.Equal(t, "voters", resource["notify_on_closing_soon"])
				if tt.name == "score" {
					require.NoError(t, b.fake.VoteScores(key, aliceID, map[string]int{"a": 5, "b": 2}))
					require.NoError(t, b.fake.VoteScores(key, bobID, map[string]int{"a": 3}))
					_, err := b.fake.SendWebhook(b.hook, loomiofake.Markdown, loomiofake.StanceCreated, key)
					require.NoError(t, err)
					v := votes(t, b.s.Do("GET", loc, nil).JSON(t)["outcome"])
					require.Equal(t, map[string]any{"count": 8.0, "users": []any{"879750", "4759171"}, "names": []any{"Alice Ng", "Bob Smith"}, "voter_count": 2.0}, v["a"])
				}
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
			{name: "unknown hide_results", input: valid(map[string]any{"hide_results": "sometimes"}), status: http.StatusBadRequest, code: "invalid_input", field: "/hide_results"},
			{name: "no closing_at", input: map[string]any{"title": "T", "options": []string{"agree"}}, status: http.StatusBadRequest, code: "invalid_input"},
			{name: "closing_at not a date", input: valid(map[string]any{"closing_at": "next tuesday"}), status: http.StatusBadRequest,
				code: "invalid_input", field: "/closing_at", fragments: []string{"neither a date"}},
			{name: "closing_at in the past", input: valid(map[string]any{"closing_at": "2020-01-01"}), status: http.StatusBadRequest,
				code: "invalid_input", field: "/closing_at", fragments: []string{"is not in the future"}},
			{name: "closing_at too far", input: valid(map[string]any{"closing_at": time.Now().AddDate(3, 0, 0).Format("2006-01-02")}), status: http.StatusBadRequest,
				code: "invalid_input", field: "/closing_at", fragments: []string{"more than two years ahead"}},
			{name: "unknown subgroup", input: valid(map[string]any{"subgroup": "nope"}), status: http.StatusBadRequest, code: "invalid_input", field: "/subgroup"},
			{name: "unknown discussion", input: valid(map[string]any{"discussion_id": 99}), status: http.StatusBadRequest, code: "invalid_input", field: "/discussion_id"},
			{name: "loomio refuses the title", input: valid(map[string]any{"title": "   "}), status: http.StatusUnprocessableEntity,
				code: "platform_rejected", field: "/title", fragments: []string{"loomio refused the input (422): title: can't be blank"}},
			{name: "loomio refuses a meeting option", input: valid(map[string]any{"poll_type": "meeting", "options": []string{"soon"}}), status: http.StatusUnprocessableEntity,
				code: "platform_rejected", field: "/options", fragments: []string{`poll_options: "soon" is not a date or time`}},
			{name: "loomio fails", arrange: func() { b.fake.Fail(http.StatusInternalServerError, `{"error":"boom"}`) },
				input: valid(nil), status: http.StatusBadGateway, code: "platform_error", fragments: []string{"boom"}},
			{name: "loomio stalls", arrange: func() { b.fake.Fail(0, ""); b.fake.Stall(true) },
				input: valid(nil), status: http.StatusGatewayTimeout, code: "platform_timeout"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				if tt.arrange != nil {
					tt.arrange()
				}
				r := b.s.Do("POST", "/api/internal/process/loomio.poll", tt.input, header...)
				body := r.RequireError(t, tt.status, tt.code, tt.fragments...)
				if tt.field != "" {
					require.Equal(t, tt.field, body["field"])
				}
				require.NotContains(t, string(r.Body), botKey)
			})
		}
		require.Empty(t, b.fake.PollKeys(), "no poll was created")
	})
}

// TestPollInDiscussion puts a poll in a thread named the original's way,
// by discussion_id: Loomio's current API takes the thread's topic_id.
func TestPollInDiscussion(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		b := setup(t, db, app.Config{})
		r := b.s.Do("POST", "/api/internal/action/loomio.create-discussion", map[string]any{"parameters": map[string]any{"title": "Budget"}}, header...)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		d := r.JSON(t)["discussions"].([]any)[0].(map[string]any)
		closing := time.Now().Add(48 * time.Hour).UTC().Format(time.RFC3339)
		_, _, key := startPoll(t, b, map[string]any{"title": "T", "options": []string{"agree"}, "closing_at": closing, "discussion_id": d["id"]})
		resource, _ := b.fake.PollParams(key)
		require.Equal(t, json.Number(jsonNumber(d["topic_id"])), resource["topic_id"])
		require.NotContains(t, resource, "discussion_id")
	})
}

func jsonNumber(v any) string {
	raw, _ := json.Marshal(v)
	return string(raw)
}
