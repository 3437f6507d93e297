package loomio_test

import (
	"net/http"
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
	mainKey   = "main-api-key-0001"
	subKey    = "sub-api-key-0002"
	slug      = "k3Jd9_x-Qw81LmZp"
)

var header = []string{"X-Metagov-Community", community}

// testBundle is a gateway with loomio enabled against a fake Loomio.
type testBundle struct {
	s    *apptest.Server
	fake *loomiofake.Server
	hook string // the webhook URL to give Loomio
}

// newFake is a Loomio with a main group and one subgroup.
func newFake(t *testing.T) *loomiofake.Server {
	fake := loomiofake.New(t)
	fake.AddGroup(mainKey, loomiofake.Group{ID: 710495, Key: "ZrSTqeyG", Handle: "metagov", Name: "Metagovernance Project",
		Members: []loomiofake.Member{{ID: 879750, Name: "Alice", Username: "alice"}, {ID: 4759171, Name: "Bob", Username: "bob"}}})
	fake.AddGroup(subKey, loomiofake.Group{ID: 710496, Key: "2qE8dI91", Handle: "metagov-testing", Name: "Metagov Testing",
		Members: []loomiofake.Member{{ID: 879750, Name: "Alice", Username: "alice"}}})
	return fake
}

// config is a valid loomio config for fake.
func config(fake *loomiofake.Server) map[string]any {
	return map[string]any{"api_key": mainKey, "subgroup_api_keys": []string{subKey}, "server_url": fake.URL, "webhook_slug": slug}
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
	return &testBundle{s: s, fake: fake, hook: s.URL + "/api/hooks/" + community + "/loomio/" + slug}
}

// requireError checks a JSON error answer and returns its body.
func requireError(t *testing.T, r apptest.Response, status int, code string, fragments ...string) map[string]any {
	t.Helper()
	require.Equal(t, status, r.Status, string(r.Body))
	body := r.JSON(t)
	require.Equal(t, code, body["code"], string(r.Body))
	for _, f := range fragments {
		require.Contains(t, body["detail"], f)
	}
	return body
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
			{name: "no webhook_slug", config: with(map[string]any{"webhook_slug": nil}), status: http.StatusBadRequest, code: "invalid_config", field: "/webhook_slug"},
			{name: "short webhook_slug", config: with(map[string]any{"webhook_slug": "abc123"}), status: http.StatusBadRequest, code: "invalid_config", field: "/webhook_slug"},
			{name: "unknown key", config: with(map[string]any{"webhook_secret": "x"}), status: http.StatusBadRequest, code: "invalid_config"},
			{name: "bad server_url", config: with(map[string]any{"server_url": "loomio.org"}), status: http.StatusBadRequest, code: "invalid_config", field: "/server_url"},
			{name: "wrong api_key", config: with(map[string]any{"api_key": "wrong"}), status: http.StatusBadGateway, code: "platform_error",
				fragments: []string{"loomio answered 403", "CanCan::AccessDenied"}},
			{name: "wrong subgroup key", config: with(map[string]any{"subgroup_api_keys": []string{subKey, "wrong"}}), status: http.StatusBadGateway,
				code: "platform_error", fragments: []string{"CanCan::AccessDenied"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := s.Do("POST", "/api/internal/plugin/loomio", tt.config, header...)
				body := requireError(t, r, tt.status, tt.code, tt.fragments...)
				if tt.field != "" {
					require.Equal(t, tt.field, body["field"])
				}
				require.NotContains(t, string(r.Body), "wrong\"", "the key is not echoed")
				plugins := s.Do("GET", "/api/internal/community/"+community, nil).JSON(t)["plugins"]
				require.Empty(t, plugins, "nothing is enabled")
			})
		}

		before := len(fake.Requests())
		r = s.Do("POST", "/api/internal/plugin/loomio", config(fake), header...)
		require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
		var keys []string
		for _, req := range fake.Requests()[before:] {
			require.Equal(t, "/api/b1/memberships", req.Path)
			keys = append(keys, req.Params.Get("api_key"))
		}
		require.ElementsMatch(t, []string{mainKey, subKey}, keys, "Initialize reads the group of every key")

		p := s.Do("GET", "/api/internal/community/"+community, nil).JSON(t)["plugins"].([]any)[0].(map[string]any)
		require.Equal(t, "api_key", p["auth_type"])
		// The config is not mutated (one subgroup key still), and its secrets
		// are never shown.
		require.Equal(t, []any{"********"}, p["config"].(map[string]any)["subgroup_api_keys"])
		require.Equal(t, "********", p["config"].(map[string]any)["api_key"])
		hooks := s.Do("GET", "/api/internal/community/"+community+"/hooks", nil).JSON(t)
		require.Equal(t, []any{"/api/hooks/" + community + "/loomio/" + slug}, hooks["hooks"])

		// The public Loomio is the default server.
		r = s.Do("GET", "/api/internal/plugin/loomio/metadata", nil)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		require.Contains(t, string(r.Body), `"default":"https://www.loomio.org"`)
	})
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
				name     string
				subgroup string
				handle   string
				members  int
			}{
				{name: "main group", handle: "metagov", members: 2},
				{name: "subgroup by handle", subgroup: "metagov-testing", handle: "metagov-testing", members: 1},
				{name: "subgroup by key", subgroup: "2qE8dI91", handle: "metagov-testing", members: 1},
				{name: "main group by handle", subgroup: "metagov", handle: "metagov", members: 2},
			} {
				t.Run(tt.name, func(t *testing.T) {
					params := map[string]any{}
					if tt.subgroup != "" {
						params["subgroup"] = tt.subgroup
					}
					r := action("list-members", params)
					require.Equal(t, http.StatusOK, r.Status, string(r.Body))
					body := r.JSON(t)
					require.Equal(t, tt.handle, body["groups"].([]any)[0].(map[string]any)["handle"])
					require.Len(t, body["memberships"], tt.members)
					require.Len(t, body["users"], tt.members)
				})
			}
			body := requireError(t, action("list-members", map[string]any{"subgroup": "elsewhere"}), http.StatusBadRequest, "invalid_input",
				"No API key found for Loomio group elsewhere")
			require.Equal(t, "/subgroup", body["field"])
		})

		t.Run("create-discussion", func(t *testing.T) {
			before := len(b.fake.Requests())
			r := action("create-discussion", map[string]any{"title": "Budget", "description": "Let's talk", "description_format": "md",
				"recipient_emails": []string{"a@example.org", "b@example.org"}, "recipient_user_ids": []any{"879750", 4759171},
				"subgroup": "metagov-testing"})
			require.Equal(t, http.StatusOK, r.Status, string(r.Body))
			d := r.JSON(t)["discussions"].([]any)[0].(map[string]any)
			require.Equal(t, "Budget", d["title"])
			require.Equal(t, 710496.0, d["group_id"])

			req := b.fake.Requests()[before]
			require.Equal(t, "application/x-www-form-urlencoded", req.ContentType)
			require.Equal(t, subKey, req.Params.Get("api_key"))
			require.Equal(t, []string{"a@example.org", "b@example.org"}, req.Params["recipient_emails[]"])
			require.Equal(t, []string{"879750", "4759171"}, req.Params["recipient_user_ids[]"])
			require.Equal(t, "Let's talk", req.Params.Get("description"))

			requireError(t, action("create-discussion", map[string]any{"description": "no title"}), http.StatusBadRequest, "invalid_input")
			requireError(t, action("create-discussion", map[string]any{"title": "x", "subgroup": "nope"}), http.StatusBadRequest, "invalid_input")
		})

		// The failure steps change the fake, so they run in order.
		steps := []struct {
			name      string
			arrange   func()
			status    int
			code      string
			fragments []string
		}{
			{name: "platform error", arrange: func() { b.fake.Fail(http.StatusInternalServerError, `{"exception":"RuntimeError database is down"}`) },
				status: http.StatusBadGateway, code: "platform_error", fragments: []string{"loomio answered 500", "RuntimeError database is down"}},
			{name: "stall", arrange: func() { b.fake.Fail(0, ""); b.fake.Stall(true) },
				status: http.StatusGatewayTimeout, code: "platform_timeout", fragments: []string{"loomio did not answer in time"}},
		}
		for _, st := range steps {
			t.Run(st.name, func(t *testing.T) {
				st.arrange()
				for _, name := range []string{"list-members", "create-discussion"} {
					r := action(name, map[string]any{"title": "x"})
					requireError(t, r, st.status, st.code, st.fragments...)
					require.NotContains(t, string(r.Body), mainKey, "the API key never reaches the driver")
				}
			})
		}
		b.fake.Stall(false)
		require.Equal(t, http.StatusOK, action("list-members", nil).Status)
	})
}
