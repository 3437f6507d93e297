package store_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/internal/store"
)

func requireSameCommunity(t *testing.T, want, got store.Community) {
	t.Helper()
	require.Equal(t, want.ID, got.ID)
	require.Equal(t, want.Slug, got.Slug)
	require.Equal(t, want.ReadableName, got.ReadableName)
	require.True(t, want.CreatedAt.Equal(got.CreatedAt), "created_at %v != %v", want.CreatedAt, got.CreatedAt)
	require.True(t, want.UpdatedAt.Equal(got.UpdatedAt), "updated_at %v != %v", want.UpdatedAt, got.UpdatedAt)
}

func TestCommunities(t *testing.T) {
	eachDatabase(t, func(t *testing.T, setup setupFunc) {
		t.Run("insert and get", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			var c store.Community
			b.tx(t, func(tx *store.Tx) error {
				var err error
				c, err = tx.CommunityInsert(b.ctx, "my-community-1234", "My community ✓")
				return err
			})
			require.Positive(t, c.ID)
			require.Equal(t, "my-community-1234", c.Slug)
			require.Equal(t, "My community ✓", c.ReadableName)
			requireRecent(t, c.CreatedAt)
			require.True(t, c.CreatedAt.Equal(c.UpdatedAt))

			bySlug, err := b.st.CommunityGetBySlug(b.ctx, "my-community-1234")
			require.NoError(t, err)
			requireSameCommunity(t, c, bySlug)
			byID, err := b.st.CommunityGetByID(b.ctx, c.ID)
			require.NoError(t, err)
			requireSameCommunity(t, c, byID)

			other := b.community(t)
			require.NotEqual(t, c.ID, other.ID)
		})

		t.Run("missing", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			c := b.community(t)
			_, err := b.st.CommunityGetBySlug(b.ctx, "nope")
			require.ErrorIs(t, err, store.ErrNotFound)
			_, err = b.st.CommunityGetBySlug(b.ctx, c.Slug+"-")
			require.ErrorIs(t, err, store.ErrNotFound)
			_, err = b.st.CommunityGetBySlug(b.ctx, strings.ToUpper(c.Slug))
			require.ErrorIs(t, err, store.ErrNotFound, "slugs are case-sensitive on every database")
			_, err = b.st.CommunityGetByID(b.ctx, c.ID+1000)
			require.ErrorIs(t, err, store.ErrNotFound)
		})

		t.Run("duplicate slug", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			c := b.community(t)
			err := b.st.InTx(b.ctx, func(tx *store.Tx) error {
				_, err := tx.CommunityInsert(b.ctx, c.Slug, "Another name")
				return err
			})
			require.ErrorIs(t, err, store.ErrConflict)
			require.NotErrorIs(t, err, store.ErrNotFound)
			got, err := b.st.CommunityGetBySlug(b.ctx, c.Slug)
			require.NoError(t, err)
			requireSameCommunity(t, c, got)
		})

		t.Run("update name", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			c := b.community(t)
			b.tx(t, func(tx *store.Tx) error { return tx.CommunityUpdateName(b.ctx, c.ID, "Renamed") })
			got, err := b.st.CommunityGetByID(b.ctx, c.ID)
			require.NoError(t, err)
			require.Equal(t, "Renamed", got.ReadableName)
			require.Equal(t, c.Slug, got.Slug)
			require.True(t, got.CreatedAt.Equal(c.CreatedAt), "created_at does not change")
			require.False(t, got.UpdatedAt.Before(c.UpdatedAt), "updated_at does not go back")
		})

		t.Run("delete", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			c := b.community(t)
			other := b.community(t)
			b.tx(t, func(tx *store.Tx) error { return tx.CommunityDelete(b.ctx, c.ID) })
			_, err := b.st.CommunityGetByID(b.ctx, c.ID)
			require.ErrorIs(t, err, store.ErrNotFound)
			_, err = b.st.CommunityGetBySlug(b.ctx, c.Slug)
			require.ErrorIs(t, err, store.ErrNotFound)
			_, err = b.st.CommunityGetByID(b.ctx, other.ID)
			require.NoError(t, err, "other communities stay")

			err = b.st.InTx(b.ctx, func(tx *store.Tx) error { return tx.CommunityDelete(b.ctx, c.ID) })
			require.ErrorIs(t, err, store.ErrNotFound, "deleting twice")

			// The slug is free again.
			b.tx(t, func(tx *store.Tx) error {
				_, err := tx.CommunityInsert(b.ctx, c.Slug, "Reborn")
				return err
			})
		})

		t.Run("delete cascades", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			type world struct {
				community  store.Community
				instance   store.PluginInstance
				process    store.Process
				eventID    int64
				deliveries []int64
			}
			build := func(tag string) world {
				var w world
				w.community = b.community(t)
				w.instance = b.instance(t, w.community.ID, "kit", "", `{"token":"x"}`)
				w.process = b.process(t, w.instance, "vote", "pending")
				b.tx(t, func(tx *store.Tx) error {
					require.NoError(t, tx.PluginStatePut(b.ctx, w.instance.ID, "k", json.RawMessage(`{"v":1}`)))
					require.NoError(t, tx.TimerInsert(b.ctx, w.process.ID, time.Now().Add(-time.Minute)))
					var err error
					w.eventID, err = tx.EventInsert(b.ctx, &store.EventInsertParams{CommunityID: w.community.ID,
						Source: "kit", Type: "post_created", Data: json.RawMessage(`{"id":1}`), CreatedAt: time.Now()})
					require.NoError(t, err)
					for _, p := range []store.DeliveryInsertParams{
						{CommunityID: w.community.ID, Kind: store.DeliveryCallback, ProcessID: w.process.ID,
							MessageID: "msg_cb_" + tag, URL: "https://driver.example/cb", Payload: []byte(`{"id":1}`)},
						{CommunityID: w.community.ID, Kind: store.DeliveryEvent, EventID: w.eventID,
							MessageID: "msg_ev_" + tag, URL: "https://driver.example/events", Payload: []byte(`{"id":2}`)},
					} {
						id, err := tx.DeliveryInsert(b.ctx, &p)
						require.NoError(t, err)
						w.deliveries = append(w.deliveries, id)
					}
					return nil
				})
				return w
			}
			doomed := build("doomed")
			kept := build("kept")

			b.tx(t, func(tx *store.Tx) error { return tx.CommunityDelete(b.ctx, doomed.community.ID) })

			_, err := b.st.PluginInstanceGetByID(b.ctx, doomed.instance.ID)
			require.ErrorIs(t, err, store.ErrNotFound, "plugin instance")
			insts, err := b.st.PluginInstanceListByCommunity(b.ctx, doomed.community.ID)
			require.NoError(t, err)
			require.Empty(t, insts)
			_, err = b.st.PluginStateGet(b.ctx, doomed.instance.ID, "k")
			require.ErrorIs(t, err, store.ErrNotFound, "plugin state")
			_, err = b.st.ProcessGetByID(b.ctx, doomed.process.ID)
			require.ErrorIs(t, err, store.ErrNotFound, "process")
			for _, id := range doomed.deliveries {
				_, err = b.st.DeliveryGetByID(b.ctx, id)
				require.ErrorIs(t, err, store.ErrNotFound, "delivery %d", id)
			}
			events, err := b.st.EventList(b.ctx, &store.EventListParams{CommunityID: doomed.community.ID, Limit: 10})
			require.NoError(t, err)
			require.Empty(t, events, "events")

			// Timers of the deleted processes are gone, the others stay.
			timers, err := b.st.TimerListDue(b.ctx, time.Now(), 10)
			require.NoError(t, err)
			require.Len(t, timers, 1)
			require.Equal(t, kept.process.ID, timers[0].ProcessID)

			// The other community keeps everything.
			_, err = b.st.PluginInstanceGetByID(b.ctx, kept.instance.ID)
			require.NoError(t, err)
			_, err = b.st.PluginStateGet(b.ctx, kept.instance.ID, "k")
			require.NoError(t, err)
			_, err = b.st.ProcessGetByID(b.ctx, kept.process.ID)
			require.NoError(t, err)
			for _, id := range kept.deliveries {
				_, err = b.st.DeliveryGetByID(b.ctx, id)
				require.NoError(t, err)
			}
			events, err = b.st.EventList(b.ctx, &store.EventListParams{CommunityID: kept.community.ID, Limit: 10})
			require.NoError(t, err)
			require.Len(t, events, 1)
		})
	})
}
