package client_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/client"
	"github.com/metagov/metagov-go/internal/app"
	"github.com/metagov/metagov-go/internal/apptest"
)

// requireAPIError asserts err is the gateway's *client.Error with this
// status, code and field.
func requireAPIError(t *testing.T, err error, status int, code, field string) {
	t.Helper()
	var apiErr *client.Error
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, status, apiErr.Status, "%v", err)
	require.Equal(t, code, apiErr.Code, "%v", err)
	require.Equal(t, field, apiErr.Field, "%v", err)
}

// TestClientIdentity runs the identity API through the client, on both
// databases: identities created (in the client's community or a named one),
// accounts linked with custom data, read back by identity, by filter and by
// platform, merged, unlinked, and the gateway's errors as *client.Error.
func TestClientIdentity(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		ctx := context.Background()
		s := apptest.Start(t, db, app.Config{})
		c, err := client.New(s.URL, client.WithCommunity("town"))
		require.NoError(t, err)
		for _, slug := range []string{"town", "city"} {
			_, _, err = c.PutCommunity(ctx, slug, client.CommunitySpec{Plugins: []client.PluginConfig{
				{Name: "randomness", Config: map[string]int{"default_low": 1, "default_high": 6}},
				{Name: "webhook", Config: map[string]string{"secret": "shared-secret"}},
			}})
			require.NoError(t, err)
		}

		ids, err := c.CreateIDs(ctx, "", 3)
		require.NoError(t, err)
		require.Len(t, ids, 3)
		alice, bob, carol := ids[0], ids[1], ids[2]
		other, err := c.CreateID(ctx, "city")
		require.NoError(t, err)
		require.Positive(t, other)

		// An identity with no account is its own primary.
		u, err := c.GetUser(ctx, alice)
		require.NoError(t, err)
		require.Equal(t, &client.Identity{SourceID: alice, PrimaryID: alice, LinkedAccounts: []client.LinkedAccount{}}, u)

		a, err := c.LinkAccount(ctx, client.LinkAccountRequest{ExternalID: alice, PlatformType: "randomness", PlatformIdentifier: "U-alice",
			CustomData: map[string]string{"name": "Alice"}, LinkType: client.LinkTypeOAuth, LinkQuality: client.LinkQualityConfirmedStrong})
		require.NoError(t, err)
		require.Equal(t, alice, a.ExternalID)
		require.Equal(t, "town", a.Community, "the client's community by default")
		require.Nil(t, a.CommunityPlatformID)
		require.Equal(t, "randomness", a.PlatformType)
		require.Equal(t, "U-alice", a.PlatformIdentifier)
		require.JSONEq(t, `{"name": "Alice"}`, string(a.CustomData))
		require.Equal(t, client.LinkTypeOAuth, a.LinkType)
		require.Equal(t, client.LinkQualityConfirmedStrong, a.LinkQuality)
		b, err := c.LinkAccount(ctx, client.LinkAccountRequest{ExternalID: bob, Community: "town", PlatformType: "webhook", PlatformIdentifier: "U-bob"})
		require.NoError(t, err)
		require.Equal(t, client.LinkTypeUnknown, b.LinkType, "the defaults")
		require.Equal(t, client.LinkQualityUnknown, b.LinkQuality)

		u, err = c.GetUser(ctx, alice)
		require.NoError(t, err)
		require.Len(t, u.LinkedAccounts, 1)
		require.Equal(t, "U-alice", u.LinkedAccounts[0].PlatformIdentifier)

		// Lists: every primary, filtered by account, and the listed ones
		// with an account of their own.
		users, err := c.GetUsers(ctx, client.AccountFilter{})
		require.NoError(t, err)
		require.ElementsMatch(t, []int64{alice, bob, carol}, sourceIDs(users), "city's identity is not town's")
		users, err = c.GetUsers(ctx, client.AccountFilter{PlatformType: "randomness"})
		require.NoError(t, err)
		require.Equal(t, []int64{alice}, sourceIDs(users))
		users, err = c.GetUsers(ctx, client.AccountFilter{Community: "city"})
		require.NoError(t, err)
		require.Equal(t, []int64{other}, sourceIDs(users))
		users, err = c.FilterUsersByAccount(ctx, []int64{alice, bob, carol}, client.AccountFilter{LinkQuality: client.LinkQualityConfirmedStrong})
		require.NoError(t, err)
		require.Equal(t, []int64{alice}, sourceIDs(users))
		users, err = c.FilterUsersByAccount(ctx, []int64{bob, carol}, client.AccountFilter{PlatformType: "webhook", PlatformIdentifier: "U-bob"})
		require.NoError(t, err)
		require.Equal(t, []int64{bob}, sourceIDs(users))

		got, err := c.GetLinkedAccount(ctx, alice, "randomness", "")
		require.NoError(t, err)
		require.Equal(t, a, got)
		got, err = c.GetLinkedAccount(ctx, alice, "webhook", "")
		require.NoError(t, err)
		require.Nil(t, got, "no account on that platform")

		// Merged, alice's group holds bob's account too.
		m, err := c.MergeIDs(ctx, alice, bob)
		require.NoError(t, err)
		require.Equal(t, alice, m.SourceID)
		require.Equal(t, alice, m.PrimaryID)
		require.Len(t, m.LinkedAccounts, 2)
		u, err = c.GetUser(ctx, bob)
		require.NoError(t, err)
		require.Equal(t, alice, u.PrimaryID)
		users, err = c.GetUsers(ctx, client.AccountFilter{})
		require.NoError(t, err)
		require.ElementsMatch(t, []int64{alice, carol}, sourceIDs(users), "bob is no longer a primary")

		require.NoError(t, c.UnlinkAccount(ctx, client.AccountRef{PlatformType: "webhook", PlatformIdentifier: "U-bob"}))
		got, err = c.GetLinkedAccount(ctx, bob, "webhook", "")
		require.NoError(t, err)
		require.Nil(t, got)

		// Errors, as *client.Error with status, code and field.
		_, err = c.GetUser(ctx, 1<<40)
		requireAPIError(t, err, http.StatusNotFound, "identity_not_found", "external_id")
		_, err = c.LinkAccount(ctx, client.LinkAccountRequest{ExternalID: alice, PlatformType: "randomness", PlatformIdentifier: "U-alice"})
		requireAPIError(t, err, http.StatusConflict, "account_already_linked", "/platform_identifier")
		_, err = c.LinkAccount(ctx, client.LinkAccountRequest{ExternalID: carol, PlatformType: "randomness", PlatformIdentifier: "U-carol",
			LinkQuality: "very good"})
		requireAPIError(t, err, http.StatusBadRequest, "invalid_link_quality", "/link_quality")
		err = c.UnlinkAccount(ctx, client.AccountRef{PlatformType: "webhook", PlatformIdentifier: "U-bob"})
		requireAPIError(t, err, http.StatusNotFound, "account_not_found", "/platform_identifier")
		_, err = c.CreateIDs(ctx, "", 0)
		requireAPIError(t, err, http.StatusBadRequest, "invalid_count", "/count")
		_, err = c.MergeIDs(ctx, alice, other)
		require.True(t, client.IsStatus(err, http.StatusBadRequest), "identities of two communities: %v", err)
		_, err = c.WithCommunity("nowhere").CreateID(ctx, "")
		require.True(t, client.IsStatus(err, http.StatusNotFound), "%v", err)
	})
}

func sourceIDs(users []client.Identity) []int64 {
	out := []int64{}
	for _, u := range users {
		out = append(out, u.SourceID)
	}
	return out
}
