package plugintest_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/plugin/plugintest"
)

// TestNewCallOver: every read of a unit test's Call over a map sees the
// map, State.Floor and State.Scan included, with the Call's own writes
// over it, and the map is left alone.
func TestNewCallOver(t *testing.T) {
	ctx := context.Background()
	state := map[string]json.RawMessage{"page/a": []byte(`1`), "page/m": []byte(`2`), "other": []byte(`3`)}
	c := plugintest.NewCallOver(state, nil)
	st := c.State()

	var v int
	found, err := st.Get(ctx, "page/m", &v)
	require.NoError(t, err)
	require.True(t, found)
	require.Equal(t, 2, v)
	k, ok, err := st.Floor(ctx, "page/", "page/z", &v)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, "page/m", k)

	st.Delete("page/m")
	k, ok, err = st.Floor(ctx, "page/", "page/z", &v)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, "page/a", k)
	require.Equal(t, 1, v)

	var keys []string
	require.NoError(t, st.Scan(ctx, "page/", func(k string, _ json.RawMessage) error {
		keys = append(keys, k)
		return nil
	}))
	require.Equal(t, []string{"page/a"}, keys)
	require.Len(t, state, 3, "the map is left alone")
	require.Contains(t, plugintest.Changes(c).State, "page/m")

	_, ok, err = plugintest.NewCallOver(nil, nil).State().Floor(ctx, "page/", "page/z", &v)
	require.NoError(t, err)
	require.False(t, ok)
}
