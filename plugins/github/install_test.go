package github_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/internal/app"
	"github.com/metagov/metagov-go/internal/apptest"
	"github.com/metagov/metagov-go/plugins/github/githubfake"
)

// installBundle is a gateway whose GitHub App is installed through the
// fake GitHub's install page, and a driver's redirect_uri.
type installBundle struct {
	gh     *githubfake.Server
	gw     *apptest.Server
	clock  *clock
	driver string
}

func startInstall(t *testing.T, db apptest.Database) *installBundle {
	t.Helper()
	driver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("driver")) }))
	t.Cleanup(driver.Close)
	b := &installBundle{clock: &clock{}, driver: driver.URL + "/github/installed"}
	b.gh = githubfake.New(t, githubfake.Options{Now: b.clock.Now})
	b.gh.AddRepo("octo-org", repoName)
	b.gw = apptest.Start(t, db, app.Config{Now: b.clock.Now, Settings: settingsOf(b.gh.Settings()), OAuthRedirectAllow: driver.URL + "/github/"})
	b.gh.SetSetupURL(b.gw.URL + "/auth/github/callback")
	r := b.gw.Do("PUT", "/api/internal/community/"+community, map[string]any{"readable_name": "Code"})
	require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
	return b
}

func (b *installBundle) authorize(q url.Values) string {
	q.Set("redirect_uri", b.driver)
	return b.gw.URL + "/auth/github/authorize?" + q.Encode()
}

// walk follows the redirects a browser would and returns the query the
// driver receives.
func walk(t *testing.T, start string) url.Values {
	t.Helper()
	resp, err := http.Get(start)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, resp.Request.URL.String())
	return resp.Request.URL.Query()
}

// githubConfigs returns the community's github instances' configs.
func (b *installBundle) githubConfigs(t *testing.T) []map[string]any {
	t.Helper()
	r := b.gw.Do("GET", "/api/internal/community/"+community, nil)
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	var c struct {
		Plugins []struct {
			Name   string         `json:"name"`
			Config map[string]any `json:"config"`
		} `json:"plugins"`
	}
	require.NoError(t, json.Unmarshal(r.Body, &c))
	var out []map[string]any
	for _, p := range c.Plugins {
		if p.Name == "github" {
			out = append(out, p.Config)
		}
	}
	return out
}

// TestInstall walks a driver's install of the app with a real HTTP client:
// GitHub sends back installation_id and no code (the app requests no user
// authorization), and the instance is created and initialised, so it works
// at once (the original required a code, and skipped the initialisation).
func TestInstall(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		b := startInstall(t, db)
		b.gh.InstallOnVisit(88, "octo-org")
		back := walk(t, b.authorize(url.Values{"type": {"app"}, "community": {community}, "state": {"policykit-7"}}))
		require.Empty(t, back.Get("error"), back.Encode())
		require.Equal(t, "policykit-7", back.Get("state"))
		require.Equal(t, community, back.Get("community"))
		require.Equal(t, []map[string]any{{"installation_id": "88", "owner": "octo-org"}}, b.githubConfigs(t))
		require.Equal(t, 1, b.gh.TokensIssued(), "the installation was initialised")

		r := b.gw.Do("POST", "/api/internal/action/github.create-issue",
			map[string]any{"parameters": map[string]any{"repo_name": repoName, "title": "Hello", "body": "World"}}, header...)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		_, ok := b.gh.LastRequest("POST", "/repos/octo-org/governance/issues")
		require.True(t, ok, "the owner came from the installation (the original posted to /repos/None/...)")
	})
}

// TestInstallRefused checks the callbacks that must not install: an
// installation_id typed by hand for an installation made long ago, one
// that does not exist, a request awaiting approval, and a user login.
func TestInstallRefused(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		b := startInstall(t, db)
		b.gh.AddInstallation(77, "someone-else")
		b.clock.Advance(2 * time.Hour)
		noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		// state returns the gateway's state for a new install.
		state := func() string {
			resp, err := noFollow.Get(b.authorize(url.Values{"community": {community}}))
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, http.StatusFound, resp.StatusCode)
			loc, err := url.Parse(resp.Header.Get("Location"))
			require.NoError(t, err)
			require.Equal(t, "/apps/metagov-test/installations/new", loc.Path)
			return loc.Query().Get("state")
		}
		callback := func(q url.Values) url.Values {
			q.Set("state", state())
			return walk(t, b.gw.URL+"/auth/github/callback?"+q.Encode())
		}
		back := callback(url.Values{"installation_id": {"77"}, "setup_action": {"install"}})
		require.Equal(t, "github_installation_unverified", back.Get("error"), back.Encode())
		back = callback(url.Values{"installation_id": {"12345"}, "setup_action": {"install"}})
		require.Equal(t, "github_invalid_installation", back.Get("error"), back.Encode())
		back = callback(url.Values{"installation_id": {"77"}, "setup_action": {"request"}})
		require.Equal(t, "github_installation_requested", back.Get("error"), back.Encode())
		back = callback(url.Values{"setup_action": {"install"}})
		require.Equal(t, "server_error", back.Get("error"), "without installation_id or code: %s", back.Encode())
		require.Empty(t, b.githubConfigs(t))

		r := b.gw.Do("GET", "/auth/github/authorize?type=user&redirect_uri="+url.QueryEscape(b.driver), nil)
		r.RequireError(t, http.StatusBadRequest, "github_user_login_unsupported")
	})
}
