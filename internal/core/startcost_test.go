package core_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/internal/apptest"
	"github.com/metagov/metagov-go/internal/core"
	"github.com/metagov/metagov-go/internal/pluginrt"
	"github.com/metagov/metagov-go/internal/store"
	"github.com/metagov/metagov-go/plugin"
	_ "github.com/metagov/metagov-go/plugins/randomness" // the process the load harness starts
)

// TestProcessStartCost keeps what a process start costs the database from
// growing back: the start the load harness measures (a stochastic vote with
// a callback URL, woken in an hour) writes the process, its wake-up timer
// and its audit entry in three statements and one commit, which on
// PostgreSQL go in a single round trip (no BEGIN, no COMMIT, no waiting
// between the statements). The community, its instances and the block of
// process ids come from the gateway's memory once the first start has
// loaded them. A start that needs answers inside its transaction (a
// callback of a process that completed at once) takes an ordinary one.
func TestProcessStartCost(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		ctx := context.Background()
		st, err := store.Open(ctx, db.DSN)
		require.NoError(t, err)
		t.Cleanup(func() { st.Close() })
		require.NoError(t, st.Migrate(ctx))
		randomness, ok := pluginrt.Lookup("randomness")
		require.True(t, ok)
		g, err := core.New(st, core.Config{Plugins: []plugin.Info{randomness, kitInfo}})
		require.NoError(t, err)
		plugins := []core.PluginConfig{{Name: "randomness", Config: json.RawMessage(`{"default_low": 1, "default_high": 100}`)}, {Name: "kit"}}
		_, err = g.CreateCommunity(ctx, core.CommunityInput{Slug: "c", Plugins: &plugins})
		require.NoError(t, err)

		start := func(ctx context.Context, plugin, process, body string) (core.ProcessView, *store.Usage) {
			t.Helper()
			var u store.Usage
			v, err := g.StartProcess(store.WithUsage(ctx, &u), core.StartRequest{Community: "c", Plugin: plugin, Process: process, Body: json.RawMessage(body)})
			require.NoError(t, err)
			return v, &u
		}
		const vote = `{"options": ["a", "b"], "delay": 60, "callback_url": "http://127.0.0.1:9/cb"}`
		// The first start loads the community and reserves a block of ids.
		start(ctx, "randomness", "delayed-stochastic-vote", vote)

		v, u := start(ctx, "randomness", "delayed-stochastic-vote", vote)
		require.Equal(t, "pending", string(v.Status))
		require.EqualValues(t, 3, u.Statements.Load(), "statements: the process, its timer, the audit entry")
		require.EqualValues(t, 1, u.Commits.Load(), "commits")
		if db.Name == "postgres" {
			require.EqualValues(t, 1, u.RoundTrips.Load(), "round trips")
		}

		// A process that completes at once queues its callback, which
		// replaces a queued one or takes a new delivery id: that start
		// reads inside its transaction, so it takes BEGIN and COMMIT.
		v, u = start(ctx, "kit", "instant", `{"done": true, "callback_url": "http://127.0.0.1:9/cb"}`)
		require.Equal(t, "completed", string(v.Status))
		require.EqualValues(t, 1, u.Commits.Load(), "commits")
		require.EqualValues(t, 4, u.Statements.Load(), "statements: the process, the callback (replace, insert), the audit entry")
		if db.Name == "postgres" {
			// BEGIN, four statements, COMMIT, and the preparation of each
			// statement on a connection it is new to.
			require.GreaterOrEqual(t, u.RoundTrips.Load(), int64(6), "round trips")
		}
	})
}
