package loomio

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/plugin"
	"github.com/metagov/metagov-go/plugins/loomio/loomiofake"
)

func TestHookConcerns(t *testing.T) {
	t.Parallel()
	const pollURL = "https://www.loomio.org/p/m20ZprvH"
	tests := []struct {
		name string
		url  string
		want bool
	}{
		{name: "the poll", url: pollURL, want: true},
		{name: "with a query", url: pollURL + "?stance=4097752", want: true},
		{name: "with a path", url: pollURL + "/results", want: true},
		{name: "with a fragment", url: pollURL + "#votes", want: true},
		{name: "moved host", url: "https://www.loomio.com/p/m20ZprvH", want: true},
		{name: "longer key", url: pollURL + "X", want: false},
		{name: "another poll", url: "https://www.loomio.org/p/other123", want: false},
		{name: "a discussion", url: "https://www.loomio.org/d/m20ZprvH", want: false},
		{name: "empty", url: "", want: false},
		{name: "not a URL", url: "::", want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, hook{Kind: kindStanceCreated, URL: tt.url}.concerns(pollURL, "m20ZprvH"))
		})
	}
}

// TestTally uses the options of a poll answer recorded from loomio.org by
// the original's tests.
func TestTally(t *testing.T) {
	t.Parallel()
	raw := `{"polls": [{"id": 234203, "key": "m20ZprvH", "closed_at": "2021-09-28T18:50:14.603Z"}],
		"poll_options": [
			{"name": "disagree", "id": 940810, "poll_id": 234203, "priority": 1, "voter_scores": {}, "total_score": 0},
			{"name": "agree", "id": 940809, "poll_id": 234203, "priority": 0, "voter_scores": {"879750": 1}, "total_score": 1},
			{"name": "other poll", "id": 1, "poll_id": 1, "voter_scores": {}, "total_score": 0}
		]}`
	a, err := decodePolls(json.RawMessage(raw))
	require.NoError(t, err)
	require.Equal(t, map[string]optionVotes{
		"agree":    {Count: 1, Users: []string{"879750"}},
		"disagree": {Count: 0, Users: []string{}},
	}, tally(a.PollOptions, a.find("m20ZprvH").ID))
}

func TestParseClosingAt(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want time.Time
		bad  bool
	}{
		{in: "2023-04-22", want: time.Date(2023, 4, 22, 0, 0, 0, 0, time.UTC)},
		{in: "2024-09-22T04:00:00Z", want: time.Date(2024, 9, 22, 4, 0, 0, 0, time.UTC)},
		{in: "2024-09-22T06:00:00+02:00", want: time.Date(2024, 9, 22, 4, 0, 0, 0, time.UTC)},
		{in: "2024-09-22T04:00:00.500Z", want: time.Date(2024, 9, 22, 4, 0, 0, 5e8, time.UTC)},
		{in: "2024-09-22T04:00:00", want: time.Date(2024, 9, 22, 4, 0, 0, 0, time.UTC)},
		{in: "22/09/2024", bad: true},
		{in: "", bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := parseClosingAt(tt.in)
			if tt.bad {
				var inputErr *plugin.InputError
				require.ErrorAs(t, err, &inputErr)
				require.Equal(t, "/closing_at", inputErr.Field)
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
	fake.AddGroup("key-1", loomiofake.Group{ID: 1, Key: "grp1", Handle: "g", Members: []loomiofake.Member{{ID: 7}}})
	now := time.Now().UTC()
	clock := func() time.Time { return now }
	l := &Loomio{}
	cfg := `{"api_key": "key-1", "server_url": "` + fake.URL + `", "webhook_slug": "0123456789abcdef"}`
	require.NoError(t, l.Provision(ctx, plugin.Env{Config: json.RawMessage(cfg), Now: clock}))
	instState := map[string]json.RawMessage{}
	call := func() *plugin.Call {
		return plugin.NewCall(func(_ context.Context, k string) (json.RawMessage, bool, error) {
			v, ok := instState[k]
			return v, ok, nil
		}, clock)
	}
	ic := call()
	require.NoError(t, l.Initialize(ctx, ic))
	instState = ic.Changes().State

	closing := now.Add(time.Hour)
	input := `{"title": "T", "poll_type": "proposal", "options": ["agree"], "closing_at": "` + closing.Format(time.RFC3339) + `"}`
	p := plugin.NewProcess(plugin.ProcessRecord{ID: 1, Name: "poll", Input: json.RawMessage(input), Status: plugin.StatusCreated})
	h := poll{l: l}
	require.NoError(t, h.Start(ctx, call(), p))
	started := p.Changes()
	require.Equal(t, plugin.StatusPending, started.Record.Status)
	require.Len(t, started.Wakes, 1)
	require.True(t, closing.Truncate(time.Second).Equal(started.Wakes[0]), "wakes at %v", started.Wakes[0])

	fake.HoldOpen(true)
	fake.SetNow(func() time.Time { return now.Add(2 * time.Hour) })
	rec := started.Record
	for i, want := range []time.Duration{time.Minute, 2 * time.Minute} {
		now = closing.Add(time.Duration(i) * time.Minute)
		p := plugin.NewProcess(rec)
		require.NoError(t, h.Wake(ctx, call(), p))
		ch := p.Changes()
		require.Equal(t, plugin.StatusPending, ch.Record.Status)
		require.Equal(t, []time.Time{now.Add(want)}, ch.Wakes)
		rec = ch.Record
	}

	rec.State[pollKeyKey] = json.RawMessage(`"deleted1"`)
	p = plugin.NewProcess(rec)
	require.NoError(t, h.Wake(ctx, call(), p))
	gone := p.Changes()
	require.Empty(t, gone.Wakes, "a poll Loomio refuses to show is not fetched again")
	require.Equal(t, plugin.StatusPending, gone.Record.Status)
	require.Contains(t, string(gone.Record.Errors), "Couldn't find Poll")
}
