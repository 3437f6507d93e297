package github_test

import (
	"maps"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/internal/app"
	"github.com/metagov/metagov-go/internal/apptest"
	"github.com/metagov/metagov-go/plugins/github/githubfake"
)

// TestEnable checks that enabling reads the owner from the installation,
// as the app, and fetches a token; an unknown installation or a wrong
// owner is refused and nothing is stored.
func TestEnable(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		b := setup(t, db)
		require.Equal(t, 1, b.gh.TokensIssued())
		req, ok := b.gh.LastRequest("GET", "/app/installations/77")
		require.True(t, ok)
		require.Regexp(t, `^Bearer eyJ`, req.Header.Get("Authorization"), "the installation is read with the app JWT")

		r := b.gw.Do("PUT", "/api/internal/community/other", map[string]any{"plugins": []map[string]any{
			{"name": "github", "config": map[string]any{"installation_id": "78"}}}})
		r.RequireError(t, http.StatusBadGateway, "platform_error", "Not Found")
		r = b.gw.Do("PUT", "/api/internal/community/third", map[string]any{"plugins": []map[string]any{
			{"name": "github", "config": map[string]any{"installation_id": "77", "owner": "someone-else"}}}})
		body := r.RequireError(t, http.StatusBadRequest, "invalid_input", `belongs to "octo-org"`)
		require.Equal(t, "/owner", body["field"])
		r = b.gw.Do("POST", "/api/internal/plugin/github", map[string]any{"installation_id": "07"}, header...)
		require.Equal(t, http.StatusBadRequest, r.Status, string(r.Body))
	})
}

func TestActions(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		b := setup(t, db)

		r := b.action("get-installation", map[string]any{})
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		require.Equal(t, 77.0, r.JSON(t)["id"])
		require.Equal(t, owner, r.JSON(t)["account"].(map[string]any)["login"])

		r = b.action("create-issue", map[string]any{"repo_name": repoName, "title": "Hello", "body": "World"})
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		require.Equal(t, 1.0, r.JSON(t)["number"])
		require.Equal(t, "https://github.com/octo-org/governance/issues/1", r.JSON(t)["html_url"])
		req, ok := b.gh.LastRequest("POST", "/repos/octo-org/governance/issues")
		require.True(t, ok)
		require.Equal(t, map[string]any{"title": "Hello", "body": "World"}, req.JSON())
		require.Regexp(t, `^Bearer ghs_`, req.Header.Get("Authorization"))

		// method: the route's placeholders are filled, the rest is the body
		// of a POST ...
		r = b.action("method", map[string]any{"route": "/repos/{owner}/{repo}/issues/{issue_number}/comments", "method": "POST",
			"repo": repoName, "issue_number": 1, "body": "A comment"})
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		require.Equal(t, "A comment", r.JSON(t)["body"])
		req, _ = b.gh.LastRequest("POST", "/repos/octo-org/governance/issues/1/comments")
		require.Equal(t, map[string]any{"body": "A comment"}, req.JSON())
		// ... and the query of a GET.
		b.gh.React(owner, repoName, 1, "alice", "+1")
		b.gh.React(owner, repoName, 1, "bob", "-1")
		r = b.gw.Do("POST", "/api/internal/action/github.method", map[string]any{"parameters": map[string]any{
			"route": "/repos/{owner}/{repo}/issues/1/reactions", "repo": repoName, "content": "+1"}}, header...)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		require.Contains(t, string(r.Body), `"login":"alice"`)
		require.NotContains(t, string(r.Body), `"login":"bob"`)
		req, _ = b.gh.LastRequest("GET", "/repos/octo-org/governance/issues/1/reactions")
		require.Equal(t, "content=%2B1", req.Query)
		require.Empty(t, req.Body)
		r = b.action("method", map[string]any{"route": "/repos/{owner}/{repo}", "repo": repoName})
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		require.Equal(t, "octo-org/governance", r.JSON(t)["full_name"])

		// Routes that would leave the API, or name what is not given.
		for _, route := range []string{"/repos/{nope}", "//evil.example/x", "/repos/../../x"} {
			r = b.action("method", map[string]any{"route": route})
			body := r.RequireError(t, http.StatusBadRequest, "invalid_input")
			require.Equal(t, "/route", body["field"], route)
		}
		// GitHub's own errors reach the driver (the original returned null).
		r = b.action("method", map[string]any{"route": "/repos/{owner}/missing"})
		r.RequireError(t, http.StatusBadGateway, "platform_error", "Not Found")
	})
}

// TestActionFailures checks how GitHub's failures reach the driver: a 422
// is the caller's input, a 500 the platform's failure, no answer a
// timeout.
func TestActionFailures(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		b := setup(t, db)
		create := map[string]any{"repo_name": repoName, "title": "Hello", "body": "World"}
		path := "/repos/octo-org/governance/issues"

		b.gh.FailNext("POST", path, http.StatusUnprocessableEntity, "title is too long")
		r := b.action("create-issue", create)
		body := r.RequireError(t, http.StatusUnprocessableEntity, "platform_rejected", "Validation Failed", "title is too long")
		require.Equal(t, "/title", body["field"])

		b.gh.FailNext("POST", path, http.StatusInternalServerError, "Server Error")
		r = b.action("create-issue", create)
		r.RequireError(t, http.StatusBadGateway, "platform_error", "Server Error")

		b.gh.HangNext("POST", path)
		start := time.Now()
		r = b.action("create-issue", create)
		r.RequireError(t, http.StatusGatewayTimeout, "platform_timeout")
		require.Less(t, time.Since(start), 15*time.Second)

		b.gh.FailNext("POST", "/repos/octo-org/governance/issues/1/comments", http.StatusUnprocessableEntity, "body is too long")
		r = b.action("method", map[string]any{"route": "/repos/{owner}/governance/issues/1/comments", "method": "POST", "body": "x"})
		r.RequireError(t, http.StatusUnprocessableEntity, "platform_rejected", "body is too long")

		// Nothing was created by the failed calls.
		_, ok := b.gh.Issue(owner, repoName, 1)
		require.False(t, ok)
	})
}

// TestTokenRefresh checks that the installation token is renewed before it
// expires, by the gateway's clock, and once when GitHub answers 401.
func TestTokenRefresh(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		b := setup(t, db)
		create := map[string]any{"repo_name": repoName, "title": "Hello", "body": "World"}
		r := b.action("create-issue", create)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		require.Equal(t, 1, b.gh.TokensIssued(), "the token fetched on enable is reused")

		// 56 minutes on, the hour-long token is within five minutes of its
		// expiry: a new one is fetched before the call.
		b.clock.Advance(56 * time.Minute)
		r = b.action("create-issue", create)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		require.Equal(t, 2, b.gh.TokensIssued())
		r = b.action("create-issue", create)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		require.Equal(t, 2, b.gh.TokensIssued())

		// A revoked token: GitHub answers 401, the plugin fetches a new
		// token and sends the request again, once.
		b.gh.RevokeTokens()
		n := len(b.gh.Requests())
		r = b.action("create-issue", create)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		require.Equal(t, 3, b.gh.TokensIssued())
		var posts []string
		for _, req := range b.gh.Requests()[n:] {
			posts = append(posts, req.Method+" "+req.Path)
		}
		require.Equal(t, []string{"POST /repos/octo-org/governance/issues", "POST /app/installations/77/access_tokens",
			"POST /repos/octo-org/governance/issues"}, posts)
		is, ok := b.gh.Issue(owner, repoName, 4)
		require.True(t, ok)
		require.Equal(t, "World", is.Body, "the body was sent again on the retry")

		// A 401 that persists is not retried forever.
		b.gh.FailNext("POST", "/repos/octo-org/governance/issues", http.StatusUnauthorized, "Bad credentials")
		b.gh.FailNext("POST", "/repos/octo-org/governance/issues", http.StatusUnauthorized, "Bad credentials")
		r = b.action("create-issue", create)
		r.RequireError(t, http.StatusBadGateway, "platform_error", "Bad credentials")
		require.Equal(t, 4, b.gh.TokensIssued())
	})
}

// TestEnableWithoutAppSettings checks that a gateway missing the GitHub
// App's settings says which ones (never their values), as the operator's
// problem, and enables nothing.
func TestEnableWithoutAppSettings(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		gh := githubfake.New(t, githubfake.Options{})
		gh.AddInstallation(installationID, owner)
		for _, tc := range []struct {
			name    string
			drop    string
			replace map[string]string
			want    []string
		}{
			{name: "no app id", drop: "GITHUB_APP_ID", want: []string{"GITHUB_APP_ID"}},
			{name: "no key", drop: "GITHUB_PRIVATE_KEY", want: []string{"GITHUB_PRIVATE_KEY_PATH or GITHUB_PRIVATE_KEY"}},
			{name: "bad key", replace: map[string]string{"GITHUB_PRIVATE_KEY": "-----BEGIN NOTHING-----"},
				want: []string{"GITHUB_PRIVATE_KEY", "not an RSA private key"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				settings := gh.Settings()
				delete(settings, tc.drop)
				maps.Copy(settings, tc.replace)
				gw := apptest.Start(t, db, app.Config{Settings: settingsOf(settings)})
				slug := "unconfigured-" + strings.ReplaceAll(tc.name, " ", "-")
				r := gw.Do("PUT", "/api/internal/community/"+slug, map[string]any{"plugins": []map[string]any{
					{"name": "github", "config": map[string]any{"installation_id": "77"}}}})
				body := r.RequireError(t, http.StatusInternalServerError, "plugin_not_configured", tc.want...)
				require.NotContains(t, body["detail"], "BEGIN", "setting values are never shown")
				require.Equal(t, http.StatusNotFound, gw.Do("GET", "/api/internal/community/"+slug, nil).Status, "nothing is half written")
				gw.Stop()
			})
		}
	})
}
