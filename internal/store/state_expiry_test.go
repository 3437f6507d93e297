package store_test

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/internal/store"
)

// TestPluginStateExpiry: a value put until a time reads as absent from then
// on, before and after it is deleted; a plain put makes it permanent again;
// deleting expired values takes only those, of one instance or of all.
func TestPluginStateExpiry(t *testing.T) {
	eachDatabase(t, func(t *testing.T, setup setupFunc) {
		b := setup(t)
		c := b.community(t)
		inst := b.instance(t, c.ID, "kit", "", `{}`)
		other := b.instance(t, c.ID, "other", "", `{}`)
		t0 := time.Date(2030, 5, 6, 7, 8, 9, 0, time.UTC)
		b.tx(t, func(tx *store.Tx) error {
			require.NoError(t, tx.PluginStatePutUntil(b.ctx, inst.ID, "seen/a", json.RawMessage(`1`), t0.Add(time.Minute)))
			require.NoError(t, tx.PluginStatePutUntil(b.ctx, inst.ID, "seen/b", json.RawMessage(`2`), t0.Add(time.Hour)))
			require.NoError(t, tx.PluginStatePutUntil(b.ctx, inst.ID, "made-permanent", json.RawMessage(`3`), t0.Add(time.Minute)))
			require.NoError(t, tx.PluginStatePut(b.ctx, inst.ID, "made-permanent", json.RawMessage(`4`)))
			require.NoError(t, tx.PluginStatePut(b.ctx, inst.ID, "kept", json.RawMessage(`5`)))
			return tx.PluginStatePutUntil(b.ctx, other.ID, "seen/a", json.RawMessage(`6`), t0.Add(time.Minute))
		})

		v, err := b.st.PluginStateGetAt(b.ctx, inst.ID, "seen/a", t0.Add(time.Minute-time.Millisecond))
		require.NoError(t, err)
		require.JSONEq(t, `1`, string(v))
		_, err = b.st.PluginStateGetAt(b.ctx, inst.ID, "seen/a", t0.Add(time.Minute))
		require.ErrorIs(t, err, store.ErrNotFound, "expired at its time, though not yet deleted")
		listed, err := b.st.PluginStateList(b.ctx, inst.ID, "seen/", t0.Add(time.Minute))
		require.NoError(t, err)
		require.Equal(t, []string{"seen/b"}, stateKeys(listed))
		v, err = b.st.PluginStateGet(b.ctx, inst.ID, "seen/a")
		require.NoError(t, err, "a read without a time sees the stored row")
		require.JSONEq(t, `1`, string(v))

		var n int64
		b.tx(t, func(tx *store.Tx) error {
			n, err = tx.PluginStateDeleteExpired(b.ctx, inst.ID, t0.Add(2*time.Hour))
			return err
		})
		require.Equal(t, int64(2), n, "seen/a and seen/b of the one instance")
		all, err := b.st.PluginStateList(b.ctx, inst.ID, "", time.Time{})
		require.NoError(t, err)
		require.Equal(t, []string{"kept", "made-permanent"}, stateKeys(all))
		_, err = b.st.PluginStateGet(b.ctx, other.ID, "seen/a")
		require.NoError(t, err, "another instance's expired value waits for the global prune")

		b.tx(t, func(tx *store.Tx) error {
			n, err = tx.PluginStateDeleteExpired(b.ctx, 0, t0.Add(2*time.Hour))
			return err
		})
		require.Equal(t, int64(1), n)
		_, err = b.st.PluginStateGet(b.ctx, other.ID, "seen/a")
		require.ErrorIs(t, err, store.ErrNotFound)
	})
}

func stateKeys(m map[string]json.RawMessage) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
