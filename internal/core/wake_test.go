package core_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/internal/core"
	"github.com/metagov/metagov-go/internal/store"
	"github.com/metagov/metagov-go/plugin"
)

// instant is a process that completes at once when its input asks it to.
type instant struct{}

func (instant) Start(_ context.Context, _ *plugin.Call, p *plugin.Process) error {
	var in struct {
		Done bool `json:"done"`
	}
	if err := p.DecodeInput(&in); err != nil {
		return err
	}
	if in.Done {
		p.Complete()
	}
	return nil
}

type kit struct{}

var kitInfo = plugin.Info{
	Name:        "kit",
	Description: "test plugin",
	New:         func() plugin.Instance { return kit{} },
	Processes: []plugin.ProcessType{{
		Name:  "instant",
		Input: plugin.Schema(`{"type":"object","properties":{"done":{"type":"boolean"}}}`),
		New:   func(plugin.Instance) plugin.ProcessHandler { return instant{} },
	}},
}

func woken(g *core.Gateway) bool {
	select {
	case <-g.DeliveryWake():
		return true
	default:
		return false
	}
}

// TestDeliveryWakeOnlyWhenQueued checks that the dispatcher is woken after a
// commit that queued a delivery and not after one that queued none (a
// wake-up costs it a write transaction).
func TestDeliveryWakeOnlyWhenQueued(t *testing.T) {
	ctx, st, g := kitGateway(t)
	require.False(t, woken(g), "creating a community queues no delivery")

	start := func(body string) core.ProcessView {
		t.Helper()
		v, err := g.StartProcess(ctx, core.StartRequest{Community: "c", Plugin: "kit", Process: "instant", Body: json.RawMessage(body)})
		require.NoError(t, err)
		return v
	}
	start(`{"done": false, "callback_url": "http://127.0.0.1:9/cb"}`)
	require.False(t, woken(g), "a pending start tells the driver nothing by callback")
	start(`{"done": true}`)
	require.False(t, woken(g), "a completed start without a callback_url queues nothing")

	v := start(`{"done": true, "callback_url": "http://127.0.0.1:9/cb"}`)
	require.Equal(t, "completed", v.Status)
	require.True(t, woken(g), "a completed start with a callback_url queues its callback")
	ds, err := st.DeliveryList(ctx, &store.DeliveryListParams{Limit: 10})
	require.NoError(t, err)
	require.Len(t, ds, 1)
}

// kitGateway is a gateway (and its store) on a fresh SQLite file with the kit plugin
// enabled in the community "c".
func kitGateway(t *testing.T) (context.Context, *store.Store, *core.Gateway) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "metagov.db"))
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	require.NoError(t, st.Migrate(ctx))
	g, err := core.New(st, core.Config{Plugins: []plugin.Info{kitInfo}})
	require.NoError(t, err)
	plugins := []core.PluginConfig{{Name: "kit"}}
	_, err = g.CreateCommunity(ctx, core.CommunityInput{Slug: "c", Plugins: &plugins})
	require.NoError(t, err)
	return ctx, st, g
}
