package store_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/internal/store"
)

func TestEvents(t *testing.T) {
	eachDatabase(t, func(t *testing.T, setup setupFunc) {
		b := setup(t)
		c1, c2 := b.community(t), b.community(t)
		at := time.Date(2024, 4, 22, 14, 39, 36, 535858000, time.UTC)

		tests := []struct {
			name      string
			community int64
			data      string
			initiator string // empty: unknown
		}{
			{name: "with initiator", community: c1.ID, data: `{"type": "push", "ref": "refs/heads/main", "commits": [{"id": "ä1"}]}`,
				initiator: `{"user_id": "alice", "provider": "github"}`},
			{name: "without initiator", community: c2.ID, data: `{"n": 1.5, "nested": {"z": null, "a": [true]}}`},
			{name: "empty data", community: c1.ID, data: `{}`},
		}
		var ids []int64
		for _, tc := range tests {
			var initiator json.RawMessage
			if tc.initiator != "" {
				initiator = json.RawMessage(tc.initiator)
			}
			b.tx(t, func(tx *store.Tx) error {
				id, err := tx.EventInsert(b.ctx, &store.EventInsertParams{CommunityID: tc.community, Source: "github",
					Type: "push", Data: json.RawMessage(tc.data), Initiator: initiator, CreatedAt: at})
				ids = append(ids, id)
				return err
			})
		}
		require.Less(t, ids[0], ids[1])
		require.Less(t, ids[1], ids[2])

		all, err := b.st.EventList(b.ctx, &store.EventListParams{Limit: 10})
		require.NoError(t, err)
		require.Len(t, all, len(tests))
		for i, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				e := all[i]
				require.Equal(t, ids[i], e.ID)
				require.Equal(t, tc.community, e.CommunityID)
				require.Equal(t, "github", e.Source)
				require.Equal(t, "push", e.Type)
				require.JSONEq(t, tc.data, string(e.Data))
				if tc.initiator == "" {
					require.Nil(t, e.Initiator, "an unknown initiator stays unknown")
				} else {
					require.JSONEq(t, tc.initiator, string(e.Initiator))
				}
				require.True(t, at.Equal(e.CreatedAt), "created_at %v, want %v", e.CreatedAt, at)
			})
		}

		byCommunity, err := b.st.EventList(b.ctx, &store.EventListParams{CommunityID: c1.ID, Limit: 10})
		require.NoError(t, err)
		require.Len(t, byCommunity, 2)
		require.Equal(t, ids[0], byCommunity[0].ID)
		require.Equal(t, ids[2], byCommunity[1].ID)

		page, err := b.st.EventList(b.ctx, &store.EventListParams{AfterID: ids[0], Limit: 1})
		require.NoError(t, err)
		require.Len(t, page, 1)
		require.Equal(t, ids[1], page[0].ID)
	})
}

func TestEventDeleteBefore(t *testing.T) {
	eachDatabase(t, func(t *testing.T, setup setupFunc) {
		b := setup(t)
		c := b.community(t)
		cutoff := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
		var oldID, newID, deliveryID int64
		b.tx(t, func(tx *store.Tx) error {
			var err error
			oldID, err = tx.EventInsert(b.ctx, &store.EventInsertParams{CommunityID: c.ID, Source: "kit", Type: "old",
				Data: json.RawMessage(`{}`), CreatedAt: cutoff.Add(-time.Second)})
			require.NoError(t, err)
			newID, err = tx.EventInsert(b.ctx, &store.EventInsertParams{CommunityID: c.ID, Source: "kit", Type: "new",
				Data: json.RawMessage(`{}`), CreatedAt: cutoff})
			require.NoError(t, err)
			deliveryID, err = tx.DeliveryInsert(b.ctx, &store.DeliveryInsertParams{CommunityID: c.ID, Kind: store.DeliveryEvent,
				EventID: oldID, MessageID: "msg_old", URL: "https://driver.example/events", Payload: []byte(`{}`)})
			return err
		})

		var n int64
		b.tx(t, func(tx *store.Tx) error {
			var err error
			n, err = tx.EventDeleteBefore(b.ctx, cutoff)
			return err
		})
		require.Equal(t, int64(1), n)
		events, err := b.st.EventList(b.ctx, &store.EventListParams{Limit: 10})
		require.NoError(t, err)
		require.Len(t, events, 1)
		require.Equal(t, newID, events[0].ID, "an event created at the cutoff stays")
		_, err = b.st.DeliveryGetByID(b.ctx, deliveryID)
		require.ErrorIs(t, err, store.ErrNotFound, "the deleted event's deliveries go with it")
	})
}
