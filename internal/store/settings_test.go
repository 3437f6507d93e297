package store_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/internal/store"
)

func TestSettings(t *testing.T) {
	eachDatabase(t, func(t *testing.T, setup setupFunc) {
		b := setup(t)
		_, err := b.st.SettingGet(b.ctx, "signing_secret")
		require.ErrorIs(t, err, store.ErrNotFound)

		var first, second string
		b.tx(t, func(tx *store.Tx) error {
			var err error
			first, err = tx.SettingGetOrInsert(b.ctx, "signing_secret", "whsec_first")
			return err
		})
		b.tx(t, func(tx *store.Tx) error {
			var err error
			second, err = tx.SettingGetOrInsert(b.ctx, "signing_secret", "whsec_second")
			return err
		})
		require.Equal(t, "whsec_first", first)
		require.Equal(t, "whsec_first", second, "the first stored value wins")
		got, err := b.st.SettingGet(b.ctx, "signing_secret")
		require.NoError(t, err)
		require.Equal(t, "whsec_first", got)
	})
}
