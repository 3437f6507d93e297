package slackfake

import (
	"net/http"
	"net/url"
	"strings"
)

// AuthorizeAs makes the next visits to the authorize page approve the
// install as user (Admin or Member), as if they had clicked Allow.
func (f *Fake) AuthorizeAs(user string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.authorizer = user
}

// serveAuthorize is Slack's /oauth/v2/authorize: with a known client_id, it
// redirects to redirect_uri with a fresh code and the state, as Slack does
// once the user allows the install.
func (f *Fake) serveAuthorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("client_id") != ClientID {
		http.Error(w, "invalid_client_id", http.StatusBadRequest)
		return
	}
	redirect, err := url.Parse(q.Get("redirect_uri"))
	if err != nil || q.Get("redirect_uri") == "" {
		http.Error(w, "bad_redirect_uri", http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	user := f.authorizer
	if user == "" {
		user = Admin
	}
	code := f.id("code-")
	g := Grant{UserID: user, TeamID: TeamID, TeamName: TeamName, Scope: q.Get("scope"), UserScope: q.Get("user_scope")}
	if g.Scope != "" {
		g.BotToken, g.BotUserID = BotToken, BotUserID
	}
	for tok, u := range f.tokens {
		if u == user && strings.HasPrefix(tok, "xoxp-") {
			g.UserToken = tok
		}
	}
	f.grants[code] = g
	f.mu.Unlock()
	rq := redirect.Query()
	rq.Set("code", code)
	rq.Set("state", q.Get("state"))
	redirect.RawQuery = rq.Encode()
	http.Redirect(w, r, redirect.String(), http.StatusFound)
}

// oauthAccess is oauth.v2.access: a code is good once, with the app's
// client id and secret.
func (f *Fake) oauthAccess(args map[string]string) answer {
	if args["client_id"] != ClientID {
		return fail("invalid_client_id")
	}
	if args["client_secret"] != ClientSecret {
		return fail("bad_client_secret")
	}
	g, found := f.grants[args["code"]]
	if !found {
		return fail("invalid_code")
	}
	delete(f.grants, args["code"])
	authed := map[string]any{"id": g.UserID}
	if g.UserToken != "" && g.UserScope != "" {
		authed["access_token"], authed["token_type"], authed["scope"] = g.UserToken, "user", g.UserScope
	}
	out := map[string]any{"app_id": AppID, "authed_user": authed, "team": map[string]any{"id": g.TeamID, "name": g.TeamName},
		"enterprise": nil, "is_enterprise_install": false}
	if g.BotToken != "" {
		out["access_token"], out["token_type"], out["scope"], out["bot_user_id"] = g.BotToken, "bot", g.Scope, g.BotUserID
	}
	return ok(out)
}
