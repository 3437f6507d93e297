package store_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/internal/store"
)

func instanceIDs(insts []store.PluginInstance) []int64 {
	ids := []int64{}
	for _, in := range insts {
		ids = append(ids, in.ID)
	}
	return ids
}

func TestPluginInstances(t *testing.T) {
	eachDatabase(t, func(t *testing.T, setup setupFunc) {
		t.Run("insert and get", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			c := b.community(t)
			config := `{"token": "s3cr3t", "nested": {"list": [1, 2.5, "drei", null, true], "ünïcödé": "✓"}, "empty": {}}`
			inst := b.instance(t, c.ID, "discourse", "forum.example", config)
			require.Positive(t, inst.ID)
			require.Equal(t, c.ID, inst.CommunityID)
			require.Equal(t, "discourse", inst.Name)
			require.Equal(t, "forum.example", inst.PlatformID)
			require.JSONEq(t, config, string(inst.Config))
			requireRecent(t, inst.CreatedAt)

			got, err := b.st.PluginInstanceGetByID(b.ctx, inst.ID)
			require.NoError(t, err)
			require.Equal(t, inst.ID, got.ID)
			require.Equal(t, inst.CommunityID, got.CommunityID)
			require.Equal(t, inst.Name, got.Name)
			require.Equal(t, inst.PlatformID, got.PlatformID)
			require.JSONEq(t, config, string(got.Config), "config round-trips")
			require.True(t, inst.CreatedAt.Equal(got.CreatedAt))

			_, err = b.st.PluginInstanceGetByID(b.ctx, inst.ID+1000)
			require.ErrorIs(t, err, store.ErrNotFound)
		})

		t.Run("uniqueness of community, name and platform id", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			c1, c2 := b.community(t), b.community(t)
			b.instance(t, c1.ID, "slack", "T1", `{}`)
			b.instance(t, c1.ID, "discord", "", `{}`)
			b.instance(t, c1.ID, "webhook", "", `{}`)

			tests := []struct {
				name        string
				communityID int64
				plugin      string
				platformID  string
				conflict    bool
			}{
				{name: "same triple", communityID: c1.ID, plugin: "slack", platformID: "T1", conflict: true},
				{name: "same triple without platform id", communityID: c1.ID, plugin: "discord", conflict: true},
				{name: "other platform id", communityID: c1.ID, plugin: "slack", platformID: "T2"},
				{name: "empty platform id beside a set one", communityID: c1.ID, plugin: "slack", platformID: ""},
				{name: "other community", communityID: c2.ID, plugin: "slack", platformID: "T1"},
				{name: "other plugin", communityID: c1.ID, plugin: "loomio", platformID: "T1"},
				{name: "platform id differs in case", communityID: c1.ID, plugin: "slack", platformID: "t1"},
			}
			for _, tc := range tests {
				// Sequential: the cases build on one another's rows.
				t.Run(tc.name, func(t *testing.T) {
					err := b.st.InTx(b.ctx, func(tx *store.Tx) error {
						_, err := tx.PluginInstanceInsert(b.ctx, &store.PluginInstanceInsertParams{
							CommunityID: tc.communityID, Name: tc.plugin, PlatformID: tc.platformID, Config: json.RawMessage(`{}`)})
						return err
					})
					if tc.conflict {
						require.ErrorIs(t, err, store.ErrConflict)
					} else {
						require.NoError(t, err)
					}
				})
			}
			insts, err := b.st.PluginInstanceListByCommunity(b.ctx, c1.ID)
			require.NoError(t, err)
			require.Len(t, insts, 7, "the conflicting inserts left nothing")
		})

		t.Run("update platform id", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			c := b.community(t)
			a := b.instance(t, c.ID, "loomio", "", `{"n":1}`)
			other := b.instance(t, c.ID, "loomio", "710496", `{"n":2}`)
			update := func(id int64, platformID string) error {
				return b.st.InTx(b.ctx, func(tx *store.Tx) error { return tx.PluginInstanceUpdatePlatformID(b.ctx, id, platformID) })
			}
			require.NoError(t, update(a.ID, "710495"))
			got, err := b.st.PluginInstanceGetByID(b.ctx, a.ID)
			require.NoError(t, err)
			require.Equal(t, "710495", got.PlatformID)
			require.JSONEq(t, `{"n":1}`, string(got.Config), "the config is untouched")

			require.ErrorIs(t, update(a.ID, other.PlatformID), store.ErrConflict, "another instance of the plugin has it")
			got, err = b.st.PluginInstanceGetByID(b.ctx, a.ID)
			require.NoError(t, err)
			require.Equal(t, "710495", got.PlatformID, "unchanged by the refused update")
		})

		t.Run("lists", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			c1, c2, empty := b.community(t), b.community(t), b.community(t)
			a := b.instance(t, c1.ID, "slack", "T1", `{"n":1}`)
			bb := b.instance(t, c2.ID, "slack", "T1", `{"n":2}`)
			c := b.instance(t, c1.ID, "webhook", "", `{"n":3}`)
			d := b.instance(t, c1.ID, "slack", "T2", `{"n":4}`)
			e := b.instance(t, c2.ID, "webhook", "", `{"n":5}`)

			tests := []struct {
				name string
				list func() ([]store.PluginInstance, error)
				want []int64
			}{
				{name: "by community", list: func() ([]store.PluginInstance, error) {
					return b.st.PluginInstanceListByCommunity(b.ctx, c1.ID)
				}, want: []int64{a.ID, c.ID, d.ID}},
				{name: "by other community", list: func() ([]store.PluginInstance, error) {
					return b.st.PluginInstanceListByCommunity(b.ctx, c2.ID)
				}, want: []int64{bb.ID, e.ID}},
				{name: "by community without instances", list: func() ([]store.PluginInstance, error) {
					return b.st.PluginInstanceListByCommunity(b.ctx, empty.ID)
				}, want: []int64{}},
				{name: "by name", list: func() ([]store.PluginInstance, error) {
					return b.st.PluginInstanceListByName(b.ctx, "slack")
				}, want: []int64{a.ID, bb.ID, d.ID}},
				{name: "by unknown name", list: func() ([]store.PluginInstance, error) {
					return b.st.PluginInstanceListByName(b.ctx, "loomio")
				}, want: []int64{}},
				{name: "by platform id", list: func() ([]store.PluginInstance, error) {
					return b.st.PluginInstanceListByPlatformID(b.ctx, "slack", "T1")
				}, want: []int64{a.ID, bb.ID}},
				{name: "by platform id of one", list: func() ([]store.PluginInstance, error) {
					return b.st.PluginInstanceListByPlatformID(b.ctx, "slack", "T2")
				}, want: []int64{d.ID}},
				{name: "by platform id of another plugin", list: func() ([]store.PluginInstance, error) {
					return b.st.PluginInstanceListByPlatformID(b.ctx, "webhook", "T1")
				}, want: []int64{}},
				{name: "by empty platform id", list: func() ([]store.PluginInstance, error) {
					return b.st.PluginInstanceListByPlatformID(b.ctx, "webhook", "")
				}, want: []int64{c.ID, e.ID}},
			}
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					got, err := tc.list()
					require.NoError(t, err)
					require.Equal(t, tc.want, instanceIDs(got))
					for _, in := range got {
						require.NotEmpty(t, in.Config)
					}
				})
			}
		})

		t.Run("update config keeps state and processes", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			c := b.community(t)
			inst := b.instance(t, c.ID, "kit", "", `{"low": 1, "high": 6}`)
			p := b.process(t, inst, "vote", "pending")
			b.tx(t, func(tx *store.Tx) error { return tx.PluginStatePut(b.ctx, inst.ID, "lucky", json.RawMessage(`42`)) })

			b.tx(t, func(tx *store.Tx) error {
				return tx.PluginInstanceUpdateConfig(b.ctx, inst.ID, json.RawMessage(`{"low": 50, "high": 51, "new": [true]}`))
			})
			got, err := b.st.PluginInstanceGetByID(b.ctx, inst.ID)
			require.NoError(t, err)
			require.JSONEq(t, `{"low": 50, "high": 51, "new": [true]}`, string(got.Config))
			require.Equal(t, inst.Name, got.Name)
			require.Equal(t, inst.PlatformID, got.PlatformID)
			require.True(t, got.CreatedAt.Equal(inst.CreatedAt))
			require.False(t, got.UpdatedAt.Before(inst.UpdatedAt))

			v, err := b.st.PluginStateGet(b.ctx, inst.ID, "lucky")
			require.NoError(t, err)
			require.JSONEq(t, `42`, string(v), "state survives a config change")
			open, err := b.st.ProcessListOpenByInstance(b.ctx, inst.ID)
			require.NoError(t, err)
			require.Len(t, open, 1)
			require.Equal(t, p.ID, open[0].ID)
		})

		t.Run("delete keeps processes detached", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			c := b.community(t)
			inst := b.instance(t, c.ID, "kit", "", `{}`)
			other := b.instance(t, c.ID, "other", "", `{}`)
			done := b.process(t, inst, "vote", "completed")
			b.tx(t, func(tx *store.Tx) error {
				require.NoError(t, tx.PluginStatePut(b.ctx, inst.ID, "k", json.RawMessage(`"v"`)))
				return tx.PluginStatePut(b.ctx, other.ID, "k", json.RawMessage(`"w"`))
			})

			b.tx(t, func(tx *store.Tx) error { return tx.PluginInstanceDelete(b.ctx, inst.ID) })

			_, err := b.st.PluginInstanceGetByID(b.ctx, inst.ID)
			require.ErrorIs(t, err, store.ErrNotFound)
			_, err = b.st.PluginStateGet(b.ctx, inst.ID, "k")
			require.ErrorIs(t, err, store.ErrNotFound, "the instance's state goes with it")
			v, err := b.st.PluginStateGet(b.ctx, other.ID, "k")
			require.NoError(t, err)
			require.JSONEq(t, `"w"`, string(v))

			got, err := b.st.ProcessGetByID(b.ctx, done.ID)
			require.NoError(t, err, "the process stays")
			require.Zero(t, got.InstanceID, "the process is detached from the instance")
			require.Equal(t, c.ID, got.CommunityID)
			require.Equal(t, "completed", got.Status)
			require.Equal(t, "kit", got.Plugin)

			err = b.st.InTx(b.ctx, func(tx *store.Tx) error { return tx.PluginInstanceDelete(b.ctx, inst.ID) })
			require.ErrorIs(t, err, store.ErrNotFound, "deleting twice")
			insts, err := b.st.PluginInstanceListByCommunity(b.ctx, c.ID)
			require.NoError(t, err)
			require.Equal(t, []int64{other.ID}, instanceIDs(insts))
		})
	})
}

func TestPluginState(t *testing.T) {
	eachDatabase(t, func(t *testing.T, setup setupFunc) {
		b := setup(t)
		c := b.community(t)
		inst := b.instance(t, c.ID, "kit", "", `{}`)
		other := b.instance(t, c.ID, "other", "", `{}`)
		put := func(t *testing.T, instanceID int64, key string, value json.RawMessage) {
			t.Helper()
			b.tx(t, func(tx *store.Tx) error { return tx.PluginStatePut(b.ctx, instanceID, key, value) })
		}

		_, err := b.st.PluginStateGet(b.ctx, inst.ID, "missing")
		require.ErrorIs(t, err, store.ErrNotFound)

		values := []struct {
			name  string
			value string
		}{
			{name: "number", value: `42`},
			{name: "string", value: `"hello \"world\" ✓"`},
			{name: "object", value: `{"b": [1, {"c": null}], "a": "ä", "n": -1.5e3}`},
			{name: "array", value: `[1, "two", false, null]`},
			{name: "JSON null is a value", value: `null`},
			{name: "empty object", value: `{}`},
		}
		for _, v := range values {
			t.Run(v.name, func(t *testing.T) {
				put(t, inst.ID, "k-"+v.name, json.RawMessage(v.value))
				got, err := b.st.PluginStateGet(b.ctx, inst.ID, "k-"+v.name)
				require.NoError(t, err)
				require.JSONEq(t, v.value, string(got))
			})
		}

		// Overwrite.
		put(t, inst.ID, "counter", json.RawMessage(`1`))
		put(t, other.ID, "counter", json.RawMessage(`100`))
		put(t, inst.ID, "counter", json.RawMessage(`{"now": 2}`))
		got, err := b.st.PluginStateGet(b.ctx, inst.ID, "counter")
		require.NoError(t, err)
		require.JSONEq(t, `{"now": 2}`, string(got))
		got, err = b.st.PluginStateGet(b.ctx, other.ID, "counter")
		require.NoError(t, err)
		require.JSONEq(t, `100`, string(got), "state is per instance")

		// Delete with nil.
		put(t, inst.ID, "counter", nil)
		_, err = b.st.PluginStateGet(b.ctx, inst.ID, "counter")
		require.ErrorIs(t, err, store.ErrNotFound)
		got, err = b.st.PluginStateGet(b.ctx, other.ID, "counter")
		require.NoError(t, err)
		require.JSONEq(t, `100`, string(got), "deleting one instance's key leaves the other's")
		put(t, inst.ID, "counter", nil) // deleting a missing key is fine
	})
}

// TestPluginStateScan: a scan gives exactly the instance's keys under the
// prefix, in byte order (not the collation's), skips what expired, stops at
// the callback's error, and lists the same values as PluginStateList.
func TestPluginStateScan(t *testing.T) {
	eachDatabase(t, func(t *testing.T, setup setupFunc) {
		checkPluginStateScan(t, setup(t))
		if b := linguisticKeys(t, setup); b != nil {
			checkPluginStateScan(t, b)
		}
	})
}

// checkPluginStateScan is TestPluginStateScan on the store b.
func checkPluginStateScan(t *testing.T, b *testBundle) {
	t.Helper()
	c := b.community(t)
	inst := b.instance(t, c.ID, "kit", "", `{}`)
	other := b.instance(t, c.ID, "other", "", `{}`)
	now := time.Now()
	keys := []string{"ballot/1/B", "ballot/1/a", "ballot/1/_", "ballot/1/Ä", "ballot/1/a b", "ballot/1/", "ballot/10/x", "ballot/1", "ballot/2/y", "ballot/1/z"}
	b.tx(t, func(tx *store.Tx) error {
		for i, k := range keys {
			if err := tx.PluginStatePut(b.ctx, inst.ID, k, json.RawMessage(fmt.Sprint(i))); err != nil {
				return err
			}
		}
		if err := tx.PluginStatePutUntil(b.ctx, inst.ID, "ballot/1/expired", json.RawMessage(`0`), now.Add(-time.Second)); err != nil {
			return err
		}
		return tx.PluginStatePut(b.ctx, other.ID, "ballot/1/other", json.RawMessage(`0`))
	})
	scan := func(prefix string) []string {
		var got []string
		require.NoError(t, b.st.PluginStateScan(b.ctx, inst.ID, prefix, now, func(k string, v json.RawMessage) error {
			got = append(got, k+"="+string(v))
			return nil
		}))
		return got
	}
	want := []string{"ballot/1/=5", "ballot/1/B=0", "ballot/1/_=2", "ballot/1/a=1", "ballot/1/a b=4", "ballot/1/z=9", "ballot/1/Ä=3"}
	require.Equal(t, want, scan("ballot/1/"))
	listed, err := b.st.PluginStateList(b.ctx, inst.ID, "ballot/1/", now)
	require.NoError(t, err)
	require.Len(t, listed, len(want))
	require.Len(t, scan("ballot/1"), 9, "a prefix without the separator takes ballot/10/ and ballot/1 too")
	require.Equal(t, []string{"ballot/1/Ä=3"}, scan("ballot/1/Ä"), "a prefix ending in a multi-byte character")
	require.Len(t, scan(""), 10)

	stop := errors.New("stop")
	n := 0
	err = b.st.PluginStateScan(b.ctx, inst.ID, "ballot/", now, func(string, json.RawMessage) error {
		n++
		return stop
	})
	require.ErrorIs(t, err, stop)
	require.Equal(t, 1, n)
}

// TestPluginStateFloor: the floor is the greatest of the instance's keys
// under the prefix at most the key, in byte order (not the collation's:
// "B" < "_" < "a" < "Ä"), exact matches in or out as asked, nothing below
// the prefix, the greatest under the prefix above all of them, never a key
// of another instance or outside the prefix, never an expired one; on
// PostgreSQL also with the key column in a linguistic collation.
func TestPluginStateFloor(t *testing.T) {
	eachDatabase(t, func(t *testing.T, setup setupFunc) {
		checkPluginStateFloor(t, setup(t))
		if b := linguisticKeys(t, setup); b != nil {
			checkPluginStateFloor(t, b)
		}
	})
}

// linguisticKeys returns, on PostgreSQL, a fresh store whose plugin_state
// key column is in a linguistic collation, where "_" < "a" < "ä" < "B" (as
// it was before migration 00005, in a database whose default collation is
// not "C"): the state queries say COLLATE "C", so they stay right on it. It
// returns nil on SQLite, which compares text bytewise.
func linguisticKeys(t *testing.T, setup setupFunc) *testBundle {
	t.Helper()
	b := setup(t)
	if b.st.Dialect() != store.Postgres {
		return nil
	}
	_, err := b.st.DB().ExecContext(b.ctx, `ALTER TABLE plugin_state ALTER COLUMN key TYPE TEXT COLLATE "und-x-icu"`)
	require.NoError(t, err)
	var bOverA bool
	require.NoError(t, b.st.DB().QueryRowContext(b.ctx, `SELECT 'B' > 'a' COLLATE "und-x-icu"`).Scan(&bOverA))
	require.True(t, bOverA, "the collation is linguistic")
	return b
}

// checkPluginStateFloor is TestPluginStateFloor on the store b.
func checkPluginStateFloor(t *testing.T, b *testBundle) {
	t.Helper()
	c := b.community(t)
	inst := b.instance(t, c.ID, "kit", "", `{}`)
	other := b.instance(t, c.ID, "other", "", `{}`)
	now := time.Now()
	keys := []string{"page/B", "page/_", "page/a", "page/Ä", "page/m", "page/", "pagf", "pag", "page", "zzz", "page/ä"}
	b.tx(t, func(tx *store.Tx) error {
		for _, k := range keys {
			if err := tx.PluginStatePut(b.ctx, inst.ID, k, json.RawMessage(strconv.Quote(k))); err != nil {
				return err
			}
		}
		for _, k := range []string{"page/c", "page/Z", "page/ü"} {
			if err := tx.PluginStatePutUntil(b.ctx, inst.ID, k, json.RawMessage(`0`), now.Add(-time.Second)); err != nil {
				return err
			}
		}
		if err := tx.PluginStatePutUntil(b.ctx, inst.ID, "page/n", json.RawMessage(`"page/n"`), now.Add(time.Hour)); err != nil {
			return err
		}
		for _, k := range []string{"page/b", "page/Ö", "page/C", "page/", "page/zzz"} {
			if err := tx.PluginStatePut(b.ctx, other.ID, k, json.RawMessage(`0`)); err != nil {
				return err
			}
		}
		return nil
	})
	floor := func(prefix, key string, inclusive bool) string {
		t.Helper()
		k, v, found, err := b.st.PluginStateFloor(b.ctx, inst.ID, prefix, key, inclusive, now)
		require.NoError(t, err)
		if !found {
			return "none"
		}
		require.Equal(t, strconv.Quote(k), string(v), "the value is the key's")
		return k
	}
	for _, tc := range []struct {
		prefix, key string
		inclusive   bool
		want        string
	}{
		{"page/", "page/b", true, "page/a"},     // "a" < "b" < "Ä" bytewise
		{"page/", "page/a", true, "page/a"},     // exact match, inclusive
		{"page/", "page/a", false, "page/_"},    // exact match, exclusive
		{"page/", "page/_", false, "page/B"},    // "B" < "_"
		{"page/", "page/C", true, "page/B"},     // other instance's page/C, expired page/c not taken
		{"page/", "page/Z", true, "page/B"},     // expired page/Z not taken
		{"page/", "page/Ö", true, "page/Ä"},     // Ä < Ö < ä bytewise
		{"page/", "page/ä", true, "page/ä"},     // the greatest
		{"page/", "page/ü", true, "page/ä"},     // expired page/ü not taken
		{"page/", "page/o", true, "page/n"},     // page/n expires later
		{"page/", "page/A", true, "page/"},      // the prefix itself is a key under it
		{"page/", "page/", true, "page/"},       // ...found inclusive
		{"page/", "page/", false, "none"},       // ...but nothing is below it
		{"page/", "page", true, "none"},         // key below prefix: page, pag not taken
		{"page/", "a", true, "none"},            // far below
		{"page/", "page0", true, "page/ä"},      // above everything under the prefix
		{"page/", "zzzz", true, "page/ä"},       // far above: zzz and pagf not taken
		{"page/", "\U0010ffff", true, "page/ä"}, // above, in a multi-byte character
		{"page/Ä", "page/ä", true, "page/Ä"},    // a prefix ending in a multi-byte character, key above it
		{"page/Ä", "page/Ä", false, "none"},
		{"pag", "pagz", true, "pagf"},
		{"", "page/B", false, "page/"},
		{"", "zzzz", true, "zzz"},
		{"nothing/", "nothing/x", true, "none"},
	} {
		require.Equal(t, tc.want, floor(tc.prefix, tc.key, tc.inclusive), "Floor(%q, %q, %v)", tc.prefix, tc.key, tc.inclusive)
	}
}
