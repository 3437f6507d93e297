package httpapi_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/internal/app"
	"github.com/metagov/metagov-go/internal/apptest"
	"github.com/metagov/metagov-go/internal/core"
)

// TestNoSlugOracle checks that a key limited to one community cannot learn
// whether another tenant holds a slug: creating or replacing a community
// answers the same for a taken slug as for a free one, and creates nothing;
// the key creates communities with generated slugs. Admin keys keep
// choosing slugs.
func TestNoSlugOracle(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		s := apptest.Start(t, db, app.Config{})
		for _, c := range []string{"alpha", "beta"} {
			r := s.Do("PUT", "/api/internal/community/"+c, map[string]any{"readable_name": c})
			require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
		}
		ctx := context.Background()
		admin, _, err := core.CreateAPIKey(ctx, s.App.Store(), "admin", nil)
		require.NoError(t, err)
		tenant, _, err := core.CreateAPIKey(ctx, s.App.Store(), "tenant", []string{"alpha"})
		require.NoError(t, err)
		a := bearer(tenant)

		// answer is what a caller can compare: status and body, with the
		// slug asked about and the request id taken out.
		answer := func(r apptest.Response, slug string) string {
			body := r.JSON(t)
			delete(body, "request_id")
			body["detail"] = strings.ReplaceAll(body["detail"].(string), slug, "<slug>")
			return http.StatusText(r.Status) + " " + body["code"].(string) + " " + body["detail"].(string) + " " + fmtField(body["field"])
		}
		const free = "nobody-has-this-slug"
		// PUT: a foreign slug and a free one answer alike, as GET does.
		taken := s.Do("PUT", "/api/internal/community/beta", map[string]any{"readable_name": "mine"}, a...)
		unused := s.Do("PUT", "/api/internal/community/"+free, map[string]any{"readable_name": "mine"}, a...)
		taken.RequireError(t, http.StatusNotFound, "community_not_found")
		require.Equal(t, answer(taken, "beta"), answer(unused, free))
		// POST with a slug: taken, free or its own, the same refusal.
		var posts []string
		for _, slug := range []string{"beta", free, "alpha"} {
			r := s.Do("POST", "/api/internal/community", map[string]any{"slug": slug, "readable_name": "mine"}, a...)
			r.RequireError(t, http.StatusForbidden, "slug_not_allowed")
			posts = append(posts, answer(r, slug))
		}
		require.Equal(t, posts[0], posts[1])
		require.Equal(t, posts[0], posts[2])

		// Nothing was created or changed.
		s.Do("GET", "/api/internal/community/"+free, nil, bearer(admin)...).RequireError(t, http.StatusNotFound, "community_not_found")
		require.Equal(t, "beta", s.Do("GET", "/api/internal/community/beta", nil, bearer(admin)...).JSON(t)["readable_name"])

		// The tenant creates with a generated slug, and it is its own.
		r := s.Do("POST", "/api/internal/community", map[string]any{"readable_name": "new"}, a...)
		require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
		mine := r.JSON(t)["slug"].(string)
		r = s.Do("PUT", "/api/internal/community/"+mine, map[string]any{"readable_name": "renamed"}, a...)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		require.Equal(t, "renamed", r.JSON(t)["readable_name"])

		// An admin key still chooses slugs, and hears that one is taken.
		require.Equal(t, http.StatusCreated, s.Do("PUT", "/api/internal/community/"+free, map[string]any{}, bearer(admin)...).Status)
		s.Do("POST", "/api/internal/community", map[string]any{"slug": "beta"}, bearer(admin)...).RequireError(t, http.StatusConflict, "slug_taken")
	})
}

func fmtField(v any) string {
	s, _ := v.(string)
	return s
}
