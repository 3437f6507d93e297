package discord_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/internal/app"
	"github.com/metagov/metagov-go/internal/apptest"
	"github.com/metagov/metagov-go/plugins/discord/discordfake"
)

// installBundle is a gateway whose Discord app is installed through the
// fake Discord's OAuth2 page, and a driver's redirect_uri.
type installBundle struct {
	fake   *discordfake.Fake
	s      *apptest.Server
	driver string
}

// startInstall starts a gateway with the communities slugs, none of which
// has Discord yet.
func startInstall(t *testing.T, db apptest.Database, slugs ...string) *installBundle {
	t.Helper()
	driver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("driver")) }))
	t.Cleanup(driver.Close)
	b := &installBundle{fake: discordfake.New(t), driver: driver.URL + "/discord/installed"}
	b.s = apptest.Start(t, db, app.Config{Settings: settings(b.fake), OAuthRedirectAllow: driver.URL + "/discord/"})
	for _, slug := range slugs {
		r := b.s.Do("PUT", "/api/internal/community/"+slug, map[string]any{"readable_name": slug})
		require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
	}
	return b
}

func (b *installBundle) authorize(q url.Values) string {
	if q.Get("redirect_uri") == "" {
		q.Set("redirect_uri", b.driver)
	}
	return b.s.URL + "/auth/discord/authorize?" + q.Encode()
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

// discordConfigs returns the community's Discord instances' configs.
func (b *installBundle) discordConfigs(t *testing.T, slug string) []map[string]any {
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
		if p.Name == "discord" {
			out = append(out, p.Config)
		}
	}
	return out
}

// TestInstall: the bot install creates the guild's instance, links the
// installer, and the instance then works; installing again replaces it; a
// guild installed in another community is refused with the original's
// code.
func TestInstall(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		b := startInstall(t, db, community, "elsewhere")

		// The authorize URL carries the bot's permissions (the original
		// sent the text {DISCORD_PERMISSIONS}).
		noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := noFollow.Get(b.authorize(url.Values{"type": {"app"}, "community": {community}}))
		require.NoError(t, err)
		resp.Body.Close()
		to, err := url.Parse(resp.Header.Get("Location"))
		require.NoError(t, err)
		assert.Equal(t, "/api/oauth2/authorize", to.Path)
		assert.Equal(t, "397821540358", to.Query().Get("permissions"))
		assert.Equal(t, "applications.commands bot identify guilds", to.Query().Get("scope"))

		back := walk(t, b.authorize(url.Values{"type": {"app"}, "community": {community}, "state": {"policykit-7"}}))
		require.Empty(t, back.Get("error"), back.Encode())
		assert.Equal(t, "policykit-7", back.Get("state"))
		assert.Equal(t, community, back.Get("community"))
		assert.Equal(t, discordfake.Admin, back.Get("user_id"))
		assert.Equal(t, discordfake.GuildID, back.Get("guild_id"))
		tok, ok := b.fake.Last("POST", "/v10/oauth2/token")
		require.True(t, ok)
		form, _ := url.ParseQuery(string(tok.Body))
		assert.Equal(t, b.s.URL+"/auth/discord/callback", form.Get("redirect_uri"))

		configs := b.discordConfigs(t, community)
		require.Len(t, configs, 1)
		assert.Equal(t, map[string]any{"guild_id": discordfake.GuildID, "guild_name": discordfake.GuildName}, configs[0])

		r := b.s.Do("POST", "/api/internal/oauth/token", map[string]any{"ref": back.Get("user_token_ref")})
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		assert.Equal(t, "user-token-app", r.JSON(t)["user_token"])

		r = b.s.Do("GET", "/api/internal/identity/get_users?community="+community+"&platform_type=discord", nil)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		var users []map[string]any
		require.NoError(t, json.Unmarshal(r.Body, &users))
		require.Len(t, users, 1)
		acct := users[0]["linked_accounts"].([]any)[0].(map[string]any)
		assert.Equal(t, discordfake.Admin, acct["platform_identifier"])
		assert.Equal(t, discordfake.GuildID, acct["community_platform_id"])
		assert.Equal(t, "oauth", acct["link_type"])

		// The installed instance works with the application's bot token.
		r = b.s.Do("POST", "/api/internal/action/discord.get-guild", map[string]any{"parameters": map[string]any{}},
			"X-Metagov-Community", community)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))

		// Installing again replaces the instance; another community may
		// not take the guild.
		require.Empty(t, walk(t, b.authorize(url.Values{"community": {community}})).Get("error"))
		require.Len(t, b.discordConfigs(t, community), 1)
		back = walk(t, b.authorize(url.Values{"community": {"elsewhere"}, "state": {"s2"}}))
		assert.Equal(t, "discord_wrong_community", back.Get("error"), back.Encode())
		assert.Empty(t, b.discordConfigs(t, "elsewhere"))
	})
}

// TestLogin: a person who signs in with Discord is linked in the community
// of a guild of theirs that installed the app, and the driver gets every
// such guild as guild[]; without one, discord_plugin_not_installed.
func TestLogin(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		b := startInstall(t, db, community)
		back := walk(t, b.authorize(url.Values{"type": {"user"}, "state": {"login"}}))
		require.Equal(t, "discord_plugin_not_installed", back.Get("error"), back.Encode())

		require.Empty(t, walk(t, b.authorize(url.Values{"community": {community}})).Get("error"))
		back = walk(t, b.authorize(url.Values{"type": {"user"}, "state": {"login"}}))
		require.Empty(t, back.Get("error"), back.Encode())
		assert.Equal(t, discordfake.Member, back.Get("user_id"))
		assert.Equal(t, []string{discordfake.GuildID + ":" + discordfake.GuildName}, back["guild[]"])
		assert.Equal(t, "login", back.Get("state"))

		r := b.s.Do("GET", "/api/internal/identity/get_users?community="+community+"&platform_type=discord&platform_identifier="+discordfake.Member, nil)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		var users []map[string]any
		require.NoError(t, json.Unmarshal(r.Body, &users))
		require.Len(t, users, 1)

		// A code Discord does not know is refused with Discord's own code.
		noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := noFollow.Get(b.authorize(url.Values{"type": {"user"}, "state": {"x"}}))
		require.NoError(t, err)
		resp.Body.Close()
		resp, err = noFollow.Get(resp.Header.Get("Location")) // Discord's page
		require.NoError(t, err)
		resp.Body.Close()
		cb, err := url.Parse(resp.Header.Get("Location"))
		require.NoError(t, err)
		q := cb.Query()
		q.Set("code", "not-a-code")
		cb.RawQuery = q.Encode()
		back = walk(t, cb.String())
		assert.Equal(t, "discord_invalid_grant", back.Get("error"), back.Encode())
	})
}
