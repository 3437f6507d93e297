package tsc_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/internal/app"
	"github.com/metagov/metagov-go/internal/apptest"
	_ "github.com/metagov/metagov-go/plugins/tsc"
	"github.com/metagov/metagov-go/plugins/tsc/tscfake"
)

const community = "tsc-community"

var header = []string{"X-Metagov-Community", community}

type testBundle struct {
	s    *apptest.Server
	fake *tscfake.Server
}

func setup(t *testing.T, db apptest.Database) *testBundle {
	t.Helper()
	fake := tscfake.New(t)
	fake.Put("user", "u1", map[string]any{"id": "u1", "name": "ana", "agreements": []string{"a1"}})
	fake.Put("contract", "c1", map[string]any{"id": "c1", "text": "be kind"})
	fake.Put("execution", "e1", map[string]any{"id": "e1", "status": "done"})
	fake.Put("agreement", "a1", map[string]any{"id": "a1", "parties": []string{"u1", "u2"}})
	fake.Put("user", "a/b", map[string]any{"id": "a/b"})
	fake.Put("user", "list", []any{1, 2})
	s := apptest.Start(t, db, app.Config{PlatformTimeout: 200 * time.Millisecond})
	r := s.Do("PUT", "/api/internal/community/"+community, map[string]any{"plugins": []map[string]any{
		{"name": "tsc", "config": map[string]any{"server_url": fake.URL + "/"}},
	}})
	require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
	return &testBundle{s: s, fake: fake}
}

func TestActions(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		b := setup(t, db)
		tests := []struct {
			action, param, id, want string
		}{
			{"get-user", "user_id", "u1", `{"id": "u1", "name": "ana", "agreements": ["a1"]}`},
			{"get-contract", "contract_id", "c1", `{"id": "c1", "text": "be kind"}`},
			{"get-execution", "execution_id", "e1", `{"id": "e1", "status": "done"}`},
			{"get-agreement", "agreement_id", "a1", `{"id": "a1", "parties": ["u1", "u2"]}`},
			{"get-user", "user_id", "a/b", `{"id": "a/b"}`},
			{"get-user", "user_id", "list", `[1, 2]`},
		}
		for _, tt := range tests {
			r := b.s.Do("POST", "/api/internal/action/tsc."+tt.action, map[string]any{"parameters": map[string]any{tt.param: tt.id}}, header...)
			require.Equal(t, http.StatusOK, r.Status, string(r.Body))
			require.JSONEq(t, tt.want, string(r.Body))
		}
		require.Equal(t, []string{"/api/user/u1", "/api/contract/c1", "/api/execution/e1", "/api/agreement/a1", "/api/user/a%2Fb", "/api/user/list"},
			b.fake.Paths(), "one path segment per id, the trailing slash of server_url dropped")
	})
}

func TestErrors(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		b := setup(t, db)
		do := func(params map[string]any) apptest.Response {
			return b.s.Do("POST", "/api/internal/action/tsc.get-user", map[string]any{"parameters": params}, header...)
		}
		check := func(r apptest.Response, status int, code, fragment, field string) {
			t.Helper()
			require.Equal(t, status, r.Status, string(r.Body))
			body := r.JSON(t)
			require.Equal(t, code, body["code"], string(r.Body))
			require.Contains(t, body["detail"], fragment)
			if field != "" {
				require.Equal(t, field, body["field"])
			}
		}
		check(do(map[string]any{}), http.StatusBadRequest, "invalid_input", "user_id", "/user_id")
		check(do(map[string]any{"user_id": ""}), http.StatusBadRequest, "invalid_input", "", "/user_id")
		check(do(map[string]any{"user_id": 7}), http.StatusBadRequest, "invalid_input", "", "/user_id")
		require.Len(t, b.fake.Paths(), 0, "bad input reaches no server")

		check(do(map[string]any{"user_id": "nobody"}), http.StatusNotFound, "not_found", "user nobody not found on the tsc server", "")
		b.fake.Fail(http.StatusBadRequest, `{"error": "malformed id"}`)
		check(do(map[string]any{"user_id": "u1"}), http.StatusUnprocessableEntity, "platform_rejected", "malformed id", "")
		b.fake.Fail(http.StatusInternalServerError, "database is down")
		check(do(map[string]any{"user_id": "u1"}), http.StatusBadGateway, "platform_error", "tsc answered 500: database is down", "")
		b.fake.Fail(http.StatusOK, "<html>hello</html>")
		check(do(map[string]any{"user_id": "u1"}), http.StatusBadGateway, "platform_error", "is not JSON", "")
		b.fake.Fail(0, "")
		b.fake.Stall(true)
		check(do(map[string]any{"user_id": "u1"}), http.StatusGatewayTimeout, "platform_timeout", "tsc did not answer in time", "")
		b.fake.Stall(false)
		require.Equal(t, http.StatusOK, do(map[string]any{"user_id": "u1"}).Status, "the server recovers")
	})
}

func TestConfig(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		b := setup(t, db)
		for _, cfg := range []map[string]any{{}, {"server_url": "ftp://x"}, {"server_url": "https://"}, {"server_url": 3}} {
			r := b.s.Do("POST", "/api/internal/plugin/tsc", cfg, header...)
			require.Equal(t, http.StatusBadRequest, r.Status, string(r.Body))
			require.Equal(t, "/server_url", r.JSON(t)["field"], string(r.Body))
		}
	})
}
