package httpapi_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/internal/app"
	"github.com/metagov/metagov-go/internal/apptest"
	"github.com/metagov/metagov-go/internal/core"
)

// oauthEnv is a gateway with oauthkit pointed at a fake provider, and a
// driver's page to come back to.
type oauthEnv struct {
	s      *apptest.Server
	fake   *fakeProvider
	driver *httptest.Server
	clock  *testClock
}

type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func startOAuth(t *testing.T, db apptest.Database, cfg app.Config) *oauthEnv {
	t.Helper()
	e := &oauthEnv{fake: newFakeProvider(t), clock: &testClock{now: time.Now()}}
	e.driver = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "back at the driver")
	}))
	t.Cleanup(e.driver.Close)
	cfg.Settings = e.fake.settings
	if cfg.OAuthRedirectAllow == "" {
		cfg.OAuthRedirectAllow = "https://unrelated.example/, " + e.driver.URL + "/oauth/"
	}
	cfg.Now = e.clock.Now
	e.s = apptest.Start(t, db, cfg)
	return e
}

// noFollow gets a URL without following redirects.
func noFollow(t *testing.T, rawURL string) *http.Response {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(rawURL)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// walk follows every redirect from rawURL, as the user's browser does, and
// returns the query the driver's page received.
func (e *oauthEnv) walk(t *testing.T, rawURL string) url.Values {
	t.Helper()
	resp, err := http.Get(rawURL)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	require.Equal(t, "back at the driver", string(body))
	require.True(t, strings.HasPrefix(resp.Request.URL.String(), e.driver.URL+"/oauth/"), resp.Request.URL.String())
	return resp.Request.URL.Query()
}

func (e *oauthEnv) authorizeURL(params url.Values) string {
	if params.Get("redirect_uri") == "" {
		params.Set("redirect_uri", e.driver.URL+"/oauth/done")
	}
	return e.s.URL + "/auth/oauthkit/authorize?" + params.Encode()
}

// toPlatform starts an install and returns the platform's authorization
// URL the gateway redirected to.
func (e *oauthEnv) toPlatform(t *testing.T, params url.Values) *url.URL {
	t.Helper()
	resp := noFollow(t, e.authorizeURL(params))
	require.Equal(t, http.StatusFound, resp.StatusCode)
	loc, err := url.Parse(resp.Header.Get("Location"))
	require.NoError(t, err)
	require.Equal(t, e.fake.srv.URL+"/authorize", loc.Scheme+"://"+loc.Host+loc.Path)
	return loc
}

// consent has the fake provider answer an authorization URL and returns
// the gateway callback URL it redirects to.
func (e *oauthEnv) consent(t *testing.T, platform *url.URL) string {
	t.Helper()
	resp := noFollow(t, platform.String())
	require.Equal(t, http.StatusFound, resp.StatusCode)
	cb := resp.Header.Get("Location")
	require.True(t, strings.HasPrefix(cb, e.s.URL+"/auth/oauthkit/callback?"), cb)
	return cb
}

// TestOAuthDriverFlow walks a driver's install with a real HTTP client
// following redirects: the community is created, the bot token stored as a
// secret, the installer linked, and the user token fetched once.
func TestOAuthDriverFlow(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		e := startOAuth(t, db, app.Config{})
		back := e.walk(t, e.authorizeURL(url.Values{"state": {"driver-state-42"}}))
		require.Equal(t, "driver-state-42", back.Get("state"))
		require.Equal(t, "U1", back.Get("user_id"), "the plugin's extra parameters")
		require.Empty(t, back.Get("error"), back.Encode())
		require.Empty(t, back.Get("user_token"), "the token never travels in the redirect by default")
		slug := back.Get("community")
		require.NotEmpty(t, slug, "a community is created when the driver names none")
		ref := back.Get("user_token_ref")
		require.NotEmpty(t, ref)

		r := e.s.Do("GET", "/api/internal/community/"+slug, nil)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		var community struct {
			Plugins []struct {
				Name                string         `json:"name"`
				AuthType            string         `json:"auth_type"`
				CommunityPlatformID string         `json:"community_platform_id"`
				Config              map[string]any `json:"config"`
			} `json:"plugins"`
		}
		require.NoError(t, json.Unmarshal(r.Body, &community))
		require.Len(t, community.Plugins, 1)
		p := community.Plugins[0]
		require.Equal(t, "oauthkit", p.Name)
		require.Equal(t, "oauth", p.AuthType)
		require.Equal(t, "acme", p.CommunityPlatformID)
		require.Equal(t, "********", p.Config["bot_token"], "tokens are write-only secrets")
		require.Equal(t, "U1", p.Config["installer"])

		// The instance has the real token.
		r = e.s.Do("POST", "/api/internal/action/oauthkit.bot-token", map[string]any{}, "X-Metagov-Community", slug)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		require.Equal(t, "bot-acme-1", r.JSON(t)["bot_token"])

		// The installer is linked, strongly, through oauth.
		r = e.s.Do("GET", "/api/internal/identity/get_users?community="+slug, nil)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		users := jsonArray(t, r.Body)
		require.Len(t, users, 1)
		accounts := users[0]["linked_accounts"].([]any)
		require.Len(t, accounts, 1)
		acct := accounts[0].(map[string]any)
		require.Equal(t, "U1", acct["platform_identifier"])
		require.Equal(t, "oauthkit", acct["platform_type"])
		require.Equal(t, "acme", acct["community_platform_id"])
		require.Equal(t, "oauth", acct["link_type"])
		require.Equal(t, "confirmed (strong)", acct["link_quality"])

		// The user token, once.
		r = e.s.Do("POST", "/api/internal/oauth/token", map[string]any{"ref": ref})
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		tok := r.JSON(t)
		require.Equal(t, "utok-U1", tok["user_token"])
		require.Equal(t, "U1", tok["user_id"])
		require.Equal(t, slug, tok["community"])
		e.s.Do("POST", "/api/internal/oauth/token", map[string]any{"ref": ref}).RequireError(t, http.StatusNotFound, "token_not_found")
		e.s.Do("POST", "/api/internal/oauth/token", map[string]any{}).RequireError(t, http.StatusBadRequest, "missing_parameter")

		// The audit log tells how the community and plugin came.
		r = e.s.Do("GET", "/api/internal/audit", nil)
		require.Equal(t, http.StatusOK, r.Status)
		require.Contains(t, string(r.Body), `"via":"oauth"`)
	})
}

// TestOAuthAuthorizeSignsState: the state handed to the platform is signed;
// a tampered, forged, missing or foreign state is refused with a JSON
// error and installs nothing.
func TestOAuthAuthorizeSignsState(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		e := startOAuth(t, db, app.Config{})
		platform := e.toPlatform(t, url.Values{"state": {"abc"}})
		q := platform.Query()
		require.Equal(t, fakeClientID, q.Get("client_id"))
		require.Equal(t, e.s.URL+"/auth/oauthkit/callback", q.Get("redirect_uri"))
		state := q.Get("state")
		body, sig, ok := strings.Cut(state, ".")
		require.True(t, ok, "payload.signature: %s", state)
		require.NotEmpty(t, sig)
		payload, err := base64.RawURLEncoding.DecodeString(body)
		require.NoError(t, err)
		require.Contains(t, string(payload), `"s":"abc"`, "the driver's state rides inside ours")

		// Change where the user is sent back, keep the signature.
		tampered := base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(payload), e.driver.URL, "https://evil.example", 1))) + "." + sig
		cb := e.s.URL + "/auth/oauthkit/callback?" + url.Values{"code": {"x"}, "state": {tampered}}.Encode()
		resp := noFollow(t, cb)
		require.Equal(t, http.StatusBadRequest, resp.StatusCode)
		r := e.s.Do("GET", strings.TrimPrefix(cb, e.s.URL), nil)
		r.RequireError(t, http.StatusBadRequest, "invalid_state")

		for _, bad := range []string{"not-a-state", body + ".AAAA", body, "." + sig} {
			r := e.s.Do("GET", "/auth/oauthkit/callback?"+url.Values{"code": {"x"}, "state": {bad}}.Encode(), nil)
			r.RequireError(t, http.StatusBadRequest, "invalid_state")
		}
		e.s.Do("GET", "/auth/oauthkit/callback?code=x", nil).RequireError(t, http.StatusBadRequest, "missing_state")
		// A genuine state is for its own plugin's callback only.
		e.s.Do("GET", "/auth/testkit/callback?"+url.Values{"code": {"x"}, "state": {state}}.Encode(), nil).RequireError(t,
			http.StatusNotFound, "oauth_not_supported")

		require.Equal(t, 0, e.fake.exchanges, "no code was exchanged")

		// The genuine state still completes.
		back := e.walk(t, e.consent(t, platform))
		require.Empty(t, back.Get("error"))
		require.Equal(t, "abc", back.Get("state"))
	})
}

// TestOAuthAuthorizeRefusals: bad driver parameters are JSON 4xx errors,
// and nothing is created.
func TestOAuthAuthorizeRefusals(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		e := startOAuth(t, db, app.Config{})
		require.Equal(t, http.StatusCreated, e.s.Do("PUT", "/api/internal/community/town", map[string]any{}).Status)
		good := e.driver.URL + "/oauth/done"
		for _, tc := range []struct {
			name   string
			path   string
			params url.Values
			status int
			code   string
		}{
			{"foreign redirect_uri", "oauthkit", url.Values{"redirect_uri": {"https://evil.example/oauth/done"}}, 400, "redirect_uri_not_allowed"},
			{"prefix without a boundary", "oauthkit", url.Values{"redirect_uri": {e.driver.URL + "/oauth-evil"}}, 400, "redirect_uri_not_allowed"},
			{"allowed host, other port", "oauthkit", url.Values{"redirect_uri": {e.driver.URL + "0/oauth/done"}}, 400, "redirect_uri_not_allowed"},
			{"not http", "oauthkit", url.Values{"redirect_uri": {"javascript:alert(1)//" + good}}, 400, "invalid_redirect_uri"},
			{"redirect_uri too long", "oauthkit", url.Values{"redirect_uri": {good + "?" + strings.Repeat("x", 2100)}}, 400, "invalid_redirect_uri"},
			{"state too long", "oauthkit", url.Values{"redirect_uri": {good}, "state": {strings.Repeat("s", 2100)}}, 400, "invalid_state"},
			{"bad type", "oauthkit", url.Values{"redirect_uri": {good}, "type": {"bot"}}, 400, "invalid_type"},
			{"malformed community", "oauthkit", url.Values{"redirect_uri": {good}, "community": {"no/such"}}, 400, "invalid_community"},
			{"bad metagov_id", "oauthkit", url.Values{"redirect_uri": {good}, "community": {"town"}, "metagov_id": {"abc"}}, 400, "invalid_metagov_id"},
			{"metagov_id without community", "oauthkit", url.Values{"redirect_uri": {good}, "metagov_id": {"12345"}}, 400, "invalid_metagov_id"},
			{"unknown plugin", "nosuch", url.Values{"redirect_uri": {good}}, 400, "unknown_plugin"},
			{"plugin without OAuth", "testkit", url.Values{"redirect_uri": {good}}, 404, "oauth_not_supported"},
		} {
			r := e.s.Do("GET", "/auth/"+tc.path+"/authorize?"+tc.params.Encode(), nil)
			r.RequireError(t, tc.status, tc.code)
		}
		// Missing redirect_uri.
		e.s.Do("GET", "/auth/oauthkit/authorize", nil).RequireError(t, http.StatusBadRequest, "missing_parameter")

		// With no allow-list, every redirect_uri is refused.
		closed := apptest.Start(t, apptest.SQLite(t), app.Config{Settings: e.fake.settings})
		r := closed.Do("GET", "/auth/oauthkit/authorize?"+url.Values{"redirect_uri": {good}}.Encode(), nil)
		r.RequireError(t, http.StatusBadRequest, "redirect_uri_not_allowed", "METAGOV_OAUTH_REDIRECT_ALLOW")
	})
}

// TestOAuthCallbackFailures: an expired state, a replayed callback, a
// provider's error and a refused token exchange come back to the driver
// as error (and error_description) with its state; nothing is installed.
func TestOAuthCallbackFailures(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		e := startOAuth(t, db, app.Config{})
		require.Equal(t, http.StatusCreated, e.s.Do("PUT", "/api/internal/community/town", map[string]any{}).Status)
		params := url.Values{"state": {"s1"}, "community": {"town"}}

		// Expired: the user took 11 minutes.
		cb := e.consent(t, e.toPlatform(t, params))
		e.clock.Add(11 * time.Minute)
		back := e.walk(t, cb)
		require.Equal(t, "state_expired", back.Get("error"))
		require.Equal(t, "s1", back.Get("state"))
		require.Equal(t, "town", back.Get("community"))
		require.Equal(t, 0, e.fake.exchanges)

		// Replayed: the second use of a callback is refused.
		cb = e.consent(t, e.toPlatform(t, params))
		back = e.walk(t, cb)
		require.Empty(t, back.Get("error"), back.Encode())
		back = e.walk(t, cb)
		require.Equal(t, "state_already_used", back.Get("error"))
		require.Equal(t, 1, e.fake.exchanges, "a replay exchanges nothing")

		// An unknown community and an identity of none of it are told only
		// at the callback (authorize is public: no oracle of slugs), before
		// any code is exchanged.
		back = e.walk(t, e.authorizeURL(url.Values{"state": {"s4"}, "community": {"nowhere"}}))
		require.Equal(t, "community_not_found", back.Get("error"))
		require.Equal(t, "s4", back.Get("state"))
		back = e.walk(t, e.authorizeURL(url.Values{"community": {"town"}, "metagov_id": {"12345"}}))
		require.Equal(t, "invalid_metagov_id", back.Get("error"))
		require.Equal(t, 1, e.fake.exchanges)

		// The provider reports the user's refusal.
		e.fake.mu.Lock()
		e.fake.deny = true
		e.fake.mu.Unlock()
		back = e.walk(t, e.authorizeURL(url.Values{"state": {"s2"}, "community": {"town"}}))
		require.Equal(t, "access_denied", back.Get("error"))
		require.Equal(t, "The user said no", back.Get("error_description"))
		require.Equal(t, "s2", back.Get("state"))
		e.fake.mu.Lock()
		e.fake.deny = false
		e.fake.tokenError = "account_suspended"
		e.fake.mu.Unlock()

		// The plugin's own refusal, with its code.
		back = e.walk(t, e.authorizeURL(url.Values{"state": {"s3"}}))
		require.Equal(t, "oauthkit_account_suspended", back.Get("error"))
		require.Contains(t, back.Get("error_description"), "account_suspended")
		require.Empty(t, back.Get("community"), "a community is created only by a successful install")
		e.fake.mu.Lock()
		e.fake.tokenError = ""
		e.fake.mu.Unlock()

		// A callback without a code.
		platform := e.toPlatform(t, params)
		r := e.s.Do("GET", "/auth/oauthkit/callback?"+url.Values{"state": {platform.Query().Get("state")}}.Encode(), nil)
		require.Equal(t, http.StatusOK, r.Status) // followed to the driver
		resp := noFollow(t, e.s.URL+"/auth/oauthkit/callback?"+url.Values{"state": {e.toPlatform(t, params).Query().Get("state")}}.Encode())
		loc, _ := url.Parse(resp.Header.Get("Location"))
		require.Equal(t, "server_error", loc.Query().Get("error"))
		require.Equal(t, "no-store", resp.Header.Get("Cache-Control"))

		// Only the one good install happened.
		r = e.s.Do("GET", "/api/internal/community/town", nil)
		require.Len(t, r.JSON(t)["plugins"], 1)
	})
}

// TestOAuthReinstall: installing the same account again into its community
// replaces the config (the new token) in the same instance; installing it
// into another community is refused; a second account is a second
// instance.
func TestOAuthReinstall(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		e := startOAuth(t, db, app.Config{})
		for _, c := range []string{"town", "city"} {
			require.Equal(t, http.StatusCreated, e.s.Do("PUT", "/api/internal/community/"+c, map[string]any{}).Status)
		}
		back := e.walk(t, e.authorizeURL(url.Values{"community": {"town"}}))
		require.Empty(t, back.Get("error"), back.Encode())
		first := e.s.Do("GET", "/api/internal/community/town", nil).JSON(t)["plugins"].([]any)[0].(map[string]any)["id"]

		back = e.walk(t, e.authorizeURL(url.Values{"community": {"town"}}))
		require.Empty(t, back.Get("error"), back.Encode())
		plugins := e.s.Do("GET", "/api/internal/community/town", nil).JSON(t)["plugins"].([]any)
		require.Len(t, plugins, 1)
		require.Equal(t, first, plugins[0].(map[string]any)["id"], "the same instance, updated")
		r := e.s.Do("POST", "/api/internal/action/oauthkit.bot-token", map[string]any{}, "X-Metagov-Community", "town")
		require.Equal(t, "bot-acme-2", r.JSON(t)["bot_token"])

		back = e.walk(t, e.authorizeURL(url.Values{"community": {"city"}, "state": {"c"}}))
		require.Equal(t, "installed_elsewhere", back.Get("error"))
		require.Equal(t, "city", back.Get("community"))
		require.Empty(t, e.s.Do("GET", "/api/internal/community/city", nil).JSON(t)["plugins"])

		e.fake.set("U2", "globex")
		back = e.walk(t, e.authorizeURL(url.Values{"community": {"town"}}))
		require.Empty(t, back.Get("error"), back.Encode())
		require.Len(t, e.s.Do("GET", "/api/internal/community/town", nil).JSON(t)["plugins"], 2)
		r = e.s.Do("POST", "/api/internal/action/oauthkit.bot-token", map[string]any{}, "X-Metagov-Community", "town",
			"X-Metagov-Community-Platform-Id", "globex")
		require.Equal(t, "globex", r.JSON(t)["account"])
	})
}

// TestOAuthUserLogin: type=user links the platform user in the community
// whose instance holds their account, to the driver's metagov_id, and
// creates nothing; an account never installed is refused.
func TestOAuthUserLogin(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		e := startOAuth(t, db, app.Config{})
		back := e.walk(t, e.authorizeURL(url.Values{}))
		slug := back.Get("community")
		require.NotEmpty(t, slug)
		r := e.s.Do("POST", "/api/internal/identity/create_id", map[string]any{"community_slug": slug})
		require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
		id := int64(jsonArrayAny(t, r.Body)[0].(float64))

		e.fake.set("U7", "acme")
		back = e.walk(t, e.authorizeURL(url.Values{"type": {"user"}, "community": {slug}, "metagov_id": {i64(id)}, "state": {"u"}}))
		require.Empty(t, back.Get("error"), back.Encode())
		require.Equal(t, slug, back.Get("community"))
		require.Equal(t, "U7", back.Get("user_id"))
		require.Equal(t, "acme", back.Get("account"))
		require.Equal(t, "u", back.Get("state"))
		require.NotEmpty(t, back.Get("user_token_ref"))

		r = e.s.Do("GET", "/api/internal/identity/get_user?external_id="+i64(id), nil)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		user := r.JSON(t)
		accounts := user["linked_accounts"].([]any)
		require.Len(t, accounts, 1)
		require.Equal(t, "U7", accounts[0].(map[string]any)["platform_identifier"])

		// No community named: the account's community is found.
		e.fake.set("U8", "acme")
		back = e.walk(t, e.authorizeURL(url.Values{"type": {"user"}}))
		require.Empty(t, back.Get("error"), back.Encode())
		require.Equal(t, slug, back.Get("community"))

		e.fake.set("U9", "initech")
		back = e.walk(t, e.authorizeURL(url.Values{"type": {"user"}}))
		require.Equal(t, "plugin_not_installed", back.Get("error"))
		require.Len(t, e.s.Do("GET", "/api/internal/community/"+slug, nil).JSON(t)["plugins"], 1)
	})
}

// TestOAuthLegacyDriver: METAGOV_LEGACY_DRIVER puts the user token in the
// redirect and shows secrets to admin keys, not to limited ones.
func TestOAuthLegacyDriver(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		e := startOAuth(t, db, app.Config{LegacyDriver: true})
		back := e.walk(t, e.authorizeURL(url.Values{}))
		require.Equal(t, "utok-U1", back.Get("user_token"))
		require.Empty(t, back.Get("user_token_ref"))
		slug := back.Get("community")

		cfg := func(key string) any {
			var h []string
			if key != "" {
				h = bearer(key)
			}
			r := e.s.Do("GET", "/api/internal/community/"+slug, nil, h...)
			require.Equal(t, http.StatusOK, r.Status, string(r.Body))
			return r.JSON(t)["plugins"].([]any)[0].(map[string]any)["config"].(map[string]any)["bot_token"]
		}
		require.Equal(t, "bot-acme-1", cfg(""), "protected mode is the local admin")
		ctx := context.Background()
		admin, _, err := core.CreateAPIKey(ctx, e.s.App.Store(), "admin", nil)
		require.NoError(t, err)
		limited, _, err := core.CreateAPIKey(ctx, e.s.App.Store(), "tenant", []string{slug})
		require.NoError(t, err)
		require.Eventually(t, func() bool { return e.s.Do("GET", "/api/internal/community/"+slug, nil).Status == 401 },
			5*time.Second, 20*time.Millisecond)
		require.Equal(t, "bot-acme-1", cfg(admin))
		require.Equal(t, "********", cfg(limited))
		// A PUT answer stays redacted.
		r := e.s.Do("PUT", "/api/internal/community/"+slug, map[string]any{"readable_name": "Acme"}, bearer(admin)...)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		require.Contains(t, string(r.Body), "********")
	})
}

// TestOAuthTokenExchangeObeysEgress: the token exchange goes through the
// egress policy: a provider on a private address is refused on a gateway
// that denies them, and the driver hears why.
func TestOAuthTokenExchangeObeysEgress(t *testing.T) {
	e := startOAuth(t, apptest.SQLite(t), app.Config{EgressDenyPrivate: true})
	back := e.walk(t, e.authorizeURL(url.Values{"state": {"x"}}))
	require.Equal(t, "egress_refused", back.Get("error"))
	require.Contains(t, back.Get("error_description"), "127.0.0.1")
	require.Equal(t, 0, e.fake.exchanges)
}

// TestOAuthUserTokenScopedToCommunity: a key limited to other communities
// cannot fetch a user token, and its attempt does not spend it.
func TestOAuthUserTokenScopedToCommunity(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		e := startOAuth(t, db, app.Config{})
		require.Equal(t, http.StatusCreated, e.s.Do("PUT", "/api/internal/community/other", map[string]any{}).Status)
		back := e.walk(t, e.authorizeURL(url.Values{}))
		ref, slug := back.Get("user_token_ref"), back.Get("community")
		ctx := context.Background()
		otherKey, _, err := core.CreateAPIKey(ctx, e.s.App.Store(), "other", []string{"other"})
		require.NoError(t, err)
		ownKey, _, err := core.CreateAPIKey(ctx, e.s.App.Store(), "own", []string{slug})
		require.NoError(t, err)
		require.Eventually(t, func() bool {
			return e.s.Do("POST", "/api/internal/oauth/token", map[string]any{"ref": ref}, bearer(otherKey)...).Status == http.StatusNotFound
		}, 5*time.Second, 20*time.Millisecond)
		r := e.s.Do("POST", "/api/internal/oauth/token", map[string]any{"ref": ref}, bearer(ownKey)...)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		require.Equal(t, "utok-U1", r.JSON(t)["user_token"])
	})
}

func i64(v int64) string { return strconv.FormatInt(v, 10) }

// jsonArray decodes a JSON array of objects.
func jsonArray(t *testing.T, body []byte) []map[string]any {
	t.Helper()
	var v []map[string]any
	require.NoError(t, json.Unmarshal(body, &v), string(body))
	return v
}

// jsonArrayAny decodes a JSON array.
func jsonArrayAny(t *testing.T, body []byte) []any {
	t.Helper()
	var v []any
	require.NoError(t, json.Unmarshal(body, &v), string(body))
	return v
}

// TestOAuthAcrossGateways: with no session, a state one gateway issued
// completes at another sharing the database (and secret key), and a replay
// at the first is refused.
func TestOAuthAcrossGateways(t *testing.T) {
	if os.Getenv(apptest.PostgresEnv) == "" {
		t.Skipf("%s is not set: two gateways need PostgreSQL", apptest.PostgresEnv)
	}
	db := apptest.Postgres(t)
	e := startOAuth(t, db, app.Config{})
	second := apptest.Start(t, db, app.Config{Settings: e.fake.settings, OAuthRedirectAllow: e.driver.URL + "/oauth/"})
	cb := e.consent(t, e.toPlatform(t, url.Values{"state": {"two"}}))
	elsewhere := second.URL + strings.TrimPrefix(cb, e.s.URL)
	back := e.walk(t, elsewhere)
	require.Empty(t, back.Get("error"), back.Encode())
	require.Equal(t, "two", back.Get("state"))
	back = e.walk(t, cb)
	require.Equal(t, "state_already_used", back.Get("error"))
	require.Equal(t, 1, e.fake.exchanges)
}
