package httpapi_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

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
		s.Do("GET", loc+"?include=ballots", nil).RequireError(t, http.StatusBadRequest, "include_not_supported")

		// A plugin with a pending process is not removed, by DELETE or by PUT.
		path := fmt.Sprintf("/api/internal/plugin/randomness/%d", int64(id))
		s.Do("DELETE", path, nil, header...).RequireError(t, http.StatusConflict, "pending_processes", "randomness.delayed-stochastic-vote/")
		s.Do("PUT", "/api/internal/community/"+community, map[string]any{"plugins": []any{}}).RequireError(t,
			http.StatusConflict, "pending_processes")

		require.Len(t, s.Do("GET", "/api/internal/community/"+community, nil).JSON(t)["plugins"], 1)

		// PUT without "plugins" keeps them; with a new name it renames.
		r = s.Do("PUT", "/api/internal/community/"+community, map[string]any{"readable_name": "Renamed"})
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		require.Equal(t, "Renamed", r.JSON(t)["readable_name"])
		require.Len(t, r.JSON(t)["plugins"], 1)

		require.Equal(t, http.StatusOK, s.Do("DELETE", loc, nil).Status)
		s.Do("DELETE", "/api/internal/plugin/webhook/"+fmt.Sprint(int64(id)), nil, header...).RequireError(t, http.StatusNotFound, "plugin_not_found")
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

// TestForceDisable checks removing a plugin whose processes are pending:
// refused (409) by default; with force=true the processes the plugin can
// close are closed, the others (it cannot close them, or closing fails)
// complete with the plugin_removed error, every callback is delivered, and
// the plugin is gone. PUT on the community takes the same force.
func TestForceDisable(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		callbacks := apptest.NewReceiver(t)
		s := startTestkit(t, db, app.Config{})
		start := func(process, path string, input map[string]any) string {
			t.Helper()
			input["callback_url"] = callbacks.URL + path
			r := s.Do("POST", "/api/internal/process/testkit."+process, input, header...)
			require.Equal(t, http.StatusAccepted, r.Status, string(r.Body))
			return r.Header.Get("Location")
		}
		instanceID := func() int64 {
			t.Helper()
			plugins := s.Do("GET", "/api/internal/community/"+community, nil).JSON(t)["plugins"].([]any)
			require.Len(t, plugins, 1)
			return int64(plugins[0].(map[string]any)["id"].(float64))
		}
		tally := start("tally", "/tally", map[string]any{"title": "Lunch?"}) // cannot be closed
		ticker := start("ticker", "/ticker", map[string]any{})               // closes
		stubborn := start("stubborn", "/stubborn", map[string]any{})         // closing fails
		path := fmt.Sprintf("/api/internal/plugin/testkit/%d", instanceID())

		body := s.Do("DELETE", path, nil, header...).RequireError(t, http.StatusConflict, "pending_processes",
			"testkit.tally/", "testkit.ticker/", "testkit.stubborn/", "force=true")

		require.NotEmpty(t, body["detail"])
		body = s.Do("DELETE", path+"?force=maybe", nil, header...).RequireError(t, http.StatusBadRequest, "invalid_query", "force")
		require.Equal(t, "force", body["field"])
		s.Do("DELETE", path+"?force=false", nil, header...).RequireError(t, http.StatusConflict, "pending_processes")
		require.Equal(t, "pending", s.Do("GET", tally, nil).JSON(t)["status"], "a refused removal changes nothing")

		r := s.Do("DELETE", path+"?force=true", nil, header...)
		require.Equal(t, http.StatusNoContent, r.Status, string(r.Body))
		require.Empty(t, s.Do("GET", "/api/internal/community/"+community, nil).JSON(t)["plugins"])

		removed := func(rec map[string]any) bool {
			errs, _ := rec["errors"].(map[string]any)
			msg, _ := errs["plugin_removed"].(string)
			return strings.Contains(msg, "the testkit plugin was removed")
		}
		for _, tt := range []struct {
			loc     string
			closed  bool           // closed by the plugin, so no plugin_removed error
			outcome map[string]any // the outcome known then, kept; nil: not checked
		}{
			{loc: tally, outcome: map[string]any{"yes": 0.0}},
			{loc: ticker, closed: true},
			{loc: stubborn, outcome: map[string]any{"votes": 7.0}},
		} {
			rec := s.Do("GET", tt.loc, nil).JSON(t)
			require.Equal(t, "completed", rec["status"], tt.loc)
			require.Equal(t, !tt.closed, removed(rec), "%s: %v", tt.loc, rec["errors"])
			if tt.outcome != nil {
				require.Equal(t, tt.outcome, rec["outcome"], tt.loc)
			}
		}

		// Every process's completion reaches its driver. The ticker polls
		// every second, so its pending records may be called back before
		// the completion: wait for each path's latest to be completed.
		var got map[string]map[string]any
		callbacks.WaitUntil(t, 15*time.Second, func(all []apptest.Received) bool {
			got = apptest.LatestByPath(all)
			for _, p := range []string{"/tally", "/ticker", "/stubborn"} {
				if got[p]["status"] != "completed" {
					return false
				}
			}
			return true
		})
		require.Len(t, got, 3)
		for path, rec := range got {
			require.Equal(t, "completed", rec["status"], path)
			require.Equal(t, path != "/ticker", removed(rec), path)
		}

		// PUT on the community: refused, then forced.
		r = s.Do("POST", "/api/internal/plugin/testkit", map[string]any{"webhook_slug": "s3cr3tslug"}, header...)
		require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
		again := start("tally", "/again", map[string]any{"title": "Dinner?"})
		s.Do("PUT", "/api/internal/community/"+community, map[string]any{"plugins": []any{}}).RequireError(t,
			http.StatusConflict, "pending_processes", "testkit.tally/")

		r = s.Do("PUT", "/api/internal/community/"+community+"?force=true", map[string]any{"plugins": []any{}})
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		require.Empty(t, r.JSON(t)["plugins"])
		rec := s.Do("GET", again, nil).JSON(t)
		require.Equal(t, "completed", rec["status"])
		require.True(t, removed(rec))
		require.Eventually(t, func() bool {
			for _, c := range callbacks.All() {
				if c.Path == "/again" {
					return true
				}
			}
			return false
		}, 15*time.Second, 20*time.Millisecond, "the callback of the forced PUT is delivered")
	})
}
