package plugin_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/internal/pluginrt"
)

// TestStateSetUntil: SetUntil hands the gateway the expiry with the value;
// Set and Delete afterwards make the key permanent or gone; an expiry not
// after now deletes the key; a process's state cannot expire.
func TestStateSetUntil(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	c := pluginrt.NewCall(nil, nil, func() time.Time { return now })
	st := c.State()

	require.NoError(t, st.SetUntil("a", 1, now.Add(time.Minute)))
	require.NoError(t, st.SetUntil("b", 2, now.Add(time.Hour)))
	require.NoError(t, st.Set("b", 3))
	require.NoError(t, st.SetUntil("c", 4, now.Add(time.Minute)))
	st.Delete("c")
	require.NoError(t, st.SetUntil("d", 5, now))

	var v int
	found, err := st.Get(ctx, "a", &v)
	require.NoError(t, err)
	require.True(t, found)
	require.Equal(t, 1, v)
	found, err = st.Get(ctx, "d", &v)
	require.NoError(t, err)
	require.False(t, found, "an expiry not after now deletes")

	changes := pluginrt.Changes(c)
	require.Equal(t, map[string]time.Time{"a": now.Add(time.Minute)}, changes.Expires)
	require.Equal(t, `1`, string(changes.State["a"]))
	require.Equal(t, `3`, string(changes.State["b"]), "Set makes the key permanent")
	require.Contains(t, changes.State, "c")
	require.Nil(t, changes.State["c"])
	require.Contains(t, changes.State, "d")
	require.Nil(t, changes.State["d"])

	p := pluginrt.NewProcess(pluginrt.ProcessRecord{ID: 7})
	err = p.State().SetUntil("x", 1, now.Add(time.Minute))
	require.ErrorContains(t, err, "a process's state cannot expire")
	require.False(t, pluginrt.ProcessChangesOf(p).StateChanged)
}
