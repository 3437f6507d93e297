package httpapi_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/internal/app"
	"github.com/metagov/metagov-go/internal/apptest"
	"github.com/metagov/metagov-go/plugin"
	_ "github.com/metagov/metagov-go/plugins/vote"
)

// startInputServer starts a gateway with a community that enabled testkit,
// randomness and vote.
func startInputServer(t *testing.T, db apptest.Database) *apptest.Server {
	t.Helper()
	s := apptest.Start(t, db, app.Config{})
	r := s.Do("PUT", "/api/internal/community/"+community, map[string]any{"plugins": []map[string]any{
		{"name": "testkit", "config": map[string]any{"webhook_slug": "s3cr3tslug"}},
		{"name": "randomness", "config": map[string]any{"default_low": 1, "default_high": 10}},
		{"name": "vote", "config": map[string]any{}},
	}})
	require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
	return s
}

// A key the schema saw as unknown, but that encoding/json would fold onto
// a field ("optionſ" onto Options, "loW" onto Low), never fills that field:
// what runs is what was validated.
func TestFoldedKeysAreNotDecoded(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		s := startInputServer(t, db)
		const vote = "/api/internal/process/randomness.delayed-stochastic-vote"

		// The process: minItems saw one option; the empty "optionſ"
		// used to replace them, and closing then failed with a 500 forever.
		for _, key := range []string{"optionſ", "OPTIONS", "Options"} {
			r := s.Do("POST", vote, `{"options": ["a"], "delay": 60, "`+key+`": []}`, header...)
			require.Equal(t, http.StatusAccepted, r.Status, string(r.Body))
			r = s.Do("DELETE", r.Header.Get("Location"), nil)
			require.Equal(t, http.StatusOK, r.Status, string(r.Body))
			rec := r.JSON(t)
			require.Equal(t, "completed", rec["status"])
			require.Equal(t, map[string]any{"winner": "a"}, rec["outcome"], key)
		}

		// An action through plugin.Bind: "loW" is not low.
		r := s.Do("POST", "/api/internal/action/randomness.random-int",
			`{"parameters": {"low": 1, "high": 2, "loW": 50, "higH": 60}}`, header...)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		require.JSONEq(t, `{"value": 1}`, string(r.Body))
		r = s.Do("POST", "/api/internal/action/randomness.set-lucky-number",
			`{"parameters": {"lucky_number": 7, "lucky_numbeR": 8, "LUCKY_NUMBER": 9}}`, header...)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		require.JSONEq(t, `{"lucky_number": 7}`, string(r.Body))

		// An action on a process: the core reads process_id as the plugin
		// does, so "process_iD" cannot point it at another process.
		r = s.Do("POST", "/api/internal/process/testkit.tally", map[string]any{"title": "t"}, header...)
		require.Equal(t, http.StatusAccepted, r.Status, string(r.Body))
		id := int64(r.JSON(t)["id"].(float64))
		r = s.Do("POST", "/api/internal/action/testkit.nudge",
			`{"parameters": {"process_id": `+strconv.FormatInt(id, 10)+`, "process_iD": 424242, "votes": 1}}`, header...)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))

		// A config (Env.DecodeConfig): "default_higH" does not move the bound.
		r = s.Do("POST", "/api/internal/plugin/randomness", `{"default_low": 1, "default_high": 2, "default_higH": 100}`, header...)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		for range 5 {
			r = s.Do("POST", "/api/internal/action/randomness.random-int", `{}`, header...)
			require.JSONEq(t, `{"value": 1}`, string(r.Body))
		}

		// The vote plugin's schemas refuse unknown keys outright.
		r = s.Do("POST", "/api/internal/process/vote.poll",
			`{"method": "single-choice", "options": ["a", "b"], "duration_minutes": 60, "optionſ": []}`, header...)
		r.RequireError(t, http.StatusBadRequest, "invalid_input")
		require.Equal(t, "/optionſ", r.JSON(t)["field"])

		// The core's own bodies: a folded "pluginſ" does not empty the list.
		r = s.Do("PUT", "/api/internal/community/"+community, `{"plugins": [
			{"name": "testkit", "config": {"webhook_slug": "s3cr3tslug"}},
			{"name": "randomness", "config": {"default_low": 1, "default_high": 10}},
			{"name": "vote", "config": {}}], "pluginſ": [], "Plugins": []}`)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		require.Len(t, r.JSON(t)["plugins"], 3)
	})
}

// Numbers the schema accepts as integers but a Go field cannot hold are a
// 400 naming the field, at start, in actions and in configs; before, the
// process start and the plugin enable answered 500.
func TestIntegersGoCannotHoldAreRefused(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		s := startInputServer(t, db)
		for _, n := range []string{"9223372036854775808", "1e30", "-0.0", "1.0", "18446744073709551616"} {
			r := s.Do("POST", "/api/internal/process/randomness.delayed-stochastic-vote", `{"options": ["a"], "delay": `+n+`}`, header...)
			require.Equal(t, "/delay", r.RequireError(t, http.StatusBadRequest, "invalid_input")["field"], n)

			r = s.Do("POST", "/api/internal/action/randomness.random-int", `{"parameters": {"low": `+n+`}}`, header...)
			require.Equal(t, "/low", r.RequireError(t, http.StatusBadRequest, "invalid_input")["field"], n)

			r = s.Do("POST", "/api/internal/plugin/randomness", `{"default_low": 1, "default_high": `+n+`}`, header...)
			body := r.RequireError(t, http.StatusBadRequest, "invalid_config", "randomness config")
			require.Equal(t, "/default_high", body["field"], n)
		}
		r := s.Do("POST", "/api/internal/action/randomness.random-int", `{"parameters": {"low": 1e30}}`, header...)
		r.RequireError(t, http.StatusBadRequest, "invalid_input", "'/low' must be an integer written without a fraction or an exponent")
		r = s.Do("POST", "/api/internal/process/vote.poll",
			`{"method": "single-choice", "options": ["a", "b"], "duration_minutes": 60, "weights": {"x": 1e400}}`, header...)
		require.Equal(t, "/weights/x", r.RequireError(t, http.StatusBadRequest, "invalid_input")["field"])
		r = s.Do("POST", "/api/internal/process/vote.poll",
			`{"method": "score", "options": ["a", "b"], "duration_minutes": 60, "score_max": 9223372036854775808}`, header...)
		require.Equal(t, "/score_max", r.RequireError(t, http.StatusBadRequest, "invalid_input")["field"])

		// The config that failed was not stored.
		r = s.Do("POST", "/api/internal/action/randomness.random-int", `{"parameters": {"low": 5, "high": 6}}`, header...)
		require.JSONEq(t, `{"value": 5}`, string(r.Body))
		r = s.Do("GET", "/api/internal/community/"+community, nil)
		require.Contains(t, string(r.Body), `"default_high":10`)
	})
}

// Every span of time a caller gives is at most ten years (plugin.MaxMinutes),
// in the schema (so the OpenAPI document shows it) and in code. A delay of
// 153722867280912 minutes used to overflow time.Duration and close the vote
// at once.
func TestDurationsAreBounded(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		s := startInputServer(t, db)
		max := strconv.FormatInt(plugin.MaxMinutes, 10)
		over := strconv.FormatInt(plugin.MaxMinutes+1, 10)

		const stochastic = "/api/internal/process/randomness.delayed-stochastic-vote"
		for _, d := range []string{"153722867280912", over} {
			r := s.Do("POST", stochastic, `{"options": ["a"], "delay": `+d+`}`, header...)
			require.Equal(t, "/delay", r.RequireError(t, http.StatusBadRequest, "invalid_input")["field"], d)
		}
		r := s.Do("POST", stochastic, `{"options": ["a"], "delay": `+max+`}`, header...)
		require.Equal(t, http.StatusAccepted, r.Status, string(r.Body))
		loc := r.Header.Get("Location")
		time.Sleep(200 * time.Millisecond) // several job polls: a due timer would have fired
		r = s.Do("GET", loc, nil)
		require.Equal(t, "pending", r.JSON(t)["status"], "a ten-year vote stays open")

		const poll = "/api/internal/process/vote.poll"
		base := `{"method": "single-choice", "options": ["a", "b"], `
		for field, body := range map[string]string{
			"/duration_minutes":     base + `"duration_minutes": 153722867280912}`,
			"/min_open_minutes":     base + `"duration_minutes": 60, "min_open_minutes": ` + over + `}`,
			"/closing_soon_minutes": base + `"duration_minutes": 60, "closing_soon_minutes": ` + over + `}`,
			"/closing_at":           base + `"closing_at": "9999-12-31T23:59:59Z"}`,
		} {
			r := s.Do("POST", poll, body, header...)
			require.Equal(t, field, r.RequireError(t, http.StatusBadRequest, "invalid_input")["field"], body)
		}
		soon := time.Now().Add(plugin.MaxDuration - time.Hour).UTC().Format(time.RFC3339)
		r = s.Do("POST", poll, base+`"closing_at": "`+soon+`", "closing_soon_minutes": `+max+`}`, header...)
		require.Equal(t, http.StatusAccepted, r.Status, string(r.Body))
		r = s.Do("POST", poll, base+`"duration_minutes": `+max+`}`, header...)
		require.Equal(t, http.StatusAccepted, r.Status, string(r.Body))

		// The bound is in the published schemas.
		r = s.Do("GET", "/api/internal/plugin/randomness/metadata", nil)
		require.Contains(t, string(r.Body), `"maximum":`+max)
		r = s.Do("GET", "/openapi.json", nil)
		require.Equal(t, http.StatusOK, r.Status)
		require.GreaterOrEqual(t, strings.Count(string(r.Body), max), 4, "delay, duration_minutes, min_open_minutes, closing_soon_minutes")
	})
}

// jsonRoutes are the routes whose body the gateway decodes as JSON (every
// POST and PUT of routes.go but redeliver, which reads no body, and the
// webhook receivers, whose raw bodies belong to their plugins).
var jsonRoutes = []struct{ method, path string }{
	{"POST", "/api/internal/community"},
	{"PUT", "/api/internal/community/" + community},
	{"POST", "/api/internal/plugin/randomness"},
	{"POST", "/api/internal/action/randomness.random-int"},
	{"POST", "/api/action/randomness.random-int"},
	{"POST", "/api/internal/process/randomness.delayed-stochastic-vote"},
}

// A truncated, doubled or trailing-garbage body is a 400 invalid_json on
// every route that decodes JSON, and a 4xx on every other route that takes
// a body; nothing is changed.
func TestMalformedBodiesOnEveryRoute(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		s := startInputServer(t, db)
		malformed := []string{`{`, `{}{}`, `{} x`, `{"a":`, `[`, `{}]`, `{"plugins": [}`,
			`{"options": ["a"], "delay": 1}{"options": []}`, `nul`, `"`, `{} {}`}
		// Well-formed by the letter of RFC 8259, but not one meaning: the API
		// refuses them as well.
		ambiguous := []string{`{"a": 1, "a": 2}`, "{\"readable_name\": \"\xff\"}"}
		for _, route := range jsonRoutes {
			for _, body := range append(malformed, ambiguous...) {
				r := s.Do(route.method, route.path, body, header...)
				if route.path == "/api/action/randomness.random-int" {
					// random-int is not public: the route answers 404 first.
					r.RequireError(t, http.StatusNotFound, "unknown_action")
					continue
				}
				r.RequireError(t, http.StatusBadRequest, "invalid_json")
			}
		}
		// The doubled key names itself.
		r := s.Do("POST", "/api/internal/process/randomness.delayed-stochastic-vote", `{"options": ["a"], "delay": 1, "delay": 2}`, header...)
		require.Equal(t, "/delay", r.RequireError(t, http.StatusBadRequest, "invalid_json", "appears twice")["field"])
		r = s.Do("PUT", "/api/internal/community/"+community, `{"plugins": []}{"plugins": []}`)
		r.RequireError(t, http.StatusBadRequest, "invalid_json", "more than one JSON value", "line 1, column 16")
		r = s.Do("POST", "/api/internal/plugin/randomness", "{\n  \"default_low\": 1,\n", header...)
		r.RequireError(t, http.StatusBadRequest, "invalid_json", "ends before")

		// Routes that take a body but do not decode it.
		for _, route := range []struct{ method, path string }{
			{"POST", "/api/hooks/" + community + "/testkit/s3cr3tslug"},
			{"POST", "/api/hooks/testkit"},
			{"POST", "/api/hooks/" + community + "/randomness"},
			{"POST", "/api/internal/deliveries/1/redeliver"},
		} {
			for _, body := range malformed {
				r := s.Do(route.method, route.path, body, "X-Test-Token", "secret-token", "X-Account", "main")
				require.True(t, r.Status >= 400 && r.Status < 500, "%s %s %q: %d %s", route.method, route.path, body, r.Status, r.Body)
			}
		}

		// Nothing was changed by any of it.
		r = s.Do("GET", "/api/internal/community/"+community, nil)
		require.Len(t, r.JSON(t)["plugins"], 3)
		require.Contains(t, string(r.Body), `"default_high":10`)
		r = s.Do("GET", "/api/internal/process/randomness.delayed-stochastic-vote/1", nil)
		r.RequireError(t, http.StatusNotFound, "process_not_found")
	})
}

// A plugin config passes through the gateway's secret handling before it is
// validated: that must neither fail on a number no float64 holds (a 500
// before) nor round the numbers it keeps (2^53+1 became 2^53).
func TestConfigNumbersSurviveSecretHandling(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		s := startInputServer(t, db)
		r := s.Do("POST", "/api/internal/plugin/webhook", `{"secret": "x", "tolerance_seconds": 1e1000000}`, header...)
		require.Equal(t, "/tolerance_seconds", r.RequireError(t, http.StatusBadRequest, "invalid_config")["field"])

		r = s.Do("POST", "/api/internal/plugin/testkit", `{"webhook_slug": "s3cr3tslug", "big": 9007199254740993, "huge": 1e400}`, header...)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		require.Contains(t, string(r.Body), `"big":9007199254740993`)
		require.Contains(t, string(r.Body), `"huge":1e400`)
		r = s.Do("GET", "/api/internal/community/"+community, nil)
		require.Contains(t, string(r.Body), `"big":9007199254740993`)
	})
}

// The gateway routes webhooks by the webhook_slug the schema validated, not
// by a key that folds onto it.
func TestWebhookSlugIsReadExactly(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		s := startInputServer(t, db)
		r := s.Do("POST", "/api/internal/plugin/testkit", `{"webhook_slug": "s3cr3tslug", "webhook_ſlug": "attacker-slug"}`, header...)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		r = s.Do("GET", "/api/internal/community/"+community+"/hooks", nil)
		require.Contains(t, string(r.Body), "/testkit/s3cr3tslug")
		require.NotContains(t, string(r.Body), "attacker-slug")
		r = s.Do("POST", "/api/hooks/"+community+"/testkit/attacker-slug", `{}`, "X-Test-Token", "secret-token")
		r.RequireError(t, http.StatusNotFound, "hook_not_found")
	})
}

// The schema validator compares numbers as exact rationals: 1e3000000 made
// it panic (a 500) and each 1e1000000 cost it about 100 ms, so a body full
// of them pinned a core for minutes. Numbers with an exponent beyond ±1000
// or longer than 1000 characters are refused before validation, naming the
// field, in parameters, process inputs and configs.
func TestHugeNumbersNeverReachTheValidator(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		s := startInputServer(t, db)
		poll := func(weights string) apptest.Response {
			return s.Do("POST", "/api/internal/process/vote.poll",
				`{"method": "single-choice", "options": ["a", "b"], "duration_minutes": 5, "weights": {`+weights+`}}`, header...)
		}
		for _, n := range []string{"1e3000000", "1e1000000", "-1e-1000000", "1E+1001", "1" + strings.Repeat("0", 1001)} {
			r := poll(`"a": ` + n)
			body := r.RequireError(t, http.StatusBadRequest, "invalid_input", "out of any range this API accepts")
			require.Equal(t, "/weights/a", body["field"], n)
		}
		r := poll(`"a/b~": 1e3000000`)
		require.Equal(t, "/weights/a~1b~0", r.RequireError(t, http.StatusBadRequest, "invalid_input")["field"], "the field is a JSON pointer")
		many := make([]string, 300)
		for i := range many {
			many[i] = `"v` + strconv.Itoa(i) + `": 1e1000000`
		}
		poll(strings.Join(many, ",")).RequireError(t, http.StatusBadRequest, "invalid_input")

		r = s.Do("POST", "/api/internal/action/randomness.random-int", `{"parameters": {"low": 1e3000000}}`, header...)
		require.Equal(t, "/low", r.RequireError(t, http.StatusBadRequest, "invalid_input")["field"])
		r = s.Do("POST", "/api/internal/plugin/randomness", `{"default_low": 1, "default_high": 1e3000000}`, header...)
		require.Equal(t, "/default_high", r.RequireError(t, http.StatusBadRequest, "invalid_config", "randomness config")["field"])

		// Within the bounds, the schema decides as before.
		r = poll(`"a": 1e1000, "b": 0.5`)
		require.Equal(t, "/weights/a", r.RequireError(t, http.StatusBadRequest, "invalid_input")["field"], "1e1000 is no float64")
		r = poll(`"a": 2, "b": 0.5`)
		require.Equal(t, http.StatusAccepted, r.Status, string(r.Body))
	})
}

// Concurrent deletes of one community or one plugin instance: one wins
// (204), the others find nothing (404); none fails with a 500 because the
// row went away between the lookup and the delete (found by test/httpfuzz).
func TestConcurrentDeletesAnswerNotFound(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		s := startInputServer(t, db)
		race := func(method, path string, h ...string) map[int]int {
			statuses := make(chan int, 8)
			for range cap(statuses) {
				go func() { statuses <- s.Do(method, path, nil, h...).Status }()
			}
			got := map[int]int{}
			for range cap(statuses) {
				got[<-statuses]++
			}
			return got
		}
		for i := range 10 {
			slug := "race-" + strconv.Itoa(i)
			r := s.Do("PUT", "/api/internal/community/"+slug, `{"plugins": [{"name": "randomness", "config": {"default_low": 1, "default_high": 2}}]}`)
			require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
			id := strconv.Itoa(int(r.JSON(t)["plugins"].([]any)[0].(map[string]any)["id"].(float64)))
			got := race("DELETE", "/api/internal/plugin/randomness/"+id, "X-Metagov-Community", slug)
			require.Equal(t, map[int]int{http.StatusNoContent: 1, http.StatusNotFound: 7}, got, "plugin disable")
			got = race("DELETE", "/api/internal/community/"+slug)
			require.Equal(t, map[int]int{http.StatusNoContent: 1, http.StatusNotFound: 7}, got, "community delete")
		}
	})
}

// A webhook whose community is deleted while it runs answers 409
// instance_gone, never a 500 from the event's foreign key (found by
// test/httpfuzz).
func TestWebhookRacingRemovalIsNotAnError(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		s := startInputServer(t, db)
		const slug = "hook-race"
		r := s.Do("PUT", "/api/internal/community/"+slug, `{"plugins": [{"name": "testkit", "config": {"webhook_slug": "s3cr3tslug"}}]}`)
		require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
		hook := "/api/hooks/" + slug + "/testkit/s3cr3tslug"
		g := &gate{entered: make(chan struct{}), release: make(chan struct{})}
		webhookGates.Store(hook, g)
		defer webhookGates.Delete(hook)

		answer := make(chan apptest.Response, 1)
		go func() { answer <- s.Do("POST", hook, `{"event": "gate"}`, "X-Test-Token", "secret-token") }()
		<-g.entered // the webhook is inside the plugin
		r = s.Do("DELETE", "/api/internal/community/"+slug, nil)
		require.Equal(t, http.StatusNoContent, r.Status, string(r.Body))
		close(g.release)
		(<-answer).RequireError(t, http.StatusConflict, "instance_gone", "removed meanwhile")
	})
}

// Text PostgreSQL cannot store (a NUL character, invalid UTF-8, a lone
// surrogate) is refused with a 400 naming the field on every database,
// where it used to be a 500 on PostgreSQL (found by test/httpfuzz); a path
// or header naming a community with such text finds none.
func TestUnstorableTextIsRefused(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		s := startInputServer(t, db)
		for _, tc := range []struct{ method, path, body, field string }{
			{"PUT", "/api/internal/community/nul", `{"readable_name": "a\u0000b"}`, "/readable_name"},
			{"POST", "/api/internal/community", `{"readable_name": "x", "plugins": [{"name": "vote", "config": {"\u0000": 1}}]}`, "/plugins/0/config/\u0000"},
			{"POST", "/api/internal/process/randomness.delayed-stochastic-vote", `{"options": ["a", "b\u0000"], "delay": 1}`, "/options/1"},
			{"POST", "/api/internal/process/randomness.delayed-stochastic-vote", `{"options": ["\ud800"], "delay": 1}`, "/options/0"},
			{"POST", "/api/internal/action/vote.cast", `{"parameters": {"process_id": 1, "voter": "\u0000", "ballot": "a"}}`, "/parameters/voter"},
		} {
			r := s.Do(tc.method, tc.path, tc.body, header...)
			require.Equal(t, tc.field, r.RequireError(t, http.StatusBadRequest, "invalid_json")["field"], tc.body)
		}
		for _, slug := range []string{"%00", "%FF", "a%00b"} {
			s.Do("GET", "/api/internal/community/"+slug, nil).RequireError(t, http.StatusNotFound, "community_not_found")
			s.Do("DELETE", "/api/internal/community/"+slug, nil).RequireError(t, http.StatusNotFound, "community_not_found")
			s.Do("POST", "/api/hooks/"+slug+"/testkit", `{}`).RequireError(t, http.StatusNotFound, "hook_not_found")
		}
		r := s.Do("POST", "/api/internal/action/randomness.random-int", `{}`, "X-Metagov-Community", "\xff")
		r.RequireError(t, http.StatusNotFound, "community_not_found")

		// Webhook bodies are the platform's, stored raw as the event's data.
		hook := "/api/hooks/" + community + "/testkit/s3cr3tslug"
		for body, field := range map[string]string{
			`{"event": "x", "text": "a\u0000"}`:      "/text",
			`{"event": "x", "text": "\udc00"}`:       "/text",
			"{\"event\": \"x\", \"text\": \"\xff\"}": "/text",
		} {
			r := s.Do("POST", hook, body, "X-Test-Token", "secret-token")
			require.Equal(t, field, r.RequireError(t, http.StatusBadRequest, "invalid_event")["field"], body)
		}
		r = s.Do("POST", hook, `{"event": "x\u0000"}`, "X-Test-Token", "secret-token")
		r.RequireError(t, http.StatusBadRequest, "invalid_event", "event type")
		r = s.Do("POST", hook, `{"event": "x", "text": "fine ſ"}`, "X-Test-Token", "secret-token")
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	})
}
