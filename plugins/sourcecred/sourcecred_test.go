package sourcecred_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/internal/app"
	"github.com/metagov/metagov-go/internal/apptest"
	_ "github.com/metagov/metagov-go/plugins/sourcecred"
	"github.com/metagov/metagov-go/plugins/sourcecred/sourcecredfake"
)

const community = "cred-community"

var header = []string{"X-Metagov-Community", community}

// testBundle is a gateway with sourcecred enabled against a fake instance.
type testBundle struct {
	s    *apptest.Server
	fake *sourcecredfake.Server
}

func setup(t *testing.T, db apptest.Database) *testBundle {
	t.Helper()
	fake := sourcecredfake.New(t)
	fake.SetAccounts(
		sourcecredfake.Account{Name: "miriam", Aliases: []string{sourcecredfake.DiscordAlias("140750062325202944")}, TotalCred: 10.5},
		sourcecredfake.Account{Name: "hozzjss", Aliases: []string{"N\x00sourcecred\x00github\x00USERLIKE\x00USER\x00hozzjss\x00"}, TotalCred: 4.25},
	)
	s := apptest.Start(t, db, app.Config{PlatformTimeout: 200 * time.Millisecond})
	r := s.Do("PUT", "/api/internal/community/"+community, map[string]any{"plugins": []map[string]any{
		{"name": "sourcecred", "config": map[string]any{"server_url": fake.URL}},
	}})
	require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
	return &testBundle{s: s, fake: fake}
}

func TestEnable(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		b := setup(t, db)
		community := b.s.Do("GET", "/api/internal/community/"+community, nil).JSON(t)
		plugins := community["plugins"].([]any)
		require.Len(t, plugins, 1)
		p := plugins[0].(map[string]any)
		require.Equal(t, b.fake.URL, p["community_platform_id"], "the server URL identifies the instance")
		require.Equal(t, map[string]any{"server_url": b.fake.URL}, p["config"])

		tests := []struct {
			name   string
			config map[string]any
			field  string
		}{
			{name: "unknown key", config: map[string]any{"server_url": b.fake.URL, "wrongkey": "test"}},
			{name: "no server_url", config: map[string]any{}, field: "/server_url"},
			{name: "not a URL", config: map[string]any{"server_url": "ftp://example.org"}, field: "/server_url"},
			{name: "no host", config: map[string]any{"server_url": "https://"}, field: "/server_url"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := b.s.Do("POST", "/api/internal/plugin/sourcecred", tt.config, header...)
				require.Equal(t, http.StatusBadRequest, r.Status, string(r.Body))
				if tt.field != "" {
					require.Equal(t, tt.field, r.JSON(t)["field"], string(r.Body))
				}
			})
		}
		require.Zero(t, b.fake.Hits(), "enabling reads nothing from the instance")
	})
}

func TestActions(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		b := setup(t, db)
		tests := []struct {
			name      string
			path      string
			params    map[string]any
			want      float64
			status    int
			code      string
			fragments []string
		}{
			{name: "by username", path: "/api/internal/action/sourcecred.user-cred", params: map[string]any{"username": "miriam"}, want: 10.5},
			{name: "by id", path: "/api/internal/action/sourcecred.user-cred", params: map[string]any{"id": "140750062325202944"}, want: 10.5},
			{name: "by numeric id", path: "/api/internal/action/sourcecred.user-cred", params: map[string]any{"id": 140750062325202944}, want: 10.5},
			{name: "by github alias", path: "/api/internal/action/sourcecred.user-cred", params: map[string]any{"id": "hozzjss"}, want: 4.25},
			{name: "public by username", path: "/api/action/sourcecred.user-cred", params: map[string]any{"username": "hozzjss"}, want: 4.25},
			{name: "total", path: "/api/internal/action/sourcecred.total-cred", params: map[string]any{}, want: 14.75},
			{name: "public total", path: "/api/action/sourcecred.total-cred", want: 14.75},
			{name: "no arguments", path: "/api/internal/action/sourcecred.user-cred", params: map[string]any{},
				status: http.StatusBadRequest, code: "invalid_input", fragments: []string{"Either a username or an id argument is required"}},
			{name: "empty username", path: "/api/action/sourcecred.user-cred", params: map[string]any{"username": ""},
				status: http.StatusBadRequest, code: "invalid_input", fragments: []string{"Either a username or an id argument is required"}},
			{name: "unknown user", path: "/api/internal/action/sourcecred.user-cred", params: map[string]any{"username": "carol"},
				status: http.StatusNotFound, code: "not_found", fragments: []string{"carol not found in sourcecred instance"}},
			{name: "unknown id", path: "/api/internal/action/sourcecred.user-cred", params: map[string]any{"id": "42"},
				status: http.StatusNotFound, code: "not_found", fragments: []string{"42 not found in sourcecred instance"}},
			{name: "id of the wrong type", path: "/api/internal/action/sourcecred.user-cred", params: map[string]any{"id": true},
				status: http.StatusBadRequest, code: "invalid_input"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				var body any
				if tt.params != nil {
					body = map[string]any{"parameters": tt.params}
				}
				r := b.s.Do("POST", tt.path, body, header...)
				if tt.status != 0 {
					r.RequireError(t, tt.status, tt.code, tt.fragments...)
					return
				}
				require.Equal(t, http.StatusOK, r.Status, string(r.Body))
				require.Equal(t, map[string]any{"value": tt.want}, r.JSON(t))
			})
		}
	})
}

// TestInstanceFailures runs its steps in order: each changes the fake.
func TestInstanceFailures(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		b := setup(t, db)
		steps := []struct {
			name      string
			arrange   func()
			status    int
			code      string
			fragments []string
		}{
			{name: "accounts.json missing", arrange: func() { b.fake.SetMissing(true) },
				status: http.StatusBadGateway, code: "platform_error", fragments: []string{"sourcecred answered 404", "'output/accounts.json' file not present"}},
			{name: "server error", arrange: func() { b.fake.SetMissing(false); b.fake.Fail(http.StatusInternalServerError, "pages are down") },
				status: http.StatusBadGateway, code: "platform_error", fragments: []string{"sourcecred answered 500", "pages are down"}},
			{name: "not JSON", arrange: func() { b.fake.Fail(http.StatusOK, "<html>") },
				status: http.StatusBadGateway, code: "platform_error", fragments: []string{"accounts.json is not valid JSON"}},
			{name: "stall", arrange: func() { b.fake.Fail(0, ""); b.fake.Stall(true) },
				status: http.StatusGatewayTimeout, code: "platform_timeout", fragments: []string{"sourcecred did not answer in time"}},
		}
		for _, st := range steps {
			t.Run(st.name, func(t *testing.T) {
				st.arrange()
				for _, action := range []string{"user-cred", "total-cred"} {
					r := b.s.Do("POST", "/api/action/sourcecred."+action, map[string]any{"parameters": map[string]any{"username": "miriam"}}, header...)
					r.RequireError(t, st.status, st.code, st.fragments...)
				}
			})
		}
		b.fake.Stall(false)
		r := b.s.Do("POST", "/api/action/sourcecred.user-cred", map[string]any{"parameters": map[string]any{"username": "miriam"}}, header...)
		require.Equal(t, http.StatusOK, r.Status, "the instance recovers: %s", r.Body)
	})
}
