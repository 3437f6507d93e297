package loomio

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/plugin"
	"github.com/metagov/metagov-go/plugin/plugintest"
	"github.com/metagov/metagov-go/plugins/loomio/loomiofake"
)

func TestHookKeys(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		body string
		want []string
		bad  bool
	}{
		{name: "markdown stance", body: `{"text": "Alice voted on [Budget](https://www.loomio.com/p/m20ZprvH?change_vote=true)\n\n**[Budget](https://www.loomio.com/p/m20ZprvH)**", "username": "Loomio"}`,
			want: []string{"m20ZprvH"}},
		{name: "slack", body: `{"text": "Alice voted on <https://loomio.example.org/p/Ab3dE9fG?change_vote=true|Budget>"}`, want: []string{"Ab3dE9fG"}},
		{name: "discord content", body: `{"content": "closed: [x](http://127.0.0.1:3000/p/K1) and [y](http://127.0.0.1:3000/p/K2/slug)"}`, want: []string{"K1", "K2"}},
		{name: "escaped slashes", body: `{"markdown": "[x](https:\/\/loomio.org\/p\/Esc4ped1)"}`, want: []string{"Esc4ped1"}},
		{name: "a thread only", body: `{"text": "Bob commented on [t](https://loomio.org/d/abc123/t?comment_id=4)"}`, want: []string{}},
		{name: "no link", body: `{"text": "see /p/notalink"}`, want: []string{}},
		{name: "not JSON", body: `text`, bad: true},
		{name: "not an object", body: `"https://loomio.org/p/abc"`, bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			keys, err := hookKeys([]byte(tt.body))
			if tt.bad {
				var inputErr *plugin.InputError
				require.ErrorAs(t, err, &inputErr)
				return
			}
			require.NoError(t, err)
			got := []string{}
			for k := range keys {
				got = append(got, k)
			}
			require.ElementsMatch(t, tt.want, got)
		})
	}
}

func TestOptionName(t *testing.T) {
	t.Parallel()
	require.Equal(t, "agree", optionName("poll_proposal_options.agree", "i18n"))
	require.Equal(t, "block", optionName("block", "i18n"))
	require.Equal(t, "v1.2", optionName("v1.2", "plain"), "a plain name keeps its dots")
	require.Equal(t, "2031-02-01", optionName("2031-02-01", "iso8601"))
}

// TestTally reads results as Loomio's calculate_results writes them: the
// undecided row is no option, voter_scores names every voter even past the
// 50 of voter_ids.
func TestTally(t *testing.T) {
	t.Parallel()
	raw := `[{"id": 940809, "name": "poll_proposal_options.agree", "name_format": "i18n", "score": 2, "voter_ids": [879750],
			"voter_count": 2, "voter_scores": {"879750": 1, "12": 1}},
		{"id": 940810, "name": "poll_proposal_options.disagree", "name_format": "i18n", "score": 0, "voter_ids": [], "voter_count": 0, "voter_scores": {}},
		{"id": -1, "name": "poll_common_votes_panel.undecided", "name_format": "i18n", "score": 0, "voter_ids": [5], "voter_count": 1}]`
	var rows []resultRow
	require.NoError(t, json.Unmarshal([]byte(raw), &rows))
	require.Equal(t, map[string]optionVotes{
		"agree":    {Count: 2, Users: []string{"12", "879750"}, Names: []string{"", "Alice"}, VoterCount: 2},
		"disagree": {Count: 0, Users: []string{}, Names: []string{}},
	}, tally(rows, map[string]string{"879750": "Alice"}))
}

func TestParseClosingAt(t *testing.T) {
	t.Parallel()
	now := time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Time
		bad  string
	}{
		{in: "2023-04-22", want: time.Date(2023, 4, 22, 0, 0, 0, 0, time.UTC)},
		{in: "2024-09-22T04:00:00Z", want: time.Date(2024, 9, 22, 4, 0, 0, 0, time.UTC)},
		{in: "2024-09-22T06:00:00+02:00", want: time.Date(2024, 9, 22, 4, 0, 0, 0, time.UTC)},
		{in: "2024-09-22T04:00:00.500Z", want: time.Date(2024, 9, 22, 4, 0, 0, 5e8, time.UTC)},
		{in: "2024-09-22T04:00:00", want: time.Date(2024, 9, 22, 4, 0, 0, 0, time.UTC)},
		{in: "22/09/2024", bad: "neither a date"},
		{in: "", bad: "neither a date"},
		{in: "2023-01-01", bad: "not in the future"},
		{in: "2025-01-03", bad: "more than two years ahead"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := parseClosingAt(tt.in, now)
			if tt.bad != "" {
				var inputErr *plugin.InputError
				require.ErrorAs(t, err, &inputErr)
				require.Equal(t, "/closing_at", inputErr.Field)
				require.Contains(t, inputErr.Message, tt.bad)
				return
			}
			require.NoError(t, err)
			require.True(t, tt.want.Equal(got), "got %v", got)
		})
	}
}

func TestLateWakeDelay(t *testing.T) {
	t.Parallel()
	for n, want := range []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute,
		16 * time.Minute, 32 * time.Minute, time.Hour, time.Hour} {
		require.Equal(t, want, lateWakeDelay(n), "n=%d", n)
	}
	require.Equal(t, time.Hour, lateWakeDelay(1000))
}

// TestWakeLate wakes a poll that Loomio has not closed yet at its closing
// time, then one Loomio no longer shows.
func TestWakeLate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	fake := loomiofake.New(t)
	fake.AddUser(loomiofake.User{ID: 1, Name: "Bot", Bot: true, APIKey: "key-1"})
	fake.AddUser(loomiofake.User{ID: 7, Name: "Ann"})
	fake.AddGroup(loomiofake.Group{ID: 1, Key: "grp1", Handle: "g", Members: []loomiofake.Membership{{UserID: 1, Admin: true}, {UserID: 7}}})
	now := time.Now().UTC()
	clock := func() time.Time { return now }
	l := &Loomio{}
	cfg := `{"api_key": "key-1", "server_url": "` + fake.URL + `"}`
	require.NoError(t, l.Provision(ctx, plugin.Env{Config: json.RawMessage(cfg), Now: clock, HTTPClient: http.DefaultClient}))
	instState := map[string]json.RawMessage{}
	call := func() *plugin.Call {
		return plugintest.NewCall(func(_ context.Context, k string) (json.RawMessage, bool, error) {
			v, ok := instState[k]
			return v, ok, nil
		}, clock)
	}
	ic := call()
	require.NoError(t, l.Initialize(ctx, ic))
	instState = plugintest.Changes(ic).State

	closing := now.Add(3 * time.Hour)
	input := `{"title": "T", "poll_type": "proposal", "options": ["agree"], "closing_at": "` + closing.Format(time.RFC3339) + `"}`
	p := plugintest.NewProcess(plugintest.ProcessRecord{ID: 1, Name: "poll", Input: json.RawMessage(input), Status: plugin.StatusCreated})
	h := poll{l: l}
	require.NoError(t, h.Start(ctx, call(), p))
	started := plugintest.ProcessChangesOf(p)
	require.Equal(t, plugin.StatusPending, started.Record.Status)
	require.Len(t, started.Wakes, 1)
	require.True(t, closing.Truncate(time.Hour).Equal(started.Wakes[0]), "wakes at Loomio's closing time %v", started.Wakes[0])

	fake.HoldOpen(true)
	fake.SetNow(func() time.Time { return now.Add(4 * time.Hour) })
	rec := started.Record
	for i, want := range []time.Duration{time.Minute, 2 * time.Minute} {
		now = closing.Add(time.Duration(i) * time.Minute)
		p := plugintest.NewProcess(rec)
		require.NoError(t, h.Wake(ctx, call(), p))
		ch := plugintest.ProcessChangesOf(p)
		require.Equal(t, plugin.StatusPending, ch.Record.Status)
		require.Equal(t, []time.Time{now.Add(want)}, ch.Wakes)
		rec = ch.Record
	}

	rec.State[pollKeyKey] = json.RawMessage(`"deleted1"`)
	p = plugintest.NewProcess(rec)
	require.NoError(t, h.Wake(ctx, call(), p))
	gone := plugintest.ProcessChangesOf(p)
	require.Empty(t, gone.Wakes, "a poll Loomio refuses to show is not fetched again")
	require.Equal(t, plugin.StatusPending, gone.Record.Status)
	require.Contains(t, string(gone.Record.Errors), "loomio answered 404")
}
