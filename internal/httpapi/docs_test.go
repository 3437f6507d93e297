package httpapi_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/internal/apidoc"
	"github.com/metagov/metagov-go/internal/app"
	"github.com/metagov/metagov-go/internal/apptest"
)

// TestDocs checks the served OpenAPI document with kin-openapi and with the
// lint rules of Redocly's recommended set (apidoc.Lint), with the plugins
// this binary has, and that the docs pages are served.
func TestDocs(t *testing.T) {
	s := apptest.Start(t, apptest.SQLite(t), app.Config{})
	for _, path := range []string{"/openapi.json", "/swagger.json"} {
		r := s.Do("GET", path, nil)
		require.Equal(t, http.StatusOK, r.Status)
		doc, err := openapi3.NewLoader().LoadFromData(r.Body)
		require.NoError(t, err)
		require.True(t, doc.IsOpenAPI31OrLater())
		require.NoError(t, doc.Validate(context.Background()))
		problems, err := apidoc.Lint(r.Body)
		require.NoError(t, err)
		require.Empty(t, problems)
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
		for path, public := range map[string]*openapi3.Operation{
			"/api/hooks/{plugin}": doc.Paths.Find("/api/hooks/{plugin}").Post,
			"/healthz":            doc.Paths.Find("/healthz").Get,
			"/openapi.json":       doc.Paths.Find("/openapi.json").Get,
			"/api/internal/process/vote.poll (callback)": doc.Webhooks["processCallback"].Post,
		} {
			require.NotNil(t, public.Security, path)
			require.Empty(t, *public.Security, "%s is public and says so", path)
		}
		require.Contains(t, doc.Components.Schemas, "randomness.config")
		require.Contains(t, doc.Components.Schemas, "testkit.echo.input")
		// Drivers order callbacks by sequence; outcome and errors are open objects.
		process := doc.Components.Schemas["Process"].Value
		require.Contains(t, process.Required, "sequence")
		require.Equal(t, "integer", process.Properties["sequence"].Value.Type.Slice()[0])
		for _, p := range []string{"outcome", "errors"} {
			require.True(t, process.Properties[p].Value.AdditionalProperties.Has != nil && *process.Properties[p].Value.AdditionalProperties.Has, p)
		}
		// A process's input is the body of its start request.
		start := doc.Paths.Find("/api/internal/process/randomness.delayed-stochastic-vote").Post
		require.Equal(t, "#/components/schemas/randomness.delayed-stochastic-vote.input",
			start.RequestBody.Value.Content.Get("application/json").Schema.Ref)
		require.Contains(t, doc.Components.Schemas["Event"].Value.Properties["initiator"].Value.Required, "user_id")
	}

	for _, path := range []string{"/swagger", "/swagger/", "/redoc", "/redoc/"} {
		r := s.Do("GET", path, nil)
		require.Equal(t, http.StatusOK, r.Status, path)
		require.Contains(t, string(r.Body), "swagger-ui-bundle.js", path)
	}

	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(s.URL + "/")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusFound, resp.StatusCode)
	require.Equal(t, "/swagger", resp.Header.Get("Location"))
}
