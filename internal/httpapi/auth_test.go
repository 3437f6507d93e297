package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/internal/app"
	"github.com/metagov/metagov-go/internal/apptest"
	"github.com/metagov/metagov-go/internal/core"
)

func bearer(key string) []string { return []string{"Authorization", "Bearer " + key} }

// TestProtectedMode: with no API key, only loopback clients reach the
// internal API; webhooks and docs stay public.
func TestProtectedMode(t *testing.T) {
	s := startTestkit(t, apptest.SQLite(t), app.Config{})
	call := func(path, remote string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", path, nil)
		req.RemoteAddr = remote
		rec := httptest.NewRecorder()
		s.App.Handler().ServeHTTP(rec, req)
		return rec
	}
	require.Equal(t, http.StatusOK, call("/api/internal/community/"+community, "127.0.0.1:5555").Code)
	require.Equal(t, http.StatusOK, call("/api/internal/community/"+community, "[::1]:5555").Code)
	rec := call("/api/internal/community/"+community, "192.0.2.7:5555")
	require.Equal(t, http.StatusForbidden, rec.Code)
	require.Contains(t, rec.Body.String(), "metagov apikey create")
	require.Equal(t, http.StatusOK, call("/openapi.json", "192.0.2.7:5555").Code)
	require.Equal(t, http.StatusOK, call("/healthz", "192.0.2.7:5555").Code)
}

// TestAPIKeys checks admin and limited keys across two communities on every
// kind of route, including ids guessed from the other community, and
// revocation.
func TestAPIKeys(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		cb := apptest.NewReceiver(t)
		s := apptest.Start(t, db, app.Config{})
		for _, c := range []string{"alpha", "beta"} {
			r := s.Do("PUT", "/api/internal/community/"+c, map[string]any{"plugins": []map[string]any{
				{"name": "testkit", "config": map[string]any{"webhook_slug": "slug-" + c}},
			}})
			require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
		}
		// A process and a delivery in beta, whose ids alpha's key will guess.
		r := s.Do("POST", "/api/internal/process/testkit.tally", map[string]any{"title": "b", "callback_url": cb.URL},
			"X-Metagov-Community", "beta")
		require.Equal(t, http.StatusAccepted, r.Status)
		betaProcess := r.Header.Get("Location")
		require.Equal(t, http.StatusOK, s.Do("POST", "/api/hooks/beta/testkit/slug-beta", `{"vote":"yes"}`,
			"X-Test-Token", "secret-token").Status)
		cb.WaitFor(t, 1, 10*time.Second)
		betaPlugin := s.Do("GET", "/api/internal/community/beta", nil).JSON(t)["plugins"].([]any)[0].(map[string]any)["id"]

		ctx := context.Background()
		admin, _, err := core.CreateAPIKey(ctx, s.App.Store(), "admin", nil)
		require.NoError(t, err)
		alphaKey, alphaID, err := core.CreateAPIKey(ctx, s.App.Store(), "alpha driver", []string{"alpha"})
		require.NoError(t, err)
		require.True(t, strings.HasPrefix(alphaKey, core.APIKeyPrefix))

		// Once a key exists, every internal call needs one, even from loopback.
		require.Eventually(t, func() bool {
			return s.Do("GET", "/api/internal/community/alpha", nil).Status == http.StatusUnauthorized
		}, 5*time.Second, 50*time.Millisecond)
		s.Do("GET", "/api/internal/community/alpha", nil, bearer("mgk_wrong")...).RequireError(t, http.StatusUnauthorized, "invalid_api_key")
		require.Equal(t, http.StatusOK, s.Do("GET", "/api/internal/community/beta", nil, bearer(admin)...).Status)
		require.Equal(t, http.StatusOK, s.Do("GET", "/api/internal/community/alpha", nil, bearer(alphaKey)...).Status)

		a := bearer(alphaKey)
		hdr := func(community string) []string { return append([]string{"X-Metagov-Community", community}, a...) }
		deliveryID := s.Do("GET", "/api/internal/deliveries?community=beta", nil, bearer(admin)...).JSON(t)["deliveries"].([]any)[0].(map[string]any)["id"]
		notFound := []struct {
			name, method, path string
			body               any
			headers            []string
		}{
			{"get community", "GET", "/api/internal/community/beta", nil, a},
			{"replace community", "PUT", "/api/internal/community/beta", map[string]any{"readable_name": "mine now"}, a},
			{"delete community", "DELETE", "/api/internal/community/beta", nil, a},
			{"hooks", "GET", "/api/internal/community/beta/hooks", nil, a},
			{"action", "POST", "/api/internal/action/testkit.echo", `{"parameters":{"value":"x"}}`, hdr("beta")},
			{"start process", "POST", "/api/internal/process/testkit.tally", `{"title":"x"}`, hdr("beta")},
			{"read process by id", "GET", betaProcess, nil, a},
			{"close process by id", "DELETE", betaProcess, nil, a},
			{"enable plugin", "POST", "/api/internal/plugin/testkit", `{"account":"x"}`, hdr("beta")},
			{"disable plugin by id", "DELETE", fmt.Sprintf("/api/internal/plugin/testkit/%v", betaPlugin), nil, a},
			{"delivery by id", "GET", fmt.Sprintf("/api/internal/deliveries/%v", deliveryID), nil, a},
			{"redeliver by id", "POST", fmt.Sprintf("/api/internal/deliveries/%v/redeliver", deliveryID), nil, a},
			{"deliveries of beta", "GET", "/api/internal/deliveries?community=beta", nil, a},
			{"events of beta", "GET", "/api/internal/events?community=beta", nil, a},
		}
		for _, tc := range notFound {
			t.Run(tc.name, func(t *testing.T) {
				r := s.Do(tc.method, tc.path, tc.body, tc.headers...)
				require.Equal(t, http.StatusNotFound, r.Status, string(r.Body))
				require.NotContains(t, string(r.Body), "beta\"", "nothing of beta leaks")
			})
		}
		// Unfiltered lists show only alpha's.
		require.Empty(t, s.Do("GET", "/api/internal/deliveries", nil, a...).JSON(t)["deliveries"])
		require.Equal(t, "beta", s.Do("GET", "/api/internal/community/beta", nil, bearer(admin)...).JSON(t)["slug"],
			"beta is untouched")

		// A community made with a limited key belongs to it.
		r = s.Do("POST", "/api/internal/community", map[string]any{"readable_name": "G"}, a...)
		require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
		gamma := r.JSON(t)["slug"].(string)
		require.Equal(t, http.StatusOK, s.Do("GET", "/api/internal/community/"+gamma, nil, a...).Status)
		s.Do("GET", "/api/internal/deliveries", nil, a...).RequireError(t, http.StatusBadRequest, "community_required")

		// A revoked key stops working.
		require.NoError(t, core.RevokeAPIKey(ctx, s.App.Store(), alphaID))
		require.Eventually(t, func() bool {
			return s.Do("GET", "/api/internal/community/alpha", nil, a...).Status == http.StatusUnauthorized
		}, 5*time.Second, 50*time.Millisecond)
		require.Error(t, core.RevokeAPIKey(ctx, s.App.Store(), alphaID), "revoking twice")
		keys, err := core.ListAPIKeys(ctx, s.App.Store())
		require.NoError(t, err)
		require.Len(t, keys, 2)
		require.True(t, keys[1].Revoked)
		require.ElementsMatch(t, []string{"alpha", gamma}, keys[1].Communities)
	})
}
