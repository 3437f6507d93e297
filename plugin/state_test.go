package plugin_test

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/internal/pluginrt"
	"github.com/metagov/metagov-go/plugin"
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

// TestStateScan: Scan visits the stored values under the prefix and the
// invocation's own writes in byte order of the keys, a write replacing and a
// delete hiding the stored value, through the scanner or else the lister,
// and stops at fn's first error.
func TestStateScan(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	stored := map[string]json.RawMessage{"b/1": []byte(`1`), "b/3": []byte(`3`), "b/5": []byte(`5`), "b/7": []byte(`7`), "c/1": []byte(`0`)}
	keys := slices.Sorted(maps.Keys(stored))
	list := func(_ context.Context, prefix string) (map[string]json.RawMessage, error) {
		out := map[string]json.RawMessage{}
		for k, v := range stored {
			if strings.HasPrefix(k, prefix) {
				out[k] = v
			}
		}
		return out, nil
	}
	scan := func(_ context.Context, prefix string, fn func(string, json.RawMessage) error) error {
		for _, k := range keys {
			if strings.HasPrefix(k, prefix) {
				if err := fn(k, stored[k]); err != nil {
					return err
				}
			}
		}
		return nil
	}
	calls := map[string]*plugin.Call{
		"scanner": pluginrt.WithScanner(pluginrt.NewCall(nil, nil, nil), scan),
		"lister":  pluginrt.NewCall(nil, list, nil),
	}
	for name, c := range calls {
		t.Run(name, func(t *testing.T) {
			st := c.State()
			require.NoError(t, st.Set("b/0", 10))
			require.NoError(t, st.Set("b/3", 30))
			require.NoError(t, st.Set("b/4", 40))
			st.Delete("b/5")
			require.NoError(t, st.Set("b/9", 90))
			require.NoError(t, st.Set("a/1", 0))
			var got []string
			require.NoError(t, st.Scan(ctx, "b/", func(k string, v json.RawMessage) error {
				got = append(got, k+"="+string(v))
				return nil
			}))
			require.Equal(t, []string{"b/0=10", "b/1=1", "b/3=30", "b/4=40", "b/7=7", "b/9=90"}, got)

			stop := errors.New("stop")
			n := 0
			err := st.Scan(ctx, "b/", func(string, json.RawMessage) error {
				n++
				if n == 3 {
					return stop
				}
				return nil
			})
			require.ErrorIs(t, err, stop)
			require.Equal(t, 3, n)
		})
	}
}
