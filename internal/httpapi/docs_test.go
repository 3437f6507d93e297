package httpapi_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/internal/app"
	"github.com/metagov/metagov-go/internal/apptest"
)

// TestDocs checks the served OpenAPI document with kin-openapi, with the
// plugins this binary has, and that the docs pages render.
func TestDocs(t *testing.T) {
	s := apptest.Start(t, apptest.SQLite(t), app.Config{})
	for _, path := range []string{"/openapi.json", "/swagger.json"} {
		r := s.Do("GET", path, nil)
		require.Equal(t, http.StatusOK, r.Status)
		doc, err := openapi3.NewLoader().LoadFromData(r.Body)
		require.NoError(t, err)
		require.True(t, doc.IsOpenAPI31OrLater())
		require.NoError(t, doc.Validate(context.Background()))
		for _, p := range []string{
			"/api/internal/action/randomness.random-int",
			"/api/internal/process/randomness.delayed-stochastic-vote",
			"/api/internal/process/randomness.delayed-stochastic-vote/{id}",
			"/api/internal/plugin/webhook",
			"/api/internal/community/{slug}",
		} {
			require.NotNil(t, doc.Paths.Find(p), p)
		}
		require.Contains(t, doc.Components.SecuritySchemes, "apiKey")
		internal := doc.Paths.Find("/api/internal/community/{slug}").Get
		require.NotNil(t, internal.Security)
		require.NotEmpty(t, *internal.Security, "the internal API documents its API key")
		require.Nil(t, doc.Paths.Find("/api/hooks/{plugin}").Post.Security, "webhooks stay public")
		require.Contains(t, doc.Components.Schemas, "randomness.config")
		require.Contains(t, doc.Components.Schemas, "testkit.echo.input")
	}

	r := s.Do("GET", "/swagger/", nil)
	require.Equal(t, http.StatusOK, r.Status)
	require.Contains(t, strings.ToLower(string(r.Body)), "swagger")
	r = s.Do("GET", "/redoc", nil)
	require.Equal(t, http.StatusOK, r.Status)
	require.Contains(t, string(r.Body), "randomness.random-int")

	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(s.URL + "/")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusFound, resp.StatusCode)
	require.Equal(t, "/redoc", resp.Header.Get("Location"))
}
