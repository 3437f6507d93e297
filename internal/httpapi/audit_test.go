package httpapi_test

import (
	"context"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/internal/app"
	"github.com/metagov/metagov-go/internal/apptest"
	"github.com/metagov/metagov-go/internal/core"
)

func TestAuditLog(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		const token = "audit-secret-token"
		s := apptest.Start(t, db, app.Config{})
		for _, c := range []string{"alpha", "beta"} {
			r := s.Do("PUT", "/api/internal/community/"+c, map[string]any{"plugins": []map[string]any{
				{"name": "testkit", "config": map[string]any{"token": token}},
			}})
			require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
		}
		r := s.Do("POST", "/api/internal/process/testkit.ticker", map[string]any{}, "X-Metagov-Community", "alpha")
		require.Equal(t, http.StatusAccepted, r.Status)
		require.Equal(t, http.StatusOK, s.Do("DELETE", r.Header.Get("Location"), nil).Status)
		r = s.Do("POST", "/api/internal/plugin/testkit", map[string]any{"token": token, "account": "second"}, "X-Metagov-Community", "alpha")
		require.Equal(t, http.StatusCreated, r.Status)
		second := r.JSON(t)["id"].(float64)
		require.Equal(t, http.StatusNoContent, s.Do("DELETE", "/api/internal/plugin/testkit/"+ftoa(second), nil).Status)
		require.Equal(t, http.StatusNoContent, s.Do("DELETE", "/api/internal/community/beta", nil).Status)

		ctx := context.Background()
		admin, adminID, err := core.CreateAPIKey(ctx, s.App.Store(), "admin", nil)
		require.NoError(t, err)
		alphaKey, _, err := core.CreateAPIKey(ctx, s.App.Store(), "alpha", []string{"alpha"})
		require.NoError(t, err)
		require.Eventually(t, func() bool {
			return s.Do("GET", "/api/internal/audit", nil).Status == http.StatusUnauthorized
		}, 5*time.Second, 50*time.Millisecond, "keys are in force")

		var actions []string
		r = s.Do("GET", "/api/internal/audit", nil, bearer(admin)...)
		if r.Status == http.StatusOK {
			for _, e := range r.JSON(t)["entries"].([]any) {
				actions = append(actions, e.(map[string]any)["community"].(string)+" "+e.(map[string]any)["action"].(string))
			}
		}
		require.Equal(t, []string{
			"alpha community.create", "beta community.create", "alpha process.start", "alpha process.close",
			"alpha plugin.enable", "alpha plugin.disable", "beta community.delete", " apikey.create", " apikey.create",
		}, actions)
		require.NotContains(t, string(r.Body), token, "secrets never enter the audit log")
		require.NotZero(t, adminID)

		r = s.Do("GET", "/api/internal/audit", nil, bearer(alphaKey)...)
		require.Equal(t, http.StatusOK, r.Status)
		for _, e := range r.JSON(t)["entries"].([]any) {
			require.Equal(t, "alpha", e.(map[string]any)["community"], "a limited key sees its communities only")
		}
		r = s.Do("PUT", "/api/internal/community/alpha", map[string]any{"readable_name": "A"}, bearer(alphaKey)...)
		require.Equal(t, http.StatusOK, r.Status)
		entries := s.Do("GET", "/api/internal/audit?after=0&limit=1000", nil, bearer(alphaKey)...).JSON(t)["entries"].([]any)
		last := entries[len(entries)-1].(map[string]any)
		require.Equal(t, "community.replace", last["action"])
		require.NotNil(t, last["key_id"], "the key that made the change is recorded")
	})
}

func ftoa(f float64) string { return strconv.FormatInt(int64(f), 10) }
