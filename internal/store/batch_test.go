package store_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/internal/store"
)

// TestInBatch checks that a batch writes all its statements in one commit
// (on PostgreSQL in one round trip) or none of them, and that a read or a
// rows-affected count inside one fails it on both databases.
func TestInBatch(t *testing.T) {
	eachDatabase(t, func(t *testing.T, setup setupFunc) {
		b := setup(t)
		c := b.community(t)
		inst := b.instance(t, c.ID, "randomness", "", `{}`)
		var first int64
		b.tx(t, func(tx *store.Tx) error {
			var err error
			first, err = tx.ProcessIDsReserve(b.ctx, 3)
			return err
		})
		newProcess := func(id, instanceID int64) store.Process {
			return store.Process{ID: id, CommunityID: c.ID, InstanceID: instanceID, Plugin: "randomness", Name: "delayed-stochastic-vote",
				Status: "pending", Input: json.RawMessage(`{}`), Outcome: json.RawMessage(`{}`), Errors: json.RawMessage(`{}`),
				State: json.RawMessage(`{}`), Sequence: 1}
		}
		audits := func() int {
			t.Helper()
			entries, err := b.st.AuditList(b.ctx, &store.AuditListParams{Limit: 100})
			require.NoError(t, err)
			return len(entries)
		}
		due := time.Now().Add(-time.Minute)
		start := func(ctx context.Context, p store.Process, more func(tx *store.Tx) error) func(tx *store.Tx) error {
			return func(tx *store.Tx) error {
				if err := tx.AuditInsert(ctx, &store.AuditEntry{CommunityID: c.ID, Community: c.Slug, Action: "process.start", Detail: []byte(`{}`)}); err != nil {
					return err
				}
				if err := tx.ProcessInsert(ctx, &p); err != nil {
					return err
				}
				if err := tx.TimerInsert(ctx, p.ID, due); err != nil {
					return err
				}
				return more(tx)
			}
		}
		none := func(*store.Tx) error { return nil }

		// Everything, in one commit.
		var u store.Usage
		ctx := store.WithUsage(b.ctx, &u)
		p := newProcess(first, inst.ID)
		require.NoError(t, b.st.InBatch(ctx, start(ctx, p, none)))
		got, err := b.st.ProcessGetByID(b.ctx, p.ID)
		require.NoError(t, err)
		require.Equal(t, "pending", got.Status)
		timers, err := b.st.TimerListDue(b.ctx, time.Now(), 10)
		require.NoError(t, err)
		require.Len(t, timers, 1)
		require.Equal(t, p.ID, timers[0].ProcessID)
		require.Equal(t, 1, audits())
		require.EqualValues(t, 3, u.Statements.Load(), "statements")
		require.EqualValues(t, 1, u.Commits.Load(), "commits")
		if b.st.Dialect() == store.Postgres {
			// Its statements may be prepared first on a new connection:
			// at most one round trip more.
			require.LessOrEqual(t, u.RoundTrips.Load(), int64(2), "round trips")
		}

		// Nothing, when a statement fails: the audit entry queued before a
		// process of a missing instance is not written either.
		err = b.st.InBatch(b.ctx, start(b.ctx, newProcess(first+1, inst.ID+1000), none))
		require.Error(t, err)
		require.True(t, store.IsMissingReference(err), "%v", err)
		require.Equal(t, 1, audits())
		_, err = b.st.ProcessGetByID(b.ctx, first+1)
		require.ErrorIs(t, err, store.ErrNotFound)

		// Nothing, when fn reads or needs to know what a statement did.
		for name, misuse := range map[string]func(tx *store.Tx) error{
			"read": func(tx *store.Tx) error {
				_, err := tx.ProcessGetByID(b.ctx, first)
				return err
			},
			"rows affected": func(tx *store.Tx) error {
				_, err := tx.TimerDelete(b.ctx, timers[0].ID)
				return err
			},
		} {
			err = b.st.InBatch(b.ctx, start(b.ctx, newProcess(first+2, inst.ID), misuse))
			require.ErrorIs(t, err, store.ErrBatchRead, name)
			require.Equal(t, 1, audits(), name)
			_, err = b.st.ProcessGetByID(b.ctx, first+2)
			require.ErrorIs(t, err, store.ErrNotFound, name)
		}
	})
}
