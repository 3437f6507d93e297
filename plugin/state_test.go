package plugin_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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
	list := mapLister(stored)
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

// TestStateFloor: Floor finds the greatest key under the prefix at most the
// key among the stored values and the invocation's own writes: a pending
// write above the stored floor wins, one on it replaces its value, a
// pending delete of the stored floor falls to the next lower stored key
// (asking the floor hook again strictly below it), several deletes fall
// through several keys; keys outside the prefix are never found. It works
// through the floor hook, the scanner, the lister, or with none of them on
// the invocation's writes alone.
func TestStateFloor(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	stored := map[string]json.RawMessage{"p/10": []byte(`10`), "p/20": []byte(`20`), "p/30": []byte(`30`), "p/40": []byte(`40`), "p/50": []byte(`50`),
		"p": []byte(`0`), "p0": []byte(`0`), "o/99": []byte(`0`), "q/1": []byte(`0`)}
	keys := slices.Sorted(maps.Keys(stored))
	type lookup struct {
		key       string
		inclusive bool
	}
	var lookups []lookup
	floor := func(_ context.Context, prefix, key string, inclusive bool) (string, json.RawMessage, bool, error) {
		lookups = append(lookups, lookup{key, inclusive})
		for _, k := range slices.Backward(keys) {
			if strings.HasPrefix(k, prefix) && (k < key || inclusive && k == key) {
				return k, stored[k], true, nil
			}
		}
		return "", nil, false, nil
	}
	list := mapLister(stored)
	// scan reuses one buffer for the values, as the store does: a value is
	// only valid during the call of fn.
	scan := func(_ context.Context, prefix string, fn func(string, json.RawMessage) error) error {
		var buf []byte
		for _, k := range keys {
			if strings.HasPrefix(k, prefix) {
				buf = append(buf[:0], stored[k]...)
				if err := fn(k, buf); err != nil {
					return err
				}
				copy(buf, "xxxx")
			}
		}
		return nil
	}
	calls := map[string]func() *plugin.Call{
		"floor":   func() *plugin.Call { return pluginrt.WithFloor(pluginrt.NewCall(nil, list, nil), floor) },
		"scanner": func() *plugin.Call { return pluginrt.WithScanner(pluginrt.NewCall(nil, nil, nil), scan) },
		"lister":  func() *plugin.Call { return pluginrt.NewCall(nil, list, nil) },
	}
	for _, name := range slices.Sorted(maps.Keys(calls)) {
		t.Run(name, func(t *testing.T) {
			st := calls[name]().State()
			floorOf := func(prefix, key string) string {
				t.Helper()
				var v int
				k, ok, err := st.Floor(ctx, prefix, key, &v)
				require.NoError(t, err)
				if !ok {
					return "none"
				}
				return fmt.Sprintf("%s=%d", k, v)
			}
			lookups = nil
			require.Equal(t, "p/30=30", floorOf("p/", "p/35"))
			if name == "floor" {
				require.Equal(t, []lookup{{"p/35", true}}, lookups, "one lookup")
			}
			require.Equal(t, "p/30=30", floorOf("p/", "p/30"), "an exact match")
			require.Equal(t, "none", floorOf("p/", "p/0"))
			require.Equal(t, "none", floorOf("p/", "p"), "a key below the prefix")
			require.Equal(t, "p/50=50", floorOf("p/", "pz"), "a key above all under the prefix")

			require.NoError(t, st.Set("p/45", 45))
			require.NoError(t, st.Set("p0/1", 1))
			require.NoError(t, st.Set("o/999", 1))
			require.Equal(t, "p/45=45", floorOf("p/", "p/47"), "a pending write above the stored floor wins")
			require.Equal(t, "p/40=40", floorOf("p/", "p/44"), "a stored key above the pending ones wins")
			require.Equal(t, "p/50=50", floorOf("p/", "pz"), "pending keys outside the prefix are not taken")

			require.NoError(t, st.Set("p/40", 400))
			require.Equal(t, "p/40=400", floorOf("p/", "p/44"), "a pending write replaces the stored value")

			st.Delete("p/30")
			lookups = nil
			require.Equal(t, "p/20=20", floorOf("p/", "p/35"), "a deleted stored floor falls to the next lower key")
			if name == "floor" {
				require.Equal(t, []lookup{{"p/35", true}, {"p/30", false}}, lookups, "the second lookup is strictly below the deleted key")
			}
			st.Delete("p/20")
			st.Delete("p/10")
			require.Equal(t, "none", floorOf("p/", "p/35"), "several deletes fall through every stored key")
			require.NoError(t, st.Set("p/15", 15))
			st.Delete("p/15")
			require.Equal(t, "none", floorOf("p/", "p/35"), "a pending write deleted again")
			require.NoError(t, st.Set("p/05", 5))
			require.Equal(t, "p/05=5", floorOf("p/", "p/35"))
			require.NoError(t, st.Set("p/20", 200))
			require.Equal(t, "p/20=200", floorOf("p/", "p/35"), "a deleted key written again")

			var s string
			_, _, err := st.Floor(ctx, "p/", "p/35", &s)
			require.ErrorContains(t, err, `decoding state "p/20"`)
		})
	}

	t.Run("none", func(t *testing.T) {
		// Without hooks (plugintest.NewCall) Floor sees the invocation's
		// writes alone.
		st := pluginrt.NewCall(nil, nil, nil).State()
		var v int
		_, ok, err := st.Floor(ctx, "p/", "p/2", &v)
		require.NoError(t, err)
		require.False(t, ok)
		require.NoError(t, st.Set("p/1", 1))
		require.NoError(t, st.Set("p/3", 3))
		k, ok, err := st.Floor(ctx, "p/", "p/2", &v)
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, "p/1", k)
		require.Equal(t, 1, v)

	})

	t.Run("error", func(t *testing.T) {
		boom := errors.New("boom")
		c := pluginrt.WithFloor(pluginrt.NewCall(nil, nil, nil), func(context.Context, string, string, bool) (string, json.RawMessage, bool, error) {
			return "", nil, false, boom
		})
		var v int
		_, _, err := c.State().Floor(ctx, "p/", "p/2", &v)
		require.ErrorIs(t, err, boom)
	})
}

// mapLister lists the values of stored under a prefix, as the gateway's
// store would.
func mapLister(stored map[string]json.RawMessage) func(context.Context, string) (map[string]json.RawMessage, error) {
	return func(_ context.Context, prefix string) (map[string]json.RawMessage, error) {
		out := map[string]json.RawMessage{}
		for k, v := range stored {
			if strings.HasPrefix(k, prefix) {
				out[k] = v
			}
		}
		return out, nil
	}
}
