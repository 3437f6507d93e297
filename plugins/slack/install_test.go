package slack_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/internal/app"
	"github.com/metagov/metagov-go/internal/apptest"
	"github.com/metagov/metagov-go/plugins/slack/slackfake"
)

// installBundle is a gateway whose Slack app is installed through the fake
// Slack's OAuth page, and a driver's redirect_uri.
type installBundle struct {
	fake   *slackfake.Fake
	s      *apptest.Server
	driver string // the driver's redirect_uri
}

// startInstall starts a gateway with the communities slugs, none of which
// has Slack yet.
func startInstall(t *testing.T, db apptest.Database, slugs ...string) *installBundle {
	t.Helper()
	return startInstallWith(t, db, app.Config{}, slugs...)
}

// startInstallWith is startInstall with a config of the test's.
func startInstallWith(t *testing.T, db apptest.Database, cfg app.Config, slugs ...string) *installBundle {
	t.Helper()
	driver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("driver")) }))
	t.Cleanup(driver.Close)
	b := &installBundle{fake: slackfake.New(t), driver: driver.URL + "/slack/installed"}
	cfg.Settings, cfg.OAuthRedirectAllow = settings(b.fake), driver.URL+"/slack/"
	b.s = apptest.Start(t, db, cfg)
	for _, slug := range slugs {
		r := b.s.Do("PUT", "/api/internal/community/"+slug, map[string]any{"readable_name": slug})
		require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
	}
	return b
}

// authorize is the driver's link to the install page.
func (b *installBundle) authorize(q url.Values) string {
	if q.Get("redirect_uri") == "" {
		q.Set("redirect_uri", b.driver)
	}
	return b.s.URL + "/auth/slack/authorize?" + q.Encode()
}

// walk follows the redirects a browser would, through the gateway, the
// fake Slack's authorize page and back, and returns the query the driver
// receives.
func walk(t *testing.T, start string) url.Values {
	t.Helper()
	resp, err := http.Get(start)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, resp.Request.URL.String())
	return resp.Request.URL.Query()
}

// slackConfig returns the community's Slack instances' configs by team.
func (b *installBundle) slackConfig(t *testing.T, slug string) []map[string]any {
	t.Helper()
	r := b.s.Do("GET", "/api/internal/community/"+slug, nil)
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
		if p.Name == "slack" {
			out = append(out, p.Config)
		}
	}
	return out
}

// TestInstall walks a driver's install with a real HTTP client: the
// workspace admin's install creates the instance with the bot token, links
// the admin's account, gives the driver the admin's user token once, and
// the instance then works; installing again replaces the config.
func TestInstall(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		b := startInstall(t, db, community)
		back := walk(t, b.authorize(url.Values{"type": {"app"}, "community": {community}, "state": {"policykit-7"}}))
		require.Empty(t, back.Get("error"), back.Encode())
		require.Equal(t, "policykit-7", back.Get("state"))
		require.Equal(t, community, back.Get("community"))
		require.Equal(t, slackfake.Admin, back.Get("user_id"))
		require.Empty(t, back.Get("user_token"))

		authorize := b.fake.CallsOf("oauth.v2.access")
		require.Len(t, authorize, 1)
		require.Equal(t, slackfake.ClientID, authorize[0].Args["client_id"])
		require.Len(t, b.fake.CallsOf("users.info"), 1)
		require.Equal(t, slackfake.BotToken, b.fake.CallsOf("users.info")[0].Token)

		configs := b.slackConfig(t, community)
		require.Len(t, configs, 1)
		require.Equal(t, map[string]any{"team_id": slackfake.TeamID, "team_name": slackfake.TeamName, "bot_token": "********",
			"bot_user_id": slackfake.BotUserID, "installer_user_id": slackfake.Admin, "installer_user_token": "********"}, configs[0])

		r := b.s.Do("POST", "/api/internal/oauth/token", map[string]any{"ref": back.Get("user_token_ref")})
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		require.Equal(t, slackfake.AdminToken, r.JSON(t)["user_token"])

		r = b.s.Do("GET", "/api/internal/identity/get_users?community="+community+"&platform_type=slack", nil)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		var users []map[string]any
		require.NoError(t, json.Unmarshal(r.Body, &users))
		require.Len(t, users, 1)
		acct := users[0]["linked_accounts"].([]any)[0].(map[string]any)
		require.Equal(t, slackfake.Admin, acct["platform_identifier"])
		require.Equal(t, slackfake.TeamID, acct["community_platform_id"])
		require.Equal(t, "oauth", acct["link_type"])
		require.Equal(t, "confirmed (strong)", acct["link_quality"])

		// The installed instance posts with the bot token it was given.
		r = b.s.Do("POST", "/api/internal/action/slack.post-message", map[string]any{"parameters": map[string]any{
			"channel": slackfake.General, "text": "installed"}}, "X-Metagov-Community", community)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		require.Equal(t, slackfake.BotToken, b.fake.CallsOf("chat.postMessage")[0].Token)

		// And receives the workspace's events.
		req, _ := b.fake.Event(slackfake.TeamID, map[string]any{"type": "app_mention", "user": slackfake.Member,
			"text": "<@" + slackfake.BotUserID + "> hi", "channel": slackfake.General, "ts": "1700000001.000100"})
		reply, err := req.Send(b.s.URL + "/api/hooks/slack")
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, reply.Status, reply.Body)
		r = b.s.Do("GET", "/api/internal/events?after=0", nil)
		require.Contains(t, string(r.Body), `"event_type":"app_mention"`)

		// Installing again replaces the instance.
		back = walk(t, b.authorize(url.Values{"community": {community}, "state": {"again"}}))
		require.Empty(t, back.Get("error"), back.Encode())
		require.Len(t, b.slackConfig(t, community), 1)
	})
}

// TestInstallRefusals: a member who is not an admin, a workspace installed
// in another community, a replayed callback and a foreign redirect_uri.
func TestInstallRefusals(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		b := startInstall(t, db, "first", "second")

		b.fake.AuthorizeAs(slackfake.Member)
		back := walk(t, b.authorize(url.Values{"community": {"first"}, "state": {"s1"}}))
		require.Equal(t, "slack_installer_is_not_admin", back.Get("error"), back.Encode())
		require.Equal(t, "s1", back.Get("state"))
		require.Empty(t, b.slackConfig(t, "first"))

		b.fake.AuthorizeAs(slackfake.Admin)
		back = walk(t, b.authorize(url.Values{"community": {"first"}, "state": {"s2"}}))
		require.Empty(t, back.Get("error"), back.Encode())
		back = walk(t, b.authorize(url.Values{"community": {"second"}, "state": {"s3"}}))
		require.Equal(t, "slack_wrong_community", back.Get("error"), back.Encode())
		require.Empty(t, b.slackConfig(t, "second"))

		// A callback replayed: the first completes, the second is refused.
		noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := noFollow.Get(b.authorize(url.Values{"community": {"first"}, "state": {"s4"}}))
		require.NoError(t, err)
		resp.Body.Close()
		resp, err = noFollow.Get(resp.Header.Get("Location")) // Slack's authorize page
		require.NoError(t, err)
		resp.Body.Close()
		callback := resp.Header.Get("Location")
		require.Empty(t, walk(t, callback).Get("error"))
		require.Equal(t, "state_already_used", walk(t, callback).Get("error"))

		resp, err = noFollow.Get(b.authorize(url.Values{"community": {"first"}, "redirect_uri": {"https://evil.example/slack/installed"}}))
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	})
}

// TestLogin links a person who signs in with Slack to the community that
// installed their workspace.
func TestLogin(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		b := startInstall(t, db, community)
		b.fake.AuthorizeAs(slackfake.Member)
		back := walk(t, b.authorize(url.Values{"type": {"user"}, "state": {"login"}}))
		require.Equal(t, "slack_plugin_not_installed", back.Get("error"), back.Encode())

		b.fake.AuthorizeAs(slackfake.Admin)
		require.Empty(t, walk(t, b.authorize(url.Values{"community": {community}})).Get("error"))
		b.fake.AuthorizeAs(slackfake.Member)
		back = walk(t, b.authorize(url.Values{"type": {"user"}, "state": {"login"}}))
		require.Empty(t, back.Get("error"), back.Encode())
		require.Equal(t, slackfake.Member, back.Get("user_id"))
		require.Equal(t, slackfake.TeamID, back.Get("team_id"))
		authorize := b.fake.CallsOf("oauth.v2.access")
		require.Len(t, authorize, 3)

		r := b.s.Do("GET", "/api/internal/identity/get_users?community="+community+"&platform_type=slack&platform_identifier="+slackfake.Member, nil)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		var users []map[string]any
		require.NoError(t, json.Unmarshal(r.Body, &users))
		require.Len(t, users, 1)
		require.Equal(t, "confirmed (strong)", users[0]["linked_accounts"].([]any)[0].(map[string]any)["link_quality"])
	})
}

// TestInstallLegacyDriver: with METAGOV_LEGACY_DRIVER the redirect carries
// what PolicyKit's Slack install view reads: community, user_id and the
// installer's user_token.
func TestInstallLegacyDriver(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		b := startInstallWith(t, db, app.Config{LegacyDriver: true}, community)
		back := walk(t, b.authorize(url.Values{"community": {community}, "state": {"pk"}}))
		require.Empty(t, back.Get("error"), back.Encode())
		require.Equal(t, community, back.Get("community"))
		require.Equal(t, slackfake.Admin, back.Get("user_id"))
		require.Equal(t, slackfake.AdminToken, back.Get("user_token"))
	})
}
