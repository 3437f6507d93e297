package httpapi_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/internal/app"
	"github.com/metagov/metagov-go/internal/apptest"
)

// TestPluginLifecycle checks enabling, updating and removing plugins: an
// update keeps state and processes, and a plugin with pending processes is
// not removed.
func TestPluginLifecycle(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		s := apptest.Start(t, db, app.Config{})
		r := s.Do("POST", "/api/internal/community", map[string]any{"slug": community, "readable_name": "Mine"})
		require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
		r = s.Do("POST", "/api/internal/community", map[string]any{"readable_name": "Generated"})
		require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
		require.Regexp(t, `^[0-9a-f-]{36}$`, r.JSON(t)["slug"])

		enable := func(config map[string]any) apptest.Response {
			return s.Do("POST", "/api/internal/plugin/randomness", config, header...)
		}
		r = enable(map[string]any{"default_low": 1, "default_high": 10})
		require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
		id := r.JSON(t)["id"].(float64)
		require.Equal(t, http.StatusOK, enable(map[string]any{"default_low": 1, "default_high": 10}).Status)

		// State set through an action survives a config change.
		r = s.Do("POST", "/api/internal/action/randomness.set-lucky-number", map[string]any{"parameters": map[string]any{"lucky_number": 42}}, header...)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		r = s.Do("POST", "/api/internal/process/randomness.delayed-stochastic-vote", map[string]any{"options": []string{"a"}, "delay": 30}, header...)
		require.Equal(t, http.StatusAccepted, r.Status, string(r.Body))
		loc := r.Header.Get("Location")

		r = enable(map[string]any{"default_low": 50, "default_high": 51})
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		require.Equal(t, id, r.JSON(t)["id"], "an update keeps the instance")
		r = s.Do("POST", "/api/internal/action/randomness.random-int", map[string]any{}, header...)
		require.JSONEq(t, `{"value":50}`, string(r.Body), "the new config is in effect")
		require.Equal(t, "pending", s.Do("GET", loc, nil).JSON(t)["status"], "the process survives the update")
		requireError(t, s.Do("GET", loc+"?include=ballots", nil), http.StatusBadRequest, "include_not_supported")

		// A plugin with a pending process is not removed, by DELETE or by PUT.
		path := fmt.Sprintf("/api/internal/plugin/randomness/%d", int64(id))
		requireError(t, s.Do("DELETE", path, nil, header...), http.StatusConflict, "pending_processes", "randomness.delayed-stochastic-vote/")
		requireError(t, s.Do("PUT", "/api/internal/community/"+community, map[string]any{"plugins": []any{}}),
			http.StatusConflict, "pending_processes")
		require.Len(t, s.Do("GET", "/api/internal/community/"+community, nil).JSON(t)["plugins"], 1)

		// PUT without "plugins" keeps them; with a new name it renames.
		r = s.Do("PUT", "/api/internal/community/"+community, map[string]any{"readable_name": "Renamed"})
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		require.Equal(t, "Renamed", r.JSON(t)["readable_name"])
		require.Len(t, r.JSON(t)["plugins"], 1)

		require.Equal(t, http.StatusOK, s.Do("DELETE", loc, nil).Status)
		requireError(t, s.Do("DELETE", "/api/internal/plugin/webhook/"+fmt.Sprint(int64(id)), nil, header...), http.StatusNotFound, "plugin_not_found")
		r = s.Do("DELETE", path, nil, header...)
		require.Equal(t, http.StatusNoContent, r.Status, string(r.Body))
		require.Len(t, s.Do("GET", "/api/internal/community/"+community, nil).JSON(t)["plugins"], 0)
		// The completed process outlives its plugin.
		require.Equal(t, "completed", s.Do("GET", loc, nil).JSON(t)["status"])

		r = s.Do("GET", "/api/internal/plugin-schemas", nil)
		require.Equal(t, http.StatusOK, r.Status)
		require.Contains(t, r.JSON(t), "randomness")
		r = s.Do("GET", "/api/internal/plugin/randomness/metadata", nil)
		require.Equal(t, http.StatusOK, r.Status)
		meta := r.JSON(t)
		require.Equal(t, false, meta["uses_webhook"])
		require.Len(t, meta["schemas"].(map[string]any)["actions"], 2)
		require.Equal(t, true, s.Do("GET", "/api/internal/plugin/webhook/metadata", nil).JSON(t)["uses_webhook"])
	})
}

// TestGeneratedConfig enables a plugin whose schema marks webhook_slug
// "x-metagov-generated" without one: the gateway makes one up, /hooks lists it, it
// receives webhooks, a config update that leaves it out keeps it, and one
// that sends a slug replaces it.
func TestGeneratedConfig(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		s := apptest.Start(t, db, app.Config{})
		r := s.Do("PUT", "/api/internal/community/"+community, map[string]any{"plugins": []map[string]any{{"name": "testkit"}}})
		require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
		hooks := func() []any {
			return s.Do("GET", "/api/internal/community/"+community+"/hooks", nil).JSON(t)["hooks"].([]any)
		}
		got := hooks()
		require.Len(t, got, 1)
		hook := got[0].(string)
		require.Regexp(t, `^/api/hooks/`+community+`/testkit/[A-Z2-7]{26}$`, hook)
		config := s.Do("GET", "/api/internal/community/"+community, nil).JSON(t)["plugins"].([]any)[0].(map[string]any)["config"].(map[string]any)
		require.Equal(t, hook[len(hook)-26:], config["webhook_slug"], "the config shows the generated slug")
		r = s.Do("POST", hook, `{"vote":"yes"}`, "X-Test-Token", "secret-token")
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))

		r = s.Do("POST", "/api/internal/plugin/testkit", map[string]any{"token": "********"}, header...)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		require.Equal(t, []any{hook}, hooks(), "an update without the slug keeps it")
		r = s.Do("PUT", "/api/internal/community/"+community, map[string]any{"plugins": []map[string]any{{"name": "testkit", "config": map[string]any{"webhook_slug": nil}}}})
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		require.Equal(t, []any{hook}, hooks(), "a null slug keeps it too")

		r = s.Do("POST", "/api/internal/plugin/testkit", map[string]any{"webhook_slug": "chosen-slug"}, header...)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		require.Equal(t, []any{"/api/hooks/" + community + "/testkit/chosen-slug"}, hooks())

		// Another community gets another slug.
		r = s.Do("PUT", "/api/internal/community/other-"+community, map[string]any{"plugins": []map[string]any{{"name": "testkit"}}})
		require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
		other := s.Do("GET", "/api/internal/community/other-"+community+"/hooks", nil).JSON(t)["hooks"].([]any)
		require.NotEqual(t, hook[len(hook)-26:], other[0].(string)[len(other[0].(string))-26:])
	})
}
