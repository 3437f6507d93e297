package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/internal/apptest"
	"github.com/metagov/metagov-go/internal/store"
)

// TestDriverErrors checks that constraint violations are told apart by the
// drivers' error codes: a real duplicate is ErrConflict, a real dangling
// reference is a missing reference, and an error that merely says so in its
// text is neither.
func TestDriverErrors(t *testing.T) {
	eachDatabase(t, func(t *testing.T, setup setupFunc) {
		b := setup(t)
		c := b.community(t)
		inst := b.instance(t, c.ID, "randomness", "", `{}`)

		t.Run("duplicate unique key", func(t *testing.T) {
			err := b.st.InTx(b.ctx, func(tx *store.Tx) error {
				_, err := tx.CommunityInsert(b.ctx, c.Slug, "again")
				return err
			})
			require.ErrorIs(t, err, store.ErrConflict)
			require.True(t, store.IsUniqueViolation(err))
			require.False(t, store.IsMissingReference(err))
			require.False(t, store.IsUnavailable(err), "a constraint violation is the request's fault")
		})

		t.Run("duplicate primary key", func(t *testing.T) {
			p := b.process(t, inst, "vote", "pending")
			p.Sequence = 1
			err := b.st.InTx(b.ctx, func(tx *store.Tx) error { return tx.ProcessInsert(b.ctx, &p) })
			require.ErrorIs(t, err, store.ErrConflict)
			require.True(t, store.IsUniqueViolation(err))
			require.False(t, store.IsMissingReference(err))
			require.False(t, store.IsUnavailable(err), "a constraint violation is the request's fault")
		})

		t.Run("missing reference", func(t *testing.T) {
			err := b.st.InTx(b.ctx, func(tx *store.Tx) error {
				_, err := tx.PluginInstanceInsert(b.ctx, &store.PluginInstanceInsertParams{
					CommunityID: c.ID + 1000, Name: "randomness", Config: json.RawMessage(`{}`),
				})
				return fmt.Errorf("in a caller: %w", err)
			})
			require.Error(t, err)
			require.True(t, store.IsMissingReference(err))
			require.False(t, store.IsUnavailable(err))
			require.False(t, store.IsUniqueViolation(err))
			require.NotErrorIs(t, err, store.ErrConflict)
		})

		// Real driver errors (an unknown table) whose messages quote the
		// texts the drivers use for constraint violations.
		for _, text := range []string{
			"UNIQUE constraint failed: communities.slug", "FOREIGN KEY constraint failed",
			"SQLSTATE 23505", "SQLSTATE 23503",
		} {
			t.Run("an unrelated error saying "+text, func(t *testing.T) {
				_, err := b.st.DB().ExecContext(b.ctx, `DELETE FROM "`+text+`"`)
				require.ErrorContains(t, err, text)
				require.False(t, store.IsUniqueViolation(err))
				require.False(t, store.IsMissingReference(err))
				require.False(t, store.IsUnavailable(err), "a constraint violation is the request's fault")

				plain := errors.New(text)
				require.False(t, store.IsUniqueViolation(plain))
				require.False(t, store.IsMissingReference(plain))
			})
		}

		require.False(t, store.IsUniqueViolation(nil))
		require.False(t, store.IsMissingReference(nil))
	})
}

func TestIsUnavailable(t *testing.T) {
	t.Parallel()
	st, err := store.Open(context.Background(), apptest.SQLite(t).DSN)
	require.NoError(t, err)
	require.NoError(t, st.Close())
	err = st.InTx(context.Background(), func(tx *store.Tx) error { return nil })
	require.True(t, store.IsUnavailable(err), "a closed store: %v", err)
	require.True(t, store.IsUnavailable(fmt.Errorf("wrapped: %w", err)))
	require.False(t, store.IsUnavailable(errors.New("too many connections (SQLSTATE 53300)")), "classified by code, not text")
	require.False(t, store.IsUnavailable(nil))

	// Nothing listens on a port just closed: no answer at all.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	_, err = store.Open(context.Background(), "postgres://postgres@"+addr+"/test?sslmode=disable&connect_timeout=2")
	require.Error(t, err)
	require.True(t, store.IsUnavailable(err), "%v", err)
}
