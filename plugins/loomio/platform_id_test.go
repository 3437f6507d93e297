package loomio_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/internal/app"
	"github.com/metagov/metagov-go/internal/apptest"
)

// loomioPlugins returns the loomio entries of the community's plugin list.
func loomioPlugins(t *testing.T, s *apptest.Server) []map[string]any {
	t.Helper()
	r := s.Do("GET", "/api/internal/community/"+community, nil)
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	var out []map[string]any
	for _, p := range r.JSON(t)["plugins"].([]any) {
		if m := p.(map[string]any); m["name"] == "loomio" {
			out = append(out, m)
		}
	}
	return out
}

// TestPlatformIDIsTheGroupID names one Loomio group by handle, id and key:
// it is one instance whose community_platform_id is the group's id, while
// another group is another instance.
func TestPlatformIDIsTheGroupID(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		fake := newFake(t)
		s := apptest.Start(t, db, app.Config{})
		r := s.Do("PUT", "/api/internal/community/"+community, map[string]any{"readable_name": "Loomio"})
		require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
		enable := func(groupID any, apiKey string, more ...any) apptest.Response {
			cfg := map[string]any{"api_key": apiKey, "group_id": groupID, "server_url": fake.URL}
			for i := 0; i < len(more); i += 2 {
				cfg[more[i].(string)] = more[i+1]
			}
			return s.Do("POST", "/api/internal/plugin/loomio", cfg, header...)
		}
		hooks := func() any { return s.Do("GET", "/api/internal/community/"+community+"/hooks", nil).JSON(t)["hooks"] }

		// By handle: the answer and the community show the group's id.
		r = enable("metagov", botKey)
		require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
		require.Equal(t, "710495", r.JSON(t)["community_platform_id"])
		ps := loomioPlugins(t, s)
		require.Len(t, ps, 1)
		id, hook := ps[0]["id"], hooks()
		require.Equal(t, "710495", ps[0]["community_platform_id"])
		require.Equal(t, "metagov", ps[0]["config"].(map[string]any)["group_id"], "the config is kept as written")

		// By id: the same instance, updated (200), its webhook slug kept.
		r = enable(710495, botKey)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		ps = loomioPlugins(t, s)
		require.Len(t, ps, 1)
		require.Equal(t, id, ps[0]["id"])
		require.Equal(t, "710495", ps[0]["community_platform_id"])
		require.Equal(t, 710495.0, ps[0]["config"].(map[string]any)["group_id"])
		require.Equal(t, hook, hooks())

		// By key, keeping the stored key: the config names the group in a
		// way the stored config does not, so the gateway cannot tell whose
		// secret to keep; the key must be sent again.
		body := enable("ZrSTqeyG", "********").RequireError(t, http.StatusBadRequest, "secret_required")
		require.Equal(t, "/api_key", body["field"])
		require.Equal(t, 710495.0, loomioPlugins(t, s)[0]["config"].(map[string]any)["group_id"], "nothing changed")
		r = enable("ZrSTqeyG", botKey)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		require.Len(t, loomioPlugins(t, s), 1)

		// Sent again as stored, the key kept: the instance is found by its
		// config, and the new slug applies to it.
		r = enable("ZrSTqeyG", "********", "webhook_slug", "a-new-slug-0123456789")
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		ps = loomioPlugins(t, s)
		require.Len(t, ps, 1)
		require.Equal(t, id, ps[0]["id"])
		require.Equal(t, []any{"/api/hooks/" + community + "/loomio/a-new-slug-0123456789"}, hooks())

		// Another group is another instance, chosen by the group's id.
		r = enable("metagov-testing", botKey)
		require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
		ps = loomioPlugins(t, s)
		require.Len(t, ps, 2)
		require.ElementsMatch(t, []any{"710495", "710496"}, []any{ps[0]["community_platform_id"], ps[1]["community_platform_id"]})
		for _, g := range []struct{ id, handle string }{{"710495", "metagov"}, {"710496", "metagov-testing"}} {
			r = s.Do("POST", "/api/internal/action/loomio.list-members", map[string]any{}, append(header, "X-Metagov-Community-Platform-Id", g.id)...)
			require.Equal(t, http.StatusOK, r.Status, string(r.Body))
			require.Equal(t, g.handle, r.JSON(t)["groups"].([]any)[0].(map[string]any)["handle"])
		}

		// A plugin list naming one group twice, two ways, is refused.
		list := func(configs ...map[string]any) apptest.Response {
			var plugins []map[string]any
			for _, c := range configs {
				c["server_url"] = fake.URL
				plugins = append(plugins, map[string]any{"name": "loomio", "config": c})
			}
			return s.Do("PUT", "/api/internal/community/"+community, map[string]any{"plugins": plugins})
		}
		list(map[string]any{"api_key": botKey, "group_id": "metagov"}, map[string]any{"api_key": botKey, "group_id": 710495}).
			RequireError(t, http.StatusBadRequest, "duplicate_plugin")
		require.Len(t, loomioPlugins(t, s), 2, "nothing changed")

		// Named other ways in a plugin list, both groups keep their instances.
		r = list(map[string]any{"api_key": botKey, "group_id": 710496}, map[string]any{"api_key": botKey, "group_id": "METAGOV"})
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		after := loomioPlugins(t, s)
		require.Len(t, after, 2)
		require.ElementsMatch(t, []any{ps[0]["id"], ps[1]["id"]}, []any{after[0]["id"], after[1]["id"]})
	})
}

// TestPlatformIDWithoutGroupID enables the plugin with the key only: the
// instance is the user's only group's, and naming that group later updates
// the same instance.
func TestPlatformIDWithoutGroupID(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		fake := newFake(t)
		s := apptest.Start(t, db, app.Config{})
		put := func(cfg map[string]any) apptest.Response {
			cfg["server_url"] = fake.URL
			return s.Do("PUT", "/api/internal/community/"+community, map[string]any{"plugins": []map[string]any{{"name": "loomio", "config": cfg}}})
		}
		r := put(map[string]any{"api_key": soloKey})
		require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
		ps := loomioPlugins(t, s)
		require.Len(t, ps, 1)
		require.Equal(t, "710496", ps[0]["community_platform_id"], "the user's only group")
		id := ps[0]["id"]

		// The same config again, its key kept: the same instance.
		r = put(map[string]any{"api_key": "********"})
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		require.Equal(t, id, loomioPlugins(t, s)[0]["id"])

		// Naming the group by handle: still that instance.
		r = put(map[string]any{"api_key": soloKey, "group_id": "metagov-testing"})
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		ps = loomioPlugins(t, s)
		require.Len(t, ps, 1)
		require.Equal(t, id, ps[0]["id"])
		require.Equal(t, "710496", ps[0]["community_platform_id"])
	})
}

// TestPlatformIDFollowsAMovedHandle: when the handle a config names moves
// to another group, the next config change connects the instance to that
// group.
func TestPlatformIDFollowsAMovedHandle(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		b := setup(t, db, app.Config{})
		ps := loomioPlugins(t, b.s)
		require.Equal(t, "710495", ps[0]["community_platform_id"])

		b.fake.SetHandle(710495, "metagov-2019")
		b.fake.SetHandle(710496, "metagov")
		cfg := config(b.fake)
		cfg["api_key"], cfg["webhook_slug"] = "********", "a-new-slug-0123456789"
		r := b.s.Do("POST", "/api/internal/plugin/loomio", cfg, header...)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		after := loomioPlugins(t, b.s)
		require.Len(t, after, 1)
		require.Equal(t, ps[0]["id"], after[0]["id"])
		require.Equal(t, "710496", after[0]["community_platform_id"])
		r = b.s.Do("POST", "/api/internal/action/loomio.list-members", map[string]any{}, append(header, "X-Metagov-Community-Platform-Id", "710496")...)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		require.Equal(t, 710496.0, r.JSON(t)["groups"].([]any)[0].(map[string]any)["id"])
	})
}
