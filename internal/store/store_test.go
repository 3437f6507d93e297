package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/internal/apptest"
	"github.com/metagov/metagov-go/internal/store"
)

// This file and the other _test.go files of the package are one conformance
// suite: every test runs on a fresh SQLite file and, when
// METAGOV_TEST_POSTGRES_URL is set, on a fresh PostgreSQL schema, through the
// package's exported API only.

// testBundle is a fresh, migrated store.
type testBundle struct {
	ctx context.Context
	st  *store.Store
}

// setupFunc returns a fresh, migrated store on the database under test.
type setupFunc func(t *testing.T) *testBundle

// eachDatabase runs fn once per database; every call of its setup gives a
// new database of that kind.
func eachDatabase(t *testing.T, fn func(t *testing.T, setup setupFunc)) {
	t.Helper()
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		fresh := apptest.SQLite
		if db.Name == "postgres" {
			fresh = apptest.Postgres
		}
		fn(t, func(t *testing.T) *testBundle {
			t.Helper()
			b := &testBundle{ctx: context.Background(), st: openStore(t, fresh(t).DSN)}
			require.NoError(t, b.st.Migrate(b.ctx))
			require.Equal(t, store.Dialect(db.Name), b.st.Dialect())
			return b
		})
	})
}

func openStore(t *testing.T, dsn string) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), dsn)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, st.Close()) })
	return st
}

// tx runs fn in a transaction that must commit.
func (b *testBundle) tx(t *testing.T, fn func(tx *store.Tx) error) {
	t.Helper()
	require.NoError(t, b.st.InTx(b.ctx, fn))
}

var slugs atomic.Int64

func (b *testBundle) community(t *testing.T) store.Community {
	t.Helper()
	var c store.Community
	b.tx(t, func(tx *store.Tx) error {
		var err error
		c, err = tx.CommunityInsert(b.ctx, fmt.Sprintf("community-%d", slugs.Add(1)), "A community")
		return err
	})
	return c
}

func (b *testBundle) instance(t *testing.T, communityID int64, name, platformID, config string) store.PluginInstance {
	t.Helper()
	var inst store.PluginInstance
	b.tx(t, func(tx *store.Tx) error {
		var err error
		inst, err = tx.PluginInstanceInsert(b.ctx, &store.PluginInstanceInsertParams{
			CommunityID: communityID, Name: name, PlatformID: platformID, Config: json.RawMessage(config),
		})
		return err
	})
	return inst
}

// process reserves an id and writes a process with it.
func (b *testBundle) process(t *testing.T, inst store.PluginInstance, name, status string) store.Process {
	t.Helper()
	var first int64
	b.tx(t, func(tx *store.Tx) error {
		var err error
		first, err = tx.ProcessIDsReserve(b.ctx, 1)
		return err
	})
	p := store.Process{
		ID: first, CommunityID: inst.CommunityID, InstanceID: inst.ID, Plugin: inst.Name, Name: name, Status: status,
		Input: json.RawMessage(`{"options":["a","b"]}`), Outcome: json.RawMessage(`{}`), Errors: json.RawMessage(`{}`),
		State: json.RawMessage(`{}`), CallbackURL: "https://driver.example/cb", Sequence: 1,
	}
	b.tx(t, func(tx *store.Tx) error { return tx.ProcessInsert(b.ctx, &p) })
	got, err := b.st.ProcessGetByID(b.ctx, p.ID)
	require.NoError(t, err)
	return got
}

func requireRecent(t *testing.T, ts time.Time) {
	t.Helper()
	require.False(t, ts.IsZero())
	require.WithinDuration(t, time.Now(), ts, time.Minute)
}

func TestMigrations(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		ctx := context.Background()
		st := openStore(t, db.DSN)
		require.Equal(t, store.Dialect(db.Name), st.Dialect())
		require.Equal(t, db.Name, st.Dialect().String())
		require.NoError(t, st.Ping(ctx))
		require.NotNil(t, st.DB())

		pending, err := st.MigrationsPending(ctx)
		require.NoError(t, err)
		require.True(t, pending, "a fresh database has pending migrations")

		require.NoError(t, st.Migrate(ctx))
		pending, err = st.MigrationsPending(ctx)
		require.NoError(t, err)
		require.False(t, pending, "nothing is pending after Migrate")

		require.NoError(t, st.Migrate(ctx), "migrating twice is harmless")

		// A second store on the same database sees the migrations.
		again := openStore(t, db.DSN)
		pending, err = again.MigrationsPending(ctx)
		require.NoError(t, err)
		require.False(t, pending)
	})
}

func TestOpenRejectsBadDSN(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tests := []struct {
		name string
		dsn  string
	}{
		{name: "empty path", dsn: ""},
		{name: "query in path", dsn: filepath.Join(dir, "x.db") + "?mode=ro"},
		{name: "fragment in path", dsn: filepath.Join(dir, "x.db") + "#frag"},
		{name: "missing directory", dsn: filepath.Join(dir, "no", "such", "dir", "x.db")},
		{name: "unreachable postgres", dsn: "postgres://nobody@127.0.0.1:1/nothing?sslmode=disable&connect_timeout=2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st, err := store.Open(context.Background(), tc.dsn)
			if err == nil {
				st.Close()
			}
			require.Error(t, err)
		})
	}
}

func TestInTx(t *testing.T) {
	eachDatabase(t, func(t *testing.T, setup setupFunc) {
		t.Run("commits", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			var inserted store.Community
			err := b.st.InTx(b.ctx, func(tx *store.Tx) error {
				require.NotNil(t, tx.SQL())
				var err error
				inserted, err = tx.CommunityInsert(b.ctx, "committed", "Committed")
				if err != nil {
					return err
				}
				// The transaction reads its own writes.
				got, err := tx.CommunityGetBySlug(b.ctx, "committed")
				require.NoError(t, err)
				require.Equal(t, inserted.ID, got.ID)
				// Others do not see them before the commit.
				_, err = b.st.CommunityGetBySlug(b.ctx, "committed")
				require.ErrorIs(t, err, store.ErrNotFound)
				return nil
			})
			require.NoError(t, err)
			got, err := b.st.CommunityGetBySlug(b.ctx, "committed")
			require.NoError(t, err)
			require.Equal(t, inserted.ID, got.ID)
		})

		t.Run("rolls back everything on error", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			keep := b.community(t)
			keepInst := b.instance(t, keep.ID, "kit", "", `{}`)
			gen, err := b.st.ConfigGeneration(b.ctx)
			require.NoError(t, err)

			boom := errors.New("boom")
			var c store.Community
			var inst store.PluginInstance
			var processID, eventID, deliveryID int64
			err = b.st.InTx(b.ctx, func(tx *store.Tx) error {
				var err error
				c, err = tx.CommunityInsert(b.ctx, "doomed", "Doomed")
				require.NoError(t, err)
				require.NoError(t, tx.CommunityUpdateName(b.ctx, keep.ID, "Renamed in vain"))
				inst, err = tx.PluginInstanceInsert(b.ctx, &store.PluginInstanceInsertParams{
					CommunityID: c.ID, Name: "kit", Config: json.RawMessage(`{"a":1}`)})
				require.NoError(t, err)
				require.NoError(t, tx.PluginStatePut(b.ctx, inst.ID, "k", json.RawMessage(`1`)))
				require.NoError(t, tx.PluginStatePut(b.ctx, keepInst.ID, "k", json.RawMessage(`2`)))
				require.NoError(t, tx.PluginInstanceUpdateConfig(b.ctx, keepInst.ID, json.RawMessage(`{"changed":true}`)))
				processID, err = tx.ProcessIDsReserve(b.ctx, 1)
				require.NoError(t, err)
				require.NoError(t, tx.ProcessInsert(b.ctx, &store.Process{
					ID: processID, CommunityID: c.ID, InstanceID: inst.ID, Plugin: "kit", Name: "vote", Status: "pending",
					Input: json.RawMessage(`{}`), Outcome: json.RawMessage(`{}`), Errors: json.RawMessage(`{}`),
					State: json.RawMessage(`{}`)}))
				require.NoError(t, tx.TimerInsert(b.ctx, processID, time.Now().Add(-time.Hour)))
				eventID, err = tx.EventInsert(b.ctx, &store.EventInsertParams{CommunityID: c.ID, Source: "kit", Type: "x",
					Data: json.RawMessage(`{}`), CreatedAt: time.Now()})
				require.NoError(t, err)
				deliveryID, err = tx.DeliveryInsert(b.ctx, &store.DeliveryInsertParams{CommunityID: c.ID,
					Kind: store.DeliveryEvent, EventID: eventID, MessageID: "msg_doomed", URL: "http://x", Payload: []byte(`{}`)})
				require.NoError(t, err)
				require.NoError(t, tx.ConfigGenerationBump(b.ctx))
				return fmt.Errorf("wrapped: %w", boom)
			})
			require.ErrorIs(t, err, boom, "InTx returns fn's error")

			_, err = b.st.CommunityGetBySlug(b.ctx, "doomed")
			require.ErrorIs(t, err, store.ErrNotFound)
			_, err = b.st.CommunityGetByID(b.ctx, c.ID)
			require.ErrorIs(t, err, store.ErrNotFound)
			kept, err := b.st.CommunityGetByID(b.ctx, keep.ID)
			require.NoError(t, err)
			require.Equal(t, "A community", kept.ReadableName)
			_, err = b.st.PluginInstanceGetByID(b.ctx, inst.ID)
			require.ErrorIs(t, err, store.ErrNotFound)
			_, err = b.st.PluginStateGet(b.ctx, keepInst.ID, "k")
			require.ErrorIs(t, err, store.ErrNotFound)
			keptInst, err := b.st.PluginInstanceGetByID(b.ctx, keepInst.ID)
			require.NoError(t, err)
			require.JSONEq(t, `{}`, string(keptInst.Config))
			_, err = b.st.ProcessGetByID(b.ctx, processID)
			require.ErrorIs(t, err, store.ErrNotFound)
			timers, err := b.st.TimerListDue(b.ctx, time.Now(), 10)
			require.NoError(t, err)
			require.Empty(t, timers)
			_, err = b.st.DeliveryGetByID(b.ctx, deliveryID)
			require.ErrorIs(t, err, store.ErrNotFound)
			events, err := b.st.EventList(b.ctx, &store.EventListParams{Limit: 10})
			require.NoError(t, err)
			require.Empty(t, events)
			after, err := b.st.ConfigGeneration(b.ctx)
			require.NoError(t, err)
			require.Equal(t, gen, after)

			// The store still works after a rollback.
			b.community(t)
		})

		t.Run("a failed statement rolls back the rest", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			taken := b.community(t)
			err := b.st.InTx(b.ctx, func(tx *store.Tx) error {
				if _, err := tx.CommunityInsert(b.ctx, "first-of-two", ""); err != nil {
					return err
				}
				_, err := tx.CommunityInsert(b.ctx, taken.Slug, "")
				return err
			})
			require.ErrorIs(t, err, store.ErrConflict)
			_, err = b.st.CommunityGetBySlug(b.ctx, "first-of-two")
			require.ErrorIs(t, err, store.ErrNotFound)
		})
	})
}

func TestConfigGeneration(t *testing.T) {
	eachDatabase(t, func(t *testing.T, setup setupFunc) {
		b := setup(t)
		g0, err := b.st.ConfigGeneration(b.ctx)
		require.NoError(t, err)

		b.tx(t, func(tx *store.Tx) error { return tx.ConfigGenerationBump(b.ctx) })
		g1, err := b.st.ConfigGeneration(b.ctx)
		require.NoError(t, err)
		require.Equal(t, g0+1, g1)

		b.tx(t, func(tx *store.Tx) error {
			require.NoError(t, tx.ConfigGenerationBump(b.ctx))
			require.NoError(t, tx.ConfigGenerationBump(b.ctx))
			g, err := tx.ConfigGeneration(b.ctx)
			require.NoError(t, err)
			require.Equal(t, g1+2, g, "the transaction sees its own bumps")
			return nil
		})
		g2, err := b.st.ConfigGeneration(b.ctx)
		require.NoError(t, err)
		require.Equal(t, g1+2, g2)
	})
}

// TestSQLiteSynchronous checks that SQLite commits are synced before they
// are acknowledged unless the operator chooses otherwise, and that a value
// SQLite would silently ignore is refused.
func TestSQLiteSynchronous(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, tc := range []struct {
		setting string
		want    int // PRAGMA synchronous: 1 NORMAL, 2 FULL
	}{{"", 2}, {"full", 2}, {"NORMAL", 1}} {
		st, err := store.OpenWith(ctx, filepath.Join(t.TempDir(), "s.db"), store.Options{SQLiteSynchronous: tc.setting})
		require.NoError(t, err)
		var got int
		require.NoError(t, st.DB().QueryRowContext(ctx, "PRAGMA synchronous").Scan(&got))
		require.Equal(t, tc.want, got, "setting %q", tc.setting)
		require.NoError(t, st.Close())
	}
	_, err := store.OpenWith(ctx, filepath.Join(t.TempDir(), "s.db"), store.Options{SQLiteSynchronous: "OFF"})
	require.ErrorContains(t, err, "FULL or NORMAL")
}

// BenchmarkFirstTxWritesMany writes many keys with one query in the first
// transaction of a fresh store, as a poll start with a long eligible list
// can be: the pool prepares a query only after the transaction that first
// used it, so the transaction prepares it itself rather than parse it for
// every key.
func BenchmarkFirstTxWritesMany(b *testing.B) {
	ctx := context.Background()
	for range b.N {
		b.StopTimer()
		st, err := store.Open(ctx, apptest.SQLite(b).DSN)
		require.NoError(b, err)
		require.NoError(b, st.Migrate(ctx))
		var inst store.PluginInstance
		require.NoError(b, st.InTx(ctx, func(tx *store.Tx) error {
			c, err := tx.CommunityInsert(ctx, "bench", "")
			if err != nil {
				return err
			}
			inst, err = tx.PluginInstanceInsert(ctx, &store.PluginInstanceInsertParams{CommunityID: c.ID, Name: "kit", Config: json.RawMessage(`{}`)})
			return err
		}))
		b.StartTimer()
		require.NoError(b, st.InTx(ctx, func(tx *store.Tx) error {
			for i := range 10_000 {
				if err := tx.PluginStatePut(ctx, inst.ID, fmt.Sprintf("k%d", i), json.RawMessage(`1`)); err != nil {
					return err
				}
			}
			return nil
		}))
		b.StopTimer()
		require.NoError(b, st.Close())
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*10_000), "µs/write")
}
