package store_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/internal/store"
)

// TestOAuthRecords: a state nonce is used once; a user token is taken once
// and not after it expires; expired records are deleted, and only those.
func TestOAuthRecords(t *testing.T) {
	eachDatabase(t, func(t *testing.T, setup setupFunc) {
		b := setup(t)
		c := b.community(t)
		t0 := time.Date(2030, 5, 6, 7, 8, 9, 0, time.UTC)
		var first, again, other bool
		b.tx(t, func(tx *store.Tx) error {
			var err error
			if first, err = tx.OAuthStateUse(b.ctx, "nonce-1", t0.Add(10*time.Minute)); err != nil {
				return err
			}
			if again, err = tx.OAuthStateUse(b.ctx, "nonce-1", t0.Add(10*time.Minute)); err != nil {
				return err
			}
			if other, err = tx.OAuthStateUse(b.ctx, "nonce-2", t0.Add(time.Minute)); err != nil {
				return err
			}
			return tx.OAuthUserTokenInsert(b.ctx, &store.OAuthUserToken{RefHash: "h1", CommunityID: c.ID, Plugin: "slack",
				UserID: "U1", Token: "sealed", Expires: t0.Add(5 * time.Minute)})
		})
		require.True(t, first)
		require.False(t, again, "a nonce is used once, even within one transaction")
		require.True(t, other)

		_, err := b.st.OAuthUserTokenPeek(b.ctx, "h1", t0.Add(5*time.Minute))
		require.ErrorIs(t, err, store.ErrNotFound, "expired")
		got, err := b.st.OAuthUserTokenPeek(b.ctx, "h1", t0)
		require.NoError(t, err)
		require.Equal(t, "sealed", got.Token)
		b.tx(t, func(tx *store.Tx) error {
			taken, err := tx.OAuthUserTokenTake(b.ctx, "h1", t0)
			require.NoError(t, err)
			require.Equal(t, "U1", taken.UserID)
			_, err = tx.OAuthUserTokenTake(b.ctx, "h1", t0)
			require.ErrorIs(t, err, store.ErrNotFound, "taken once")
			return nil
		})

		var n int64
		b.tx(t, func(tx *store.Tx) error {
			var err error
			n, err = tx.OAuthDeleteExpired(b.ctx, t0.Add(2*time.Minute))
			return err
		})
		require.Equal(t, int64(1), n, "only nonce-2 had expired")
		b.tx(t, func(tx *store.Tx) error {
			fresh, err := tx.OAuthStateUse(b.ctx, "nonce-1", t0.Add(10*time.Minute))
			require.NoError(t, err)
			require.False(t, fresh, "nonce-1 is still recorded")
			return nil
		})
	})
}
