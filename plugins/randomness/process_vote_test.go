package randomness

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/metagov/metagov-go/plugin"
	"github.com/metagov/metagov-go/plugin/plugintest"
	"github.com/stretchr/testify/require"
)

// startVote starts a delayed-stochastic-vote and returns its handler and what
// the start changed.
func startVote(t *testing.T, b *testBundle, options []string, delay int64) (plugin.ProcessHandler, plugintest.ProcessChanges) {
	t.Helper()
	pt := b.info.Processes[0]
	require.Equal(t, "delayed-stochastic-vote", pt.Name)
	h := pt.New(b.inst)
	input, err := json.Marshal(map[string]any{"options": options, "delay": delay})
	require.NoError(t, err)
	p := plugintest.NewProcess(plugintest.ProcessRecord{ID: 1, Name: pt.Name, Input: input, Status: plugin.StatusCreated})
	require.NoError(t, h.Start(context.Background(), b.call(), p))
	return h, plugintest.ProcessChangesOf(p)
}

// step runs one handler method on a fresh copy of rec, as the gateway does
// for every invocation, and returns what it changed.
func step(t *testing.T, b *testBundle, rec plugintest.ProcessRecord,
	fn func(context.Context, *plugin.Call, *plugin.Process) error) plugintest.ProcessChanges {
	t.Helper()
	p := plugintest.NewProcess(rec)
	require.NoError(t, fn(context.Background(), b.call(), p))
	return plugintest.ProcessChangesOf(p)
}

func TestDelayedStochasticVote(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		options    []string
		delay      int64
		closeEarly bool // the driver closes the vote before it is due
	}{
		{name: "no delay", options: []string{"only"}, delay: 0},
		{name: "five minutes", options: []string{"one", "two", "three"}, delay: 5},
		{name: "closed early", options: []string{"one", "two"}, delay: 60, closeEarly: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, `{"default_low": 0, "default_high": 10}`)
			start := b.now
			closingAt := start.Add(time.Duration(tt.delay) * time.Minute)
			h, started := startVote(t, b, tt.options, tt.delay)
			require.True(t, started.Changed)
			require.Len(t, started.Wakes, 1)
			require.True(t, closingAt.Equal(started.Wakes[0]), "wakes at %v, want %v", started.Wakes[0], closingAt)
			rec := started.Record
			require.Equal(t, plugin.StatusPending, rec.Status)
			require.JSONEq(t, `{}`, string(rec.Outcome))
			options, err := json.Marshal(tt.options)
			require.NoError(t, err)
			require.JSONEq(t, string(options), string(rec.State[optionsKey]))
			var storedClosingAt time.Time
			require.NoError(t, json.Unmarshal(rec.State[closingAtKey], &storedClosingAt))
			require.True(t, closingAt.Equal(storedClosingAt), "closing_at %v, want %v", storedClosingAt, closingAt)

			if tt.closeEarly {
				ch := step(t, b, rec, h.(plugin.ProcessCloser).Close)
				requireWon(t, ch.Record, tt.options)
				return
			}
			if tt.delay > 0 {
				b.now = closingAt.Add(-time.Second)
				ch := step(t, b, rec, h.(plugin.ProcessWaker).Wake)
				require.False(t, ch.Changed)
				require.Equal(t, plugin.StatusPending, ch.Record.Status)
				require.Len(t, ch.Wakes, 1)
				require.True(t, closingAt.Equal(ch.Wakes[0]), "woke early, rescheduled at %v, want %v", ch.Wakes[0], closingAt)
			}
			b.now = closingAt
			ch := step(t, b, rec, h.(plugin.ProcessWaker).Wake)
			require.Empty(t, ch.Wakes)
			requireWon(t, ch.Record, tt.options)

			// Once completed, neither a late wake-up nor a close redraws.
			for range 20 {
				for _, fn := range []func(context.Context, *plugin.Call, *plugin.Process) error{
					h.(plugin.ProcessWaker).Wake, h.(plugin.ProcessCloser).Close,
				} {
					again := step(t, b, ch.Record, fn)
					require.False(t, again.Changed)
					require.Equal(t, ch.Record, again.Record)
				}
			}
		})
	}
}

// TestEveryOptionCanWin closes many votes; a miss has probability 3·(2/3)^200.
func TestEveryOptionCanWin(t *testing.T) {
	t.Parallel()
	b := setup(t, `{"default_low": 0, "default_high": 10}`)
	options := []string{"one", "two", "three"}
	h, started := startVote(t, b, options, 10)
	wins := map[string]int{}
	for range 200 {
		ch := step(t, b, started.Record, h.(plugin.ProcessCloser).Close)
		var out voteOutcome
		require.NoError(t, json.Unmarshal(ch.Record.Outcome, &out))
		wins[out.Winner]++
	}
	require.Len(t, wins, len(options))
	for _, o := range options {
		require.Positive(t, wins[o], "option %q never won", o)
	}
}

// requireWon checks that rec is a completed vote won by one of options.
func requireWon(t *testing.T, rec plugintest.ProcessRecord, options []string) {
	t.Helper()
	require.Equal(t, plugin.StatusCompleted, rec.Status)
	var out map[string]string
	require.NoError(t, json.Unmarshal(rec.Outcome, &out))
	require.Len(t, out, 1, "outcome %s", rec.Outcome)
	require.Contains(t, options, out["winner"])
}
