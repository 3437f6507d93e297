package core_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/internal/core"
	"github.com/metagov/metagov-go/internal/store"
	"github.com/metagov/metagov-go/plugin"
)

type pages struct{}

// pagesParams are the "floor" action's: values to set (a null deletes, a
// number with Until set expires in a minute), then the floor to find.
type pagesParams struct {
	Set    map[string]*int `json:"set"`
	Until  bool            `json:"until"`
	Prefix string          `json:"prefix"`
	Key    string          `json:"key"`
}

var pagesInfo = plugin.Info{
	Name:        "pages",
	Description: "test plugin that keeps pages of values",
	New:         func() plugin.Instance { return pages{} },
	Actions: []plugin.Action{{
		Name:   "floor",
		Input:  plugin.Schema(`{"type":"object","properties":{"set":{"type":"object","additionalProperties":{"type":["integer","null"]}},"until":{"type":"boolean"},"prefix":{"type":"string"},"key":{"type":"string"}}}`),
		Output: plugin.Schema(`{"type":"object","properties":{"key":{"type":"string"},"value":{"type":"integer"},"found":{"type":"boolean"}}}`),
		Run: plugin.Bind(func(_ pages, ctx context.Context, c *plugin.Call, in pagesParams) (map[string]any, error) {
			for k, v := range in.Set {
				switch {
				case v == nil:
					c.State().Delete(k)
				case in.Until:
					if err := c.State().SetUntil(k, *v, c.Now().Add(time.Minute)); err != nil {
						return nil, err
					}
				default:
					if err := c.State().Set(k, *v); err != nil {
						return nil, err
					}
				}
			}
			var v int
			k, ok, err := c.State().Floor(ctx, in.Prefix, in.Key, &v)
			return map[string]any{"key": k, "value": v, "found": ok}, err
		}),
	}},
}

// TestStateFloorThroughGateway: State.Floor in an action reads the
// instance's committed state through the gateway's store, with the
// action's own writes and deletes over it, and skips values that expired
// by the gateway's clock.
func TestStateFloorThroughGateway(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "metagov.db"))
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	require.NoError(t, st.Migrate(ctx))
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	g, err := core.New(st, core.Config{Plugins: []plugin.Info{pagesInfo}, Now: func() time.Time { return now }})
	require.NoError(t, err)
	plugins := []core.PluginConfig{{Name: "pages"}}
	_, err = g.CreateCommunity(ctx, core.CommunityInput{Slug: "c", Plugins: &plugins})
	require.NoError(t, err)

	floor := func(params string) string {
		t.Helper()
		out, err := g.PerformAction(ctx, core.ActionRequest{Community: "c", Plugin: "pages", Action: "floor", Parameters: json.RawMessage(params)})
		require.NoError(t, err)
		return string(out)
	}
	require.JSONEq(t, `{"key":"","value":0,"found":false}`, floor(`{"prefix":"page/","key":"page/m"}`))
	floor(`{"set":{"page/B":1,"page/a":2,"page/Ä":3,"pagf":4,"page/t":5}}`)
	floor(`{"set":{"page/c":6},"until":true}`)

	require.JSONEq(t, `{"key":"page/a","value":2,"found":true}`, floor(`{"prefix":"page/","key":"page/b"}`), "byte order: a < b < Ä")
	require.JSONEq(t, `{"key":"page/c","value":6,"found":true}`, floor(`{"prefix":"page/","key":"page/d"}`))
	require.JSONEq(t, `{"key":"page/Ä","value":3,"found":true}`, floor(`{"prefix":"page/","key":"pagz"}`), "pagf is outside the prefix")
	require.JSONEq(t, `{"key":"page/B","value":1,"found":true}`, floor(`{"set":{"page/a":null},"prefix":"page/","key":"page/b"}`),
		"the action's delete of the stored floor falls to the next key")
	require.JSONEq(t, `{"key":"page/b","value":7,"found":true}`, floor(`{"set":{"page/b":7},"prefix":"page/","key":"page/b"}`),
		"the action's own write")
	require.JSONEq(t, `{"key":"page/b","value":7,"found":true}`, floor(`{"prefix":"page/","key":"page/bb"}`), "committed")

	now = now.Add(2 * time.Minute)
	require.JSONEq(t, `{"key":"page/b","value":7,"found":true}`, floor(`{"prefix":"page/","key":"page/d"}`), "page/c expired")
}
