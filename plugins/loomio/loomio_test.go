package loomio_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/internal/app"
	"github.com/metagov/metagov-go/internal/apptest"
	_ "github.com/metagov/metagov-go/plugins/loomio"
	"github.com/metagov/metagov-go/plugins/loomio/loomiofake"
)

const (
	community = "loomio-community"
	botKey    = "bot-api-key-0001"
	soloKey   = "solo-api-key-0002"
	aliceID   = 879750
	bobID     = 4759171
	botID     = 42
)

var header = []string{"X-Metagov-Community", community}

// testBundle is a gateway with loomio enabled against a fake Loomio.
type testBundle struct {
	s    *apptest.Server
	fake *loomiofake.Server
	hook string // the webhook URL to give Loomio
}

// newFake is a Loomio where the bot (a bot account) administers the main
// group and is a plain member of a subgroup; a second user belongs to one
// group only.
func newFake(t *testing.T) *loomiofake.Server {
	fake := loomiofake.New(t)
	fake.AddUser(loomiofake.User{ID: botID, Name: "Metagov bot", Username: "metagovbot", Bot: true, APIKey: botKey})
	fake.AddUser(loomiofake.User{ID: aliceID, Name: "Alice Ng", Username: "alice", Email: "alice@example.org"})
	fake.AddUser(loomiofake.User{ID: bobID, Name: "Bob Smith", Username: "bob", Email: "bob@example.org"})
	fake.AddUser(loomiofake.User{ID: 7, Name: "Solo", Username: "solo", Bot: true, APIKey: soloKey})
	fake.AddGroup(loomiofake.Group{ID: 710495, Key: "ZrSTqeyG", Handle: "metagov", Name: "Metagovernance Project",
		Members: []loomiofake.Membership{{UserID: botID, Admin: true}, {UserID: aliceID}, {UserID: bobID}}})
	fake.AddGroup(loomiofake.Group{ID: 710496, Key: "2qE8dI91", Handle: "metagov-testing", Name: "Metagov Testing",
		Members: []loomiofake.Membership{{UserID: botID}, {UserID: aliceID}, {UserID: 7}}})
	return fake
}

// config is a valid loomio config for fake.
func config(fake *loomiofake.Server) map[string]any {
	return map[string]any{"api_key": botKey, "group_id": "metagov", "server_url": fake.URL}
}

func setup(t *testing.T, db apptest.Database, cfg app.Config) *testBundle {
	t.Helper()
	fake := newFake(t)
	if cfg.PlatformTimeout == 0 {
		cfg.PlatformTimeout = 300 * time.Millisecond
	}
	s := apptest.Start(t, db, cfg)
	r := s.Do("PUT", "/api/internal/community/"+community, map[string]any{"plugins": []map[string]any{
		{"name": "loomio", "config": config(fake)},
	}})
	require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
	hooks := s.Do("GET", "/api/internal/community/"+community+"/hooks", nil).JSON(t)["hooks"].([]any)
	require.Len(t, hooks, 1)
	return &testBundle{s: s, fake: fake, hook: s.URL + hooks[0].(string)}
}

// requireBearerOnly checks that every API call carried the key as a bearer
// token and nowhere else.
func requireBearerOnly(t *testing.T, fake *loomiofake.Server, key string, from ...int) {
	t.Helper()
	reqs := fake.Requests()
	if len(from) > 0 {
		reqs = reqs[from[0]:]
	}
	require.NotEmpty(t, reqs)
	for _, req := range reqs {
		require.True(t, strings.HasPrefix(req.Path, "/api/b2/"), "%s %s", req.Method, req.Path)
		require.Equal(t, "Bearer "+key, req.Authorization, "%s %s", req.Method, req.Path)
		require.NotContains(t, req.RawQuery, key)
		require.NotContains(t, string(req.Body), key)
	}
}

func TestEnable(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		fake := newFake(t)
		s := apptest.Start(t, db, app.Config{})
		r := s.Do("PUT", "/api/internal/community/"+community, map[string]any{"readable_name": "Loomio"})
		require.Equal(t, http.StatusCreated, r.Status, string(r.Body))

		with := func(changes map[string]any) map[string]any {
			c := config(fake)
			for k, v := range changes {
				if v == nil {
					delete(c, k)
				} else {
					c[k] = v
				}
			}
			return c
		}
		tests := []struct {
			name      string
			config    map[string]any
			status    int
			code      string
			field     string
			fragments []string
		}{
			{name: "no api_key", config: with(map[string]any{"api_key": nil}), status: http.StatusBadRequest, code: "invalid_config", field: "/api_key"},
			{name: "short webhook_slug", config: with(map[string]any{"webhook_slug": "abc123"}), status: http.StatusBadRequest, code: "invalid_config", field: "/webhook_slug"},
			{name: "unknown key", config: with(map[string]any{"webhook_secret": "x"}), status: http.StatusBadRequest, code: "invalid_config"},
			{name: "bad server_url", config: with(map[string]any{"server_url": "loomio.org"}), status: http.StatusBadRequest, code: "invalid_config", field: "/server_url"},
			{name: "wrong api_key", config: with(map[string]any{"api_key": "wrong"}), status: http.StatusBadGateway, code: "platform_error",
				fragments: []string{"loomio answered 403", "You are not authorized to access this page."}},
			{name: "group the user is not in", config: with(map[string]any{"group_id": "elsewhere"}), status: http.StatusBadRequest,
				code: "invalid_input", field: "/group_id", fragments: []string{`does not belong to a Loomio group "elsewhere"`, `710495 "Metagovernance Project" (key ZrSTqeyG, handle metagov)`}},
			{name: "no group_id and two groups", config: with(map[string]any{"group_id": nil}), status: http.StatusBadRequest,
				code: "invalid_input", field: "/group_id", fragments: []string{"group_id is required", "handle metagov)", "handle metagov-testing)"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := s.Do("POST", "/api/internal/plugin/loomio", tt.config, header...)
				body := r.RequireError(t, tt.status, tt.code, tt.fragments...)
				if tt.field != "" {
					require.Equal(t, tt.field, body["field"])
				}
				require.NotContains(t, string(r.Body), botKey, "the key is not echoed")
				plugins := s.Do("GET", "/api/internal/community/"+community, nil).JSON(t)["plugins"]
				require.Empty(t, plugins, "nothing is enabled")
			})
		}

		// The original's config (subgroup keys included) with Loomio's group_id.
		cfg := with(map[string]any{"subgroup_api_keys": []string{"an-old-subgroup-key"}})
		before := len(fake.Requests())
		r = s.Do("POST", "/api/internal/plugin/loomio", cfg, header...)
		require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
		requireBearerOnly(t, fake, botKey, before)

		p := s.Do("GET", "/api/internal/community/"+community, nil).JSON(t)["plugins"].([]any)[0].(map[string]any)
		require.Equal(t, "api_key", p["auth_type"])
		require.Equal(t, "710495", p["community_platform_id"], "the group's id, not the handle configured")
		shown := p["config"].(map[string]any)
		require.Equal(t, "********", shown["api_key"])
		require.Equal(t, []any{"********"}, shown["subgroup_api_keys"])
		slug, _ := shown["webhook_slug"].(string)
		require.Regexp(t, `^[A-Z2-7]{26}$`, slug, "the gateway made up the webhook slug")
		hooks := s.Do("GET", "/api/internal/community/"+community+"/hooks", nil).JSON(t)
		require.Equal(t, []any{"/api/hooks/" + community + "/loomio/" + slug}, hooks["hooks"])

		// An update that leaves the slug out keeps it.
		r = s.Do("POST", "/api/internal/plugin/loomio", with(map[string]any{"api_key": "********"}), header...)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		require.Equal(t, hooks, s.Do("GET", "/api/internal/community/"+community+"/hooks", nil).JSON(t))

		// A second group in the same community is a second instance.
		r = s.Do("POST", "/api/internal/plugin/loomio", with(map[string]any{"group_id": 710496}), header...)
		require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
		require.Len(t, s.Do("GET", "/api/internal/community/"+community+"/hooks", nil).JSON(t)["hooks"], 2)
		s.Do("POST", "/api/internal/action/loomio.list-members", map[string]any{}, header...).RequireError(t, http.StatusBadRequest, "multiple_instances")
		r = s.Do("POST", "/api/internal/action/loomio.list-members", map[string]any{}, append(header, "X-Metagov-Community-Platform-Id", "710496")...)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		require.Equal(t, "metagov-testing", r.JSON(t)["groups"].([]any)[0].(map[string]any)["handle"])

		// The public Loomio is the default server.
		r = s.Do("GET", "/api/internal/plugin/loomio/metadata", nil)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		require.Contains(t, string(r.Body), `"default":"https://www.loomio.org"`)
	})
}

// TestEnableWithAPIKeyOnly enables the plugin the way a driver written for
// the original does, with nothing but the key: the user's only group is
// used and the webhook slug is generated.
func TestEnableWithAPIKeyOnly(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		fake := newFake(t)
		s := apptest.Start(t, db, app.Config{})
		r := s.Do("PUT", "/api/internal/community/"+community, map[string]any{"plugins": []map[string]any{
			{"name": "loomio", "config": map[string]any{"api_key": soloKey, "server_url": fake.URL}},
		}})
		require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
		hooks := s.Do("GET", "/api/internal/community/"+community+"/hooks", nil).JSON(t)["hooks"].([]any)
		require.Len(t, hooks, 1)
		require.Regexp(t, `^/api/hooks/`+community+`/loomio/[A-Z2-7]{26}$`, hooks[0])

		r = s.Do("POST", "/api/internal/action/loomio.list-members", map[string]any{}, header...)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		require.Equal(t, 710496.0, r.JSON(t)["groups"].([]any)[0].(map[string]any)["id"], "the user's only group")
		requireBearerOnly(t, fake, soloKey)
	})
}

// TestQueryKeyRefused checks the fake refuses a key in the query string
// with 403 as Loomio does, while the same key as a bearer token works; the
// plugin never sends one (requireBearerOnly in the other tests).
func TestQueryKeyRefused(t *testing.T) {
	t.Parallel()
	fake := newFake(t)
	get := func(rawURL string, headers ...string) (int, map[string]any) {
		req, err := http.NewRequest(http.MethodGet, rawURL, nil)
		require.NoError(t, err)
		for i := 0; i < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		var body map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, body
	}
	status, body := get(fake.URL + "/api/b2/groups?" + url.Values{"api_key": {botKey}}.Encode())
	require.Equal(t, http.StatusForbidden, status)
	require.Equal(t, "You are not authorized to access this page.", body["error"])
	status, _ = get(fake.URL+"/api/b2/groups", "Authorization", "Bearer "+botKey)
	require.Equal(t, http.StatusOK, status)
	status, _ = get(fake.URL + "/api/b1/memberships?" + url.Values{"api_key": {botKey}}.Encode())
	require.Equal(t, http.StatusNotFound, status, "b1 is gone")
}

func TestActions(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		b := setup(t, db, app.Config{})
		action := func(name string, params map[string]any) apptest.Response {
			return b.s.Do("POST", "/api/internal/action/loomio."+name, map[string]any{"parameters": params}, header...)
		}

		t.Run("list-members", func(t *testing.T) {
			for _, tt := range []struct {
				name    string
				params  map[string]any
				handle  string
				members int
			}{
				{name: "the instance's group", params: map[string]any{}, handle: "metagov", members: 3},
				{name: "subgroup by handle", params: map[string]any{"subgroup": "metagov-testing"}, handle: "metagov-testing", members: 3},
				{name: "group_id by key", params: map[string]any{"group_id": "2qE8dI91"}, handle: "metagov-testing", members: 3},
				{name: "group_id by id", params: map[string]any{"group_id": 710495}, handle: "metagov", members: 3},
			} {
				t.Run(tt.name, func(t *testing.T) {
					r := action("list-members", tt.params)
					require.Equal(t, http.StatusOK, r.Status, string(r.Body))
					body := r.JSON(t)
					require.Equal(t, tt.handle, body["groups"].([]any)[0].(map[string]any)["handle"])
					require.Len(t, body["memberships"], tt.members)
					require.Len(t, body["users"], tt.members)
				})
			}
			body := action("list-members", map[string]any{"subgroup": "elsewhere"}).RequireError(t, http.StatusBadRequest, "invalid_input",
				`does not belong to a Loomio group "elsewhere"`)

			require.Equal(t, "/subgroup", body["field"])
			body = action("list-members", map[string]any{"group_id": 1}).RequireError(t, http.StatusBadRequest, "invalid_input")
			require.Equal(t, "/group_id", body["field"])
		})

		t.Run("create-discussion", func(t *testing.T) {
			before := len(b.fake.Requests())
			r := action("create-discussion", map[string]any{"title": "Budget", "description": "Let's talk", "description_format": "md",
				"recipient_emails": []string{"a@example.org"}, "recipient_user_ids": []any{"879750", 4759171},
				"subgroup": "metagov-testing"})
			require.Equal(t, http.StatusOK, r.Status, string(r.Body))
			d := r.JSON(t)["discussions"].([]any)[0].(map[string]any)
			require.Equal(t, "Budget", d["title"])
			require.Equal(t, 710496.0, d["group_id"], "group_id survives: the attributes are nested")

			req := b.fake.Requests()[before]
			require.Equal(t, "/api/b2/discussions", req.Path)
			var sent map[string]any
			require.NoError(t, json.Unmarshal(req.Body, &sent))
			require.Equal(t, map[string]any{"discussion": map[string]any{"group_id": 710496.0, "title": "Budget", "description": "Let's talk",
				"description_format": "md", "recipient_emails": []any{"a@example.org"}, "recipient_user_ids": []any{879750.0, 4759171.0}}}, sent)

			action("create-discussion", map[string]any{"description": "no title"}).RequireError(t, http.StatusBadRequest, "invalid_input")
			action("create-discussion", map[string]any{"title": "x", "subgroup": "nope"}).RequireError(t, http.StatusBadRequest, "invalid_input")
			// Loomio's own validation: 422 with its message and field.
			body := action("create-discussion", map[string]any{"title": "   "}).RequireError(t, http.StatusUnprocessableEntity, "platform_rejected",
				"loomio refused the input (422): title: can't be blank")

			require.Equal(t, "/title", body["field"])
		})
		requireBearerOnly(t, b.fake, botKey)

		// The failure steps change the fake, so they run in order.
		steps := []struct {
			name      string
			arrange   func()
			status    int
			code      string
			fragments []string
		}{
			{name: "platform error", arrange: func() { b.fake.Fail(http.StatusInternalServerError, `{"error":"database is down"}`) },
				status: http.StatusBadGateway, code: "platform_error", fragments: []string{"loomio answered 500", "database is down"}},
			{name: "stall", arrange: func() { b.fake.Fail(0, ""); b.fake.Stall(true) },
				status: http.StatusGatewayTimeout, code: "platform_timeout", fragments: []string{"loomio did not answer in time"}},
		}
		for _, st := range steps {
			t.Run(st.name, func(t *testing.T) {
				st.arrange()
				for _, name := range []string{"list-members", "create-discussion"} {
					r := action(name, map[string]any{"title": "x"})
					if name == "list-members" {
						r = action(name, map[string]any{})
					}
					r.RequireError(t, st.status, st.code, st.fragments...)
					require.NotContains(t, string(r.Body), botKey, "the API key never reaches the driver")
				}
			})
		}
		b.fake.Stall(false)
		require.Equal(t, http.StatusOK, action("list-members", map[string]any{}).Status)
	})
}

// TestRegisterWebhook registers the webhook on Loomio when the bot is an
// admin and the gateway's public URL is one Loomio accepts, moves it when
// the slug changes, and explains how to add it by hand otherwise.
func TestRegisterWebhook(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		fake := newFake(t)
		const public = "https://metagov.example.org"
		s := apptest.Start(t, db, app.Config{PublicURL: public})
		r := s.Do("PUT", "/api/internal/community/"+community, map[string]any{"readable_name": "Loomio"})
		require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
		cfg := config(fake)
		cfg["register_webhook"] = true

		r = s.Do("POST", "/api/internal/plugin/loomio", cfg, header...)
		require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
		hook := s.Do("GET", "/api/internal/community/"+community+"/hooks", nil).JSON(t)["hooks"].([]any)[0].(string)
		bots := fake.Chatbots()
		require.Len(t, bots, 1)
		require.Equal(t, loomiofake.Chatbot{ID: bots[0].ID, GroupID: 710495, Name: "Metagov", Kind: "webhook", WebhookKind: "markdown",
			Server: public + hook, EventKinds: []string{"stance_created", "poll_closed_by_user", "poll_expired", "poll_edited", "outcome_created"}}, bots[0])

		// A new slug moves the same webhook.
		cfg["api_key"], cfg["webhook_slug"] = "********", "a-new-slug-0123456789"
		r = s.Do("POST", "/api/internal/plugin/loomio", cfg, header...)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		bots = fake.Chatbots()
		require.Len(t, bots, 1)
		require.Equal(t, public+"/api/hooks/"+community+"/loomio/a-new-slug-0123456789", bots[0].Server)

		// The bot is no admin of the subgroup: register by hand.
		sub := config(fake)
		sub["group_id"], sub["register_webhook"] = "metagov-testing", true
		body := s.Do("POST", "/api/internal/plugin/loomio", sub, header...).RequireError(t, http.StatusBadRequest, "invalid_input",
			"only a group admin can register a webhook", "add it by hand", public+"/api/hooks/"+community+"/loomio/")

		require.Equal(t, "/register_webhook", body["field"])
		require.Len(t, fake.Chatbots(), 1)
	})
}

// TestRegisterWebhookUnreachable asks to register the webhook while the
// gateway's public URL is a loopback address, which Loomio refuses.
func TestRegisterWebhookUnreachable(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		fake := newFake(t)
		s := apptest.Start(t, db, app.Config{}) // public URL http://127.0.0.1:…
		r := s.Do("PUT", "/api/internal/community/"+community, map[string]any{"readable_name": "Loomio"})
		require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
		cfg := config(fake)
		cfg["register_webhook"] = true
		s.Do("POST", "/api/internal/plugin/loomio", cfg, header...).RequireError(t, http.StatusBadRequest, "invalid_input",
			"Loomio cannot reach the gateway's webhook URL", "is not public", "METAGOV_PUBLIC_URL")

		require.Empty(t, fake.Chatbots())
	})
}
