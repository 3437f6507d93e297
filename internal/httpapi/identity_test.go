package httpapi_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/internal/app"
	"github.com/metagov/metagov-go/internal/apptest"
	"github.com/metagov/metagov-go/internal/core"
)

// identityServer is a gateway with community "town" running oauthkit for
// two accounts (acme and globex) and testkit, with five identities.
func identityServer(t *testing.T, db apptest.Database) (*apptest.Server, []int64) {
	t.Helper()
	s := apptest.Start(t, db, app.Config{})
	r := s.Do("PUT", "/api/internal/community/town", map[string]any{"plugins": []map[string]any{
		{"name": "oauthkit", "config": map[string]any{"account": "acme", "bot_token": "t1"}},
		{"name": "oauthkit", "config": map[string]any{"account": "globex", "bot_token": "t2"}},
		{"name": "testkit"},
	}})
	require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
	r = s.Do("POST", "/api/internal/identity/create_id", map[string]any{"community_slug": "town", "count": 5})
	require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
	var ids []int64
	for _, v := range jsonArrayAny(t, r.Body) {
		id := int64(v.(float64))
		require.Positive(t, id)
		require.Less(t, id, int64(1)<<31, "31-bit ids, as the original's")
		ids = append(ids, id)
	}
	require.Len(t, ids, 5)
	return s, ids
}

func link(t *testing.T, s *apptest.Server, body map[string]any) map[string]any {
	t.Helper()
	r := s.Do("POST", "/api/internal/identity/link_account", body)
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	return r.JSON(t)
}

func getUser(t *testing.T, s *apptest.Server, id int64) map[string]any {
	t.Helper()
	r := s.Do("GET", "/api/internal/identity/get_user?external_id="+i64(id), nil)
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	return r.JSON(t)
}

func sourceIDs(t *testing.T, body []byte) []int64 {
	t.Helper()
	var out []int64
	for _, u := range jsonArray(t, body) {
		out = append(out, int64(u["source_ID"].(float64)))
	}
	return out
}

// TestIdentityAPI follows the original's core identity tests through the
// HTTP API: create, merge, link, unlink, the identity object's exact shape,
// get_users with and without filters, filter_users_by_account and
// get_linked_account, with community_platform_id cases.
func TestIdentityAPI(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		s, ids := identityServer(t, db)
		one := s.Do("POST", "/api/internal/identity/create_id", map[string]any{"community_slug": "town"})
		require.Equal(t, http.StatusCreated, one.Status)
		require.Len(t, jsonArrayAny(t, one.Body), 1, "count defaults to one")
		ids = append(ids, int64(jsonArrayAny(t, one.Body)[0].(float64)))

		// An unlinked identity is its own primary.
		u := getUser(t, s, ids[0])
		require.Equal(t, map[string]any{"source_ID": float64(ids[0]), "primary_ID": float64(ids[0]), "linked_accounts": []any{}}, u)

		// Link with defaults: the exact shape of the original.
		acct := link(t, s, map[string]any{"external_id": ids[0], "community_slug": "town", "platform_type": "testkit",
			"platform_identifier": "alice"})
		require.Equal(t, map[string]any{"external_id": float64(ids[0]), "community": "town", "community_platform_id": nil,
			"platform_type": "testkit", "platform_identifier": "alice", "custom_data": map[string]any{},
			"link_type": "unknown", "link_quality": "unknown"}, acct)
		s.Do("POST", "/api/internal/identity/link_account", map[string]any{"external_id": ids[1],
			"community_slug": "town", "platform_type": "testkit", "platform_identifier": "alice"}).RequireError(t,

			http.StatusConflict, "account_already_linked", "LinkedAccount with the following already exists")

		// Merge: the primary stays primary, the secondary resolves to it,
		// and each sees the other's accounts.
		link(t, s, map[string]any{"external_id": ids[1], "community_slug": "town", "platform_type": "oauthkit",
			"community_platform_id": "acme", "platform_identifier": "U1", "link_type": "oauth", "link_quality": "confirmed (strong)",
			"custom_data": map[string]any{"name": "Alice"}})
		r := s.Do("POST", "/api/internal/identity/merge_ids", map[string]any{"primary_instance_id": ids[0], "secondary_instance_id": ids[1]})
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		require.Equal(t, float64(ids[0]), r.JSON(t)["primary_ID"])
		sec := getUser(t, s, ids[1])
		require.Equal(t, float64(ids[1]), sec["source_ID"])
		require.Equal(t, float64(ids[0]), sec["primary_ID"])
		require.Len(t, sec["linked_accounts"], 2)
		require.Len(t, getUser(t, s, ids[0])["linked_accounts"], 2)
		// Merging again changes nothing.
		r = s.Do("POST", "/api/internal/identity/merge_ids", map[string]any{"primary_instance_id": ids[1], "secondary_instance_id": ids[0]})
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		require.Equal(t, float64(ids[0]), r.JSON(t)["primary_ID"])

		// get_users: every primary (the merged secondary is not one).
		r = s.Do("GET", "/api/internal/identity/get_users?community=town", nil)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		require.ElementsMatch(t, []int64{ids[0], ids[2], ids[3], ids[4], ids[5]}, sourceIDs(t, r.Body))

		link(t, s, map[string]any{"external_id": ids[2], "community_slug": "town", "platform_type": "oauthkit",
			"community_platform_id": "globex", "platform_identifier": "U2"})
		get := func(q url.Values) []int64 {
			q.Set("community", "town")
			r := s.Do("GET", "/api/internal/identity/get_users?"+q.Encode(), nil)
			require.Equal(t, http.StatusOK, r.Status, string(r.Body))
			return sourceIDs(t, r.Body)
		}
		require.Equal(t, []int64{ids[0]}, get(url.Values{"platform_type": {"oauthkit"}, "link_type": {"oauth"}}),
			"filters map accounts to their primary")
		require.ElementsMatch(t, []int64{ids[0], ids[2]}, get(url.Values{"platform_type": {"oauthkit"}}))
		require.Equal(t, []int64{ids[2]}, get(url.Values{"community_platform_id": {"globex"}}))
		require.Equal(t, []int64{ids[0]}, get(url.Values{"platform_identifier": {"alice"}}))
		require.Empty(t, get(url.Values{"link_quality": {"confirmed (weak)"}}))

		// filter_users_by_account: only the listed ids' own accounts count.
		filter := func(list string, q url.Values) []int64 {
			q.Set("community", "town")
			q.Set("external_id_list", list)
			r := s.Do("GET", "/api/internal/identity/filter_users_by_account?"+q.Encode(), nil)
			require.Equal(t, http.StatusOK, r.Status, string(r.Body))
			return sourceIDs(t, r.Body)
		}
		three := i64(ids[0]) + "," + i64(ids[2]) + "," + i64(ids[3])
		require.Equal(t, []int64{ids[0], ids[2], ids[3]}, filter(three, url.Values{}))
		require.Equal(t, []int64{ids[2]}, filter(three, url.Values{"platform_type": {"oauthkit"}}),
			"ids[0]'s oauthkit account belongs to ids[1], outside the list")
		require.Equal(t, []int64{ids[2]}, filter("["+i64(ids[2])+", "+i64(ids[3])+"]", url.Values{"community_platform_id": {"globex"}}))

		// get_linked_account: the id's own first account on a platform.
		linked := func(q url.Values) map[string]any {
			r := s.Do("GET", "/api/internal/identity/get_linked_account?"+q.Encode(), nil)
			require.Equal(t, http.StatusOK, r.Status, string(r.Body))
			return r.JSON(t)
		}
		require.Equal(t, "alice", linked(url.Values{"external_id": {i64(ids[0])}, "platform_type": {"testkit"}})["platform_identifier"])
		require.Empty(t, linked(url.Values{"external_id": {i64(ids[0])}, "platform_type": {"oauthkit"}}), "other platform: {}")
		got := linked(url.Values{"external_id": {i64(ids[1])}, "platform_type": {"oauthkit"}, "community_platform_id": {"acme"}})
		require.Equal(t, "U1", got["platform_identifier"])
		require.Equal(t, "acme", got["community_platform_id"])
		require.Equal(t, map[string]any{"name": "Alice"}, got["custom_data"])
		require.Empty(t, linked(url.Values{"external_id": {i64(ids[1])}, "platform_type": {"oauthkit"}, "community_platform_id": {"globex"}}),
			"wrong community_platform_id: {}")
		require.Empty(t, linked(url.Values{"external_id": {i64(ids[1])}, "platform_type": {"oauthkit"}}), "no community_platform_id: {}")

		// Unlink: an account with a community_platform_id needs it.
		s.Do("POST", "/api/internal/identity/unlink_account", map[string]any{"community_slug": "town",
			"platform_type": "oauthkit", "platform_identifier": "U1"}).RequireError(t,
			http.StatusBadRequest, "community_platform_id_required", "community_platform_id")

		s.Do("POST", "/api/internal/identity/unlink_account", map[string]any{"community_slug": "town",
			"platform_type": "oauthkit", "platform_identifier": "U1", "community_platform_id": "globex"}).RequireError(t,

			http.StatusNotFound, "account_not_found", "No LinkedAccount found")

		r = s.Do("POST", "/api/internal/identity/unlink_account", map[string]any{"community_slug": "town",
			"platform_type": "oauthkit", "platform_identifier": "U1", "community_platform_id": "acme"})
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		require.Equal(t, "true\n", string(r.Body))
		require.Len(t, getUser(t, s, ids[1])["linked_accounts"], 1)
		s.Do("POST", "/api/internal/identity/unlink_account", map[string]any{"community_slug": "town",
			"platform_type": "testkit", "platform_identifier": "nobody"}).RequireError(t,
			http.StatusNotFound, "account_not_found")

		// Every change is in the audit log, once.
		r = s.Do("GET", "/api/internal/audit?limit=1000", nil)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		count := map[string]int{}
		for _, e := range r.JSON(t)["entries"].([]any) {
			count[e.(map[string]any)["action"].(string)]++
		}
		require.Equal(t, 2, count["identity.create"])
		require.Equal(t, 1, count["identity.merge"], "the second merge changed nothing")
		require.Equal(t, 3, count["identity.link"])
		require.Equal(t, 1, count["identity.unlink"])
	})
}

// TestIdentityErrors: every unhappy path is a JSON 4xx naming what and
// where (the original answered 500 to all of them), and changes nothing.
func TestIdentityErrors(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		s, ids := identityServer(t, db)
		require.Equal(t, http.StatusCreated, s.Do("PUT", "/api/internal/community/city", map[string]any{}).Status)
		r := s.Do("POST", "/api/internal/identity/create_id", map[string]any{"community_slug": "city"})
		other := int64(jsonArrayAny(t, r.Body)[0].(float64))
		post := func(route string, body any) apptest.Response {
			return s.Do("POST", "/api/internal/identity/"+route, body)
		}
		get := func(route, q string) apptest.Response { return s.Do("GET", "/api/internal/identity/"+route+"?"+q, nil) }
		for _, tc := range []struct {
			name   string
			r      apptest.Response
			status int
			code   string
			field  string
		}{
			{"create without community", post("create_id", map[string]any{}), 400, "missing_parameter", "/community_slug"},
			{"create in unknown community", post("create_id", map[string]any{"community_slug": "nowhere"}), 404, "community_not_found", "/community_slug"},
			{"create zero", post("create_id", map[string]any{"community_slug": "town", "count": 0}), 400, "invalid_count", "/count"},
			{"create too many", post("create_id", map[string]any{"community_slug": "town", "count": 100000}), 400, "invalid_count", "/count"},
			{"create with a string count", post("create_id", `{"community_slug": "town", "count": "5"}`), 400, "invalid_json", "/count"},
			{"create with bad JSON", post("create_id", `{"community_slug": `), 400, "invalid_json", ""},
			{"merge without secondary", post("merge_ids", map[string]any{"primary_instance_id": ids[0]}), 400, "missing_parameter", "/secondary_instance_id"},
			{"merge unknown", post("merge_ids", map[string]any{"primary_instance_id": ids[0], "secondary_instance_id": 7}), 404, "identity_not_found", "/secondary_instance_id"},
			{"merge itself", post("merge_ids", map[string]any{"primary_instance_id": ids[0], "secondary_instance_id": ids[0]}), 400, "same_identity", "/secondary_instance_id"},
			{"merge across communities", post("merge_ids", map[string]any{"primary_instance_id": ids[0], "secondary_instance_id": other}), 400, "different_communities", "/secondary_instance_id"},
			{"link without external_id", post("link_account", map[string]any{"community_slug": "town", "platform_type": "testkit", "platform_identifier": "a"}), 400, "missing_parameter", "/external_id"},
			{"link without identifier", post("link_account", map[string]any{"external_id": ids[0], "community_slug": "town", "platform_type": "testkit"}), 400, "missing_parameter", "/platform_identifier"},
			{"link unknown id", post("link_account", map[string]any{"external_id": 7, "community_slug": "town", "platform_type": "testkit", "platform_identifier": "a"}), 404, "identity_not_found", "/external_id"},
			{"link id of another community", post("link_account", map[string]any{"external_id": other, "community_slug": "town", "platform_type": "testkit", "platform_identifier": "a"}), 400, "identity_in_other_community", "/external_id"},
			{"link plugin not enabled", post("link_account", map[string]any{"external_id": ids[0], "community_slug": "town", "platform_type": "randomness", "platform_identifier": "a"}), 400, "plugin_not_enabled", "/platform_type"},
			{"link unknown cpid", post("link_account", map[string]any{"external_id": ids[0], "community_slug": "town", "platform_type": "oauthkit", "community_platform_id": "initech", "platform_identifier": "a"}), 400, "plugin_not_enabled", "/platform_type"},
			{"link ambiguous instance", post("link_account", map[string]any{"external_id": ids[0], "community_slug": "town", "platform_type": "oauthkit", "platform_identifier": "a"}), 400, "multiple_instances", "/platform_type"},
			{"link bad type", post("link_account", map[string]any{"external_id": ids[0], "community_slug": "town", "platform_type": "testkit", "platform_identifier": "a", "link_type": "magic"}), 400, "invalid_link_type", "/link_type"},
			{"link bad quality", post("link_account", map[string]any{"external_id": ids[0], "community_slug": "town", "platform_type": "testkit", "platform_identifier": "a", "link_quality": "certain"}), 400, "invalid_link_quality", "/link_quality"},
			{"link custom_data not an object", post("link_account", map[string]any{"external_id": ids[0], "community_slug": "town", "platform_type": "testkit", "platform_identifier": "a", "custom_data": []int{1}}), 400, "invalid_custom_data", "/custom_data"},
			{"unlink without type", post("unlink_account", map[string]any{"community_slug": "town", "platform_identifier": "a"}), 400, "missing_parameter", "/platform_type"},
			{"get_user without id", get("get_user", ""), 400, "missing_parameter", "external_id"},
			{"get_user bad id", get("get_user", "external_id=abc"), 400, "invalid_parameter", "external_id"},
			{"get_user unknown", get("get_user", "external_id=7"), 404, "identity_not_found", "external_id"},
			{"get_users without community", get("get_users", ""), 400, "missing_parameter", "community"},
			{"get_users unknown community", get("get_users", "community=nowhere"), 404, "community_not_found", "community"},
			{"get_users bad quality", get("get_users", "community=town&link_quality=best"), 400, "invalid_link_quality", "link_quality"},
			{"filter bad list", get("filter_users_by_account", "community=town&external_id_list=1,x"), 400, "invalid_parameter", "external_id_list"},
			{"filter id of another community", get("filter_users_by_account", "community=town&external_id_list="+i64(other)), 404, "identity_not_found", "external_id_list"},
			{"linked account without platform", get("get_linked_account", "external_id="+i64(ids[0])), 400, "missing_parameter", "platform_type"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				body := tc.r.RequireError(t, tc.status, tc.code)
				if tc.field != "" {
					require.Equal(t, tc.field, body["field"], string(tc.r.Body))
				}
			})
		}
		// Nothing was linked or merged by all that.
		for _, id := range ids {
			u := getUser(t, s, id)
			require.Empty(t, u["linked_accounts"])
			require.Equal(t, float64(id), u["primary_ID"])
		}
	})
}

// TestIdentityLimitedKeys: a key limited to communities sees and changes
// only their identities; the others answer as if they did not exist.
func TestIdentityLimitedKeys(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		s, ids := identityServer(t, db)
		require.Equal(t, http.StatusCreated, s.Do("PUT", "/api/internal/community/city", map[string]any{
			"plugins": []map[string]any{{"name": "testkit"}}}).Status)
		r := s.Do("POST", "/api/internal/identity/create_id", map[string]any{"community_slug": "city"})
		cityID := int64(jsonArrayAny(t, r.Body)[0].(float64))
		link(t, s, map[string]any{"external_id": cityID, "community_slug": "city", "platform_type": "testkit", "platform_identifier": "c"})
		ctx := context.Background()
		townKey, _, err := core.CreateAPIKey(ctx, s.App.Store(), "town", []string{"town"})
		require.NoError(t, err)
		h := bearer(townKey)
		require.Eventually(t, func() bool { return s.Do("GET", "/api/internal/identity/get_users?community=town", nil).Status == 401 },
			5*time.Second, 20*time.Millisecond)

		r = s.Do("GET", "/api/internal/identity/get_users?community=town", nil, h...)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		require.Len(t, jsonArray(t, r.Body), 5)
		require.Equal(t, http.StatusOK, s.Do("GET", "/api/internal/identity/get_user?external_id="+i64(ids[0]), nil, h...).Status)

		s.Do("GET", "/api/internal/identity/get_user?external_id="+i64(cityID), nil, h...).RequireError(t, http.StatusNotFound, "identity_not_found")
		s.Do("GET", "/api/internal/identity/get_users?community=city", nil, h...).RequireError(t, http.StatusNotFound, "community_not_found")
		s.Do("GET", "/api/internal/identity/get_linked_account?platform_type=testkit&external_id="+i64(cityID), nil, h...).RequireError(t,
			http.StatusNotFound, "identity_not_found")

		s.Do("POST", "/api/internal/identity/create_id", map[string]any{"community_slug": "city"}, h...).RequireError(t,
			http.StatusNotFound, "community_not_found")

		s.Do("POST", "/api/internal/identity/merge_ids", map[string]any{"primary_instance_id": ids[0], "secondary_instance_id": cityID}, h...).RequireError(t,
			http.StatusNotFound, "identity_not_found")

		s.Do("POST", "/api/internal/identity/unlink_account", map[string]any{"community_slug": "city",
			"platform_type": "testkit", "platform_identifier": "c"}, h...).RequireError(t,
			http.StatusNotFound, "community_not_found")

		s.Do("POST", "/api/internal/identity/link_account", map[string]any{"external_id": cityID, "community_slug": "town",
			"platform_type": "testkit", "platform_identifier": "x"}, h...).RequireError(t,
			http.StatusNotFound, "identity_not_found")

		// city's account is still there.
		admin, _, err := core.CreateAPIKey(ctx, s.App.Store(), "admin", nil)
		require.NoError(t, err)
		r = s.Do("GET", "/api/internal/identity/get_user?external_id="+i64(cityID), nil, bearer(admin)...)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		require.Len(t, r.JSON(t)["linked_accounts"], 1)
	})
}

// TestIdentityLinkThroughSDK: a plugin links accounts with
// Call.Identity().Link, committed with its invocation; a link never lowers
// an account's quality, and a higher one replaces type, quality and data.
func TestIdentityLinkThroughSDK(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		s, ids := identityServer(t, db)
		act := func(body map[string]any) apptest.Response {
			return s.Do("POST", "/api/internal/action/oauthkit.link", map[string]any{"parameters": body},
				"X-Metagov-Community", "town", "X-Metagov-Community-Platform-Id", "acme")
		}
		account := func() map[string]any {
			r := s.Do("GET", "/api/internal/identity/get_users?community=town&platform_identifier=U5", nil)
			require.Equal(t, http.StatusOK, r.Status, string(r.Body))
			users := jsonArray(t, r.Body)
			require.Len(t, users, 1)
			accounts := users[0]["linked_accounts"].([]any)
			require.Len(t, accounts, 1)
			return accounts[0].(map[string]any)
		}
		r := act(map[string]any{"user": "U5", "quality": "confirmed (weak)", "type": "email matching"})
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		a := account()
		require.Equal(t, "acme", a["community_platform_id"])
		require.Equal(t, "oauthkit", a["platform_type"])
		require.Equal(t, "confirmed (weak)", a["link_quality"])
		require.Equal(t, "email matching", a["link_type"])
		require.NotContains(t, []float64{float64(ids[0]), float64(ids[1]), float64(ids[2]), float64(ids[3]), float64(ids[4])},
			a["external_id"], "a new identity for a new account")
		first := a["external_id"]

		// Lower and equal qualities leave it as it is.
		for _, q := range []string{"unconfirmed", "confirmed (weak)", ""} {
			r = act(map[string]any{"user": "U5", "quality": q, "type": "manual admin"})
			require.Equal(t, http.StatusOK, r.Status, string(r.Body))
			a = account()
			require.Equal(t, "confirmed (weak)", a["link_quality"], q)
			require.Equal(t, "email matching", a["link_type"], q)
		}
		// Higher replaces.
		r = act(map[string]any{"user": "U5", "quality": "confirmed (strong)", "type": "oauth"})
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		a = account()
		require.Equal(t, "confirmed (strong)", a["link_quality"])
		require.Equal(t, "oauth", a["link_type"])
		require.Equal(t, map[string]any{"seen_by": "link-action", "quality": "confirmed (strong)"}, a["custom_data"])
		require.Equal(t, first, a["external_id"], "the same identity")

		// A bad link fails the invocation and links nothing.
		r = act(map[string]any{"user": "U6", "quality": "certain"})
		require.Equal(t, http.StatusBadRequest, r.Status, string(r.Body))
		r = s.Do("GET", "/api/internal/identity/get_users?community=town&platform_identifier=U6", nil)
		require.Empty(t, jsonArray(t, r.Body))
	})
}
