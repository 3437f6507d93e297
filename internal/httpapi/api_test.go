package httpapi_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/internal/app"
	"github.com/metagov/metagov-go/internal/apptest"
	_ "github.com/metagov/metagov-go/plugins/randomness"
	_ "github.com/metagov/metagov-go/plugins/webhook"
)

const community = "my-community-1234"

// header is the community header the tutorial sends.
var header = []string{"X-Metagov-Community", community}

// signStandard signs a body the Standard Webhooks way, written here from the
// spec rather than borrowed from the code under test.
func signStandard(key []byte, id string, ts int64, body string) string {
	mac := hmac.New(sha256.New, key)
	fmt.Fprintf(mac, "%s.%d.%s", id, ts, body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// TestTutorial walks the driver tutorial end to end: community, hooks,
// action, process with a callback receiver, GET, DELETE, and an event from
// the webhook plugin reaching the driver's receiver.
func TestTutorial(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		events := apptest.NewReceiver(t)
		callbacks := apptest.NewReceiver(t)
		s := apptest.Start(t, db, app.Config{EventReceiverURL: events.URL + "/events"})

		key := []byte("0123456789abcdef0123456789abcdef")
		secret := "whsec_" + base64.StdEncoding.EncodeToString(key)
		put := map[string]any{
			"name":          community,
			"readable_name": "",
			"plugins": []map[string]any{
				{"name": "randomness", "config": map[string]any{"default_low": 1, "default_high": 100}},
				{"name": "webhook", "config": map[string]any{"secret": secret, "webhook_slug": "f5c3ff8f9a"}},
			},
		}
		r := s.Do("PUT", "/api/internal/community/"+community, put)
		require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
		body := r.JSON(t)
		require.Equal(t, community, body["slug"])
		require.Len(t, body["plugins"], 2)

		r = s.Do("PUT", "/api/internal/community/"+community, put)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))

		r = s.Do("GET", "/api/internal/community/"+community+"/hooks", nil)
		require.Equal(t, http.StatusOK, r.Status)
		require.JSONEq(t, `{"hooks": ["/api/hooks/my-community-1234/webhook/f5c3ff8f9a"]}`, string(r.Body))

		r = s.Do("POST", "/api/internal/action/randomness.random-int", map[string]any{"parameters": map[string]any{"low": 5, "high": 6}}, header...)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		require.JSONEq(t, `{"value": 5}`, string(r.Body))

		r = s.Do("POST", "/api/internal/process/randomness.delayed-stochastic-vote", map[string]any{
			"callback_url": callbacks.URL + "/receive-outcome/4",
			"options":      []string{"one", "two", "three"},
			"delay":        60,
		}, header...)
		require.Equal(t, http.StatusAccepted, r.Status, string(r.Body))
		location := r.Header.Get("Location")
		require.Regexp(t, `^/api/internal/process/randomness\.delayed-stochastic-vote/\d+$`, location)

		r = s.Do("GET", location, nil)
		require.Equal(t, http.StatusOK, r.Status)
		rec := r.JSON(t)
		require.Equal(t, "pending", rec["status"])
		require.Equal(t, community, rec["community"])
		require.Equal(t, "randomness.delayed-stochastic-vote", rec["name"])
		require.Equal(t, map[string]any{}, rec["errors"])

		r = s.Do("DELETE", location, nil)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		rec = r.JSON(t)
		require.Equal(t, "completed", rec["status"])
		winner := rec["outcome"].(map[string]any)["winner"]
		require.Contains(t, []any{"one", "two", "three"}, winner)

		got := callbacks.WaitFor(t, 1, 10*time.Second)
		require.Equal(t, "/receive-outcome/4", got[0].Path)
		require.Equal(t, "application/json", got[0].Header.Get("Content-Type"))
		var cb map[string]any
		require.NoError(t, json.Unmarshal(got[0].Body, &cb))
		require.Equal(t, "completed", cb["status"])
		require.Equal(t, winner, cb["outcome"].(map[string]any)["winner"])
		require.Equal(t, rec["id"], cb["id"])

		// A signed webhook becomes an event for the driver.
		payload := `{"type":"push","ref":"refs/heads/main"}`
		ts := time.Now().Unix()
		r = s.Do("POST", "/api/hooks/"+community+"/webhook/f5c3ff8f9a", payload,
			"webhook-id", "msg_1", "webhook-timestamp", strconv.FormatInt(ts, 10),
			"webhook-signature", signStandard(key, "msg_1", ts, payload))
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		ev := events.WaitFor(t, 1, 10*time.Second)[0]
		require.Equal(t, "/events", ev.Path)
		require.Equal(t, "application/json", ev.Header.Get("Content-Type"))
		var envelope map[string]any
		require.NoError(t, json.Unmarshal(ev.Body, &envelope))
		require.Equal(t, community, envelope["community"])
		require.Equal(t, "webhook", envelope["source"])
		require.Equal(t, "push", envelope["event_type"])
		require.Equal(t, map[string]any{"type": "push", "ref": "refs/heads/main"}, envelope["data"])
		require.NotEmpty(t, envelope["id"])
		// The webhook plugin cannot say who acted, yet the initiator has both
		// keys drivers read (PolicyKit indexes them unconditionally).
		require.Equal(t, map[string]any{"user_id": nil, "provider": "webhook"}, envelope["initiator"])
		r = s.Do("GET", "/api/internal/events?community="+community, nil)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		pulled := r.JSON(t)["events"].([]any)
		require.Len(t, pulled, 1)
		require.Equal(t, envelope, pulled[0], "a pulled event is the pushed one")
		stamp, err := strconv.ParseFloat(envelope["timestamp"].(string), 64)
		require.NoError(t, err)
		require.InDelta(t, float64(time.Now().Unix()), stamp, 60)

		// A forged webhook is refused and produces no event.
		r = s.Do("POST", "/api/hooks/"+community+"/webhook/f5c3ff8f9a", payload,
			"webhook-id", "msg_2", "webhook-timestamp", strconv.FormatInt(ts, 10),
			"webhook-signature", signStandard([]byte("wrong key wrong key wrong key!!"), "msg_2", ts, payload))
		require.Equal(t, http.StatusUnauthorized, r.Status, string(r.Body))
		r = s.Do("POST", "/api/hooks/"+community+"/webhook/f5c3ff8f9a", payload)
		require.Equal(t, http.StatusUnauthorized, r.Status, string(r.Body))
		// The wrong slug does not reach the plugin at all.
		r = s.Do("POST", "/api/hooks/"+community+"/webhook/wrongslug1", payload)
		require.Equal(t, http.StatusNotFound, r.Status, string(r.Body))

		r = s.Do("DELETE", "/api/internal/community/"+community, nil)
		require.Equal(t, http.StatusNoContent, r.Status, string(r.Body))
		r = s.Do("GET", "/api/internal/community/"+community, nil)
		require.Equal(t, http.StatusNotFound, r.Status)

		time.Sleep(300 * time.Millisecond)
		require.Len(t, events.All(), 1, "the forged webhooks must not produce events")
	})
}

func TestErrors(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		s := apptest.Start(t, db, app.Config{})
		r := s.Do("PUT", "/api/internal/community/"+community, map[string]any{"plugins": []map[string]any{
			{"name": "randomness", "config": map[string]any{"default_low": 1, "default_high": 10}},
		}})
		require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
		r = s.Do("PUT", "/api/internal/community/other", map[string]any{"readable_name": "Other"})
		require.Equal(t, http.StatusCreated, r.Status, string(r.Body))

		tests := []struct {
			name      string
			method    string
			path      string
			body      any
			headers   []string
			status    int
			code      string
			field     string
			fragments []string
		}{
			{name: "missing community header", method: "POST", path: "/api/internal/action/randomness.random-int",
				body: `{"parameters":{}}`, status: 400, code: "missing_community_header",
				fragments: []string{"Missing required header 'X-Metagov-Community'"}},
			{name: "unknown community", method: "POST", path: "/api/internal/action/randomness.random-int",
				body: `{}`, headers: []string{"X-Metagov-Community", "nope"}, status: 404, code: "community_not_found",
				fragments: []string{"nope"}},
			{name: "plugin not enabled", method: "POST", path: "/api/internal/action/webhook.nothing",
				body: `{}`, headers: header, status: 404, code: "unknown_action"},
			{name: "plugin not enabled for community", method: "POST", path: "/api/internal/action/randomness.random-int",
				body: `{}`, headers: []string{"X-Metagov-Community", "other"}, status: 400, code: "plugin_not_enabled",
				fragments: []string{"not enabled for community", "Other (other)"}},
			{name: "unknown action", method: "POST", path: "/api/internal/action/randomness.nope",
				body: `{}`, headers: header, status: 404, code: "unknown_action"},
			{name: "private action on public route", method: "POST", path: "/api/action/randomness.random-int",
				body: `{}`, headers: header, status: 404, code: "unknown_action"},
			{name: "malformed JSON says where", method: "POST", path: "/api/internal/action/randomness.random-int",
				body: "{\n  \"parameters\": {\"low\": 1,,}\n}", headers: header, status: 400, code: "invalid_json",
				fragments: []string{"line 2"}},
			{name: "parameters of the wrong type", method: "POST", path: "/api/internal/action/randomness.random-int",
				body: `{"parameters":{"low":"one"}}`, headers: header, status: 400, code: "invalid_input", field: "/low"},
			{name: "missing required parameter", method: "POST", path: "/api/internal/action/randomness.set-lucky-number",
				body: `{"parameters":{}}`, headers: header, status: 400, code: "invalid_input", field: "/lucky_number",
				fragments: []string{"'lucky_number' is a required property"}},
			{name: "plugin rejects its input", method: "POST", path: "/api/internal/action/randomness.random-int",
				body: `{"parameters":{"low":5,"high":5}}`, headers: header, status: 400, code: "invalid_input", field: "/high"},
			{name: "process input violates schema", method: "POST", path: "/api/internal/process/randomness.delayed-stochastic-vote",
				body: `{"options":["a"]}`, headers: header, status: 400, code: "invalid_input", field: "/delay"},
			{name: "bad callback url", method: "POST", path: "/api/internal/process/randomness.delayed-stochastic-vote",
				body: `{"options":["a"],"delay":1,"callback_url":"ftp://x"}`, headers: header, status: 400,
				code: "invalid_callback_url", field: "/callback_url"},
			{name: "unknown process type", method: "POST", path: "/api/internal/process/randomness.nope",
				body: `{}`, headers: header, status: 404, code: "unknown_process"},
			{name: "unknown process id", method: "GET", path: "/api/internal/process/randomness.delayed-stochastic-vote/999",
				status: 404, code: "process_not_found"},
			{name: "non-numeric process id", method: "GET", path: "/api/internal/process/randomness.delayed-stochastic-vote/abc",
				status: 404, code: "process_not_found"},
			{name: "unknown plugin in PUT", method: "PUT", path: "/api/internal/community/" + community,
				body: `{"plugins":[{"name":"nonexistent-plugin"}]}`, status: 400, code: "unknown_plugin",
				fragments: []string{"No such plugin registered"}},
			{name: "invalid config in PUT", method: "PUT", path: "/api/internal/community/" + community,
				body: `{"plugins":[{"name":"randomness","config":{"default_low":"x","default_high":3}}]}`, status: 400,
				code: "invalid_config", field: "/default_low", fragments: []string{"randomness config validation error"}},
			{name: "missing config field in enable", method: "POST", path: "/api/internal/plugin/randomness",
				body: `{"default_low":1}`, headers: header, status: 400, code: "invalid_config", field: "/default_high"},
			{name: "unknown community GET", method: "GET", path: "/api/internal/community/nope", status: 404, code: "community_not_found"},
			{name: "unknown community hooks", method: "GET", path: "/api/internal/community/nope/hooks", status: 404, code: "community_not_found"},
			{name: "bad slug", method: "PUT", path: "/api/internal/community/bad%20slug", body: `{}`, status: 400,
				code: "invalid_slug", field: "/slug"},
			{name: "duplicate slug on POST", method: "POST", path: "/api/internal/community", body: `{"slug":"other"}`,
				status: 409, code: "slug_taken"},
			{name: "webhook for plugin without receiver", method: "POST", path: "/api/hooks/" + community + "/randomness",
				body: `{}`, status: 404, code: "hook_not_found"},
			{name: "webhook for unknown community", method: "POST", path: "/api/hooks/nope/webhook", body: `{}`,
				status: 404, code: "hook_not_found"},
			{name: "global webhook for plugin without one", method: "POST", path: "/api/hooks/randomness", body: `{}`,
				status: 404, code: "hook_not_found"},
			{name: "wrong method", method: "PATCH", path: "/api/internal/community/" + community, body: `{}`,
				status: 405, code: "method_not_allowed"},
			{name: "unknown route", method: "GET", path: "/api/internal/nothing-here", status: 404, code: "route_not_found"},
			{name: "body too large", method: "POST", path: "/api/internal/action/randomness.random-int",
				body: `{"parameters":{"x":"` + strings.Repeat("a", 2<<20) + `"}}`, headers: header, status: 413, code: "body_too_large"},
			{name: "nesting too deep", method: "POST", path: "/api/internal/action/randomness.random-int",
				body: `{"parameters":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`, headers: header,
				status: 400, code: "invalid_json", fragments: []string{"nesting"}},
			{name: "unknown plugin metadata", method: "GET", path: "/api/internal/plugin/nope/metadata", status: 404, code: "unknown_plugin"},
			{name: "delete plugin of another community", method: "DELETE", path: "/api/internal/plugin/randomness/1",
				headers: []string{"X-Metagov-Community", "other"}, status: 404, code: "plugin_not_found"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				r := s.Do(tc.method, tc.path, tc.body, tc.headers...)
				body := r.RequireError(t, tc.status, tc.code, tc.fragments...)
				if tc.field != "" {
					require.Equal(t, tc.field, body["field"])
				}
			})
		}

		// Nothing a failed PUT touched changed.
		r = s.Do("GET", "/api/internal/community/"+community, nil)
		require.Equal(t, http.StatusOK, r.Status)
		plugins := r.JSON(t)["plugins"].([]any)
		require.Len(t, plugins, 1)
		require.Equal(t, map[string]any{"default_low": 1.0, "default_high": 10.0}, plugins[0].(map[string]any)["config"])
	})
}
