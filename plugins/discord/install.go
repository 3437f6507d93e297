package discord

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/metagov/metagov-go/plugin"
)

// Scopes of the two installs. The original asked a person logging in only
// for identify and then read their guilds, which needs the guilds scope.
const (
	appScopes   = "applications.commands bot identify guilds"
	loginScopes = "identify guilds"
)

// installer is the Discord side of /auth/discord/authorize and /callback.
type installer struct{}

// AuthorizeURL sends the person to Discord's OAuth2 authorize page, with
// the bot's permissions for an app install (the original sent the literal
// text {DISCORD_PERMISSIONS}).
func (installer) AuthorizeURL(_ context.Context, req *plugin.AuthorizeRequest) (string, error) {
	st := readSettings(req.Setting)
	if st.ClientID == "" {
		return "", &plugin.SettingsError{Plugin: platform, Settings: []string{SettingClientID}}
	}
	q := url.Values{"response_type": {"code"}, "client_id": {st.ClientID}, "state": {req.State}, "redirect_uri": {req.RedirectURI}}
	if req.Type == plugin.InstallUser {
		q.Set("scope", loginScopes)
	} else {
		q.Set("scope", appScopes)
		q.Set("permissions", st.Permissions)
	}
	return st.APIURL + "/oauth2/authorize?" + q.Encode(), nil
}

// tokenAnswer is what the token exchange answers; guild is there for a bot
// install.
type tokenAnswer struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	Scope       string `json:"scope"`
	Guild       *struct {
		ID   Snowflake `json:"id"`
		Name string    `json:"name"`
	} `json:"guild"`
}

// exchange trades the code for the person's token.
func exchange(ctx context.Context, st settings, req *plugin.InstallRequest) (*tokenAnswer, error) {
	form := url.Values{"client_id": {st.ClientID}, "client_secret": {st.ClientSecret}, "grant_type": {"authorization_code"},
		"code": {req.Code}, "redirect_uri": {req.RedirectURI}}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, st.APIURL+apiVersion+"/oauth2/token", strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	hr.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	hr.Header.Set("Accept", "application/json")
	resp, err := req.HTTPClient.Do(hr)
	if err != nil {
		return nil, transportError(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBodySize))
	if err != nil {
		return nil, transportError(err)
	}
	if resp.StatusCode == http.StatusBadRequest || resp.StatusCode == http.StatusUnauthorized {
		var oe struct {
			Error       string `json:"error"`
			Description string `json:"error_description"`
		}
		if json.Unmarshal(body, &oe) == nil && oe.Error != "" {
			return nil, &plugin.InstallError{Code: "discord_" + oe.Error,
				Description: "Discord refused the authorization code: " + oe.Error + " " + oe.Description}
		}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, &plugin.PlatformError{Platform: platform, Status: resp.StatusCode, Message: "oauth2/token: " + strings.TrimSpace(string(body))}
	}
	var got tokenAnswer
	if err := json.Unmarshal(body, &got); err != nil || got.AccessToken == "" {
		return nil, errors.New("discord: oauth2/token answered without an access_token")
	}
	return &got, nil
}

// Install exchanges the code and describes the instance or the login.
func (installer) Install(ctx context.Context, req *plugin.InstallRequest) (*plugin.Installation, error) {
	st := readSettings(req.Setting)
	if st.ClientID == "" || st.ClientSecret == "" {
		return nil, &plugin.SettingsError{Plugin: platform, Settings: []string{SettingClientID, SettingClientSecret}}
	}
	got, err := exchange(ctx, st, req)
	if err != nil {
		return nil, err
	}
	person := &client{api: st.APIURL, auth: "Bearer " + got.AccessToken, hc: req.HTTPClient}
	var me user
	if err := person.call(ctx, http.MethodGet, "/users/@me", nil, &me, fields{}); err != nil {
		return nil, err
	}
	if me.ID == "" {
		return nil, errors.New("discord: users/@me answered without an id")
	}
	account := plugin.Account{PlatformIdentifier: string(me.ID), ExternalID: req.MetagovID,
		LinkType: plugin.LinkTypeOAuth, LinkQuality: plugin.LinkQualityConfirmedStrong}
	if req.Type == plugin.InstallUser {
		return login(ctx, req, person, me, account, got.AccessToken)
	}
	if got.Guild == nil || got.Guild.ID == "" {
		return nil, &plugin.InstallError{Code: "discord_no_guild",
			Description: "Discord did not say which server the bot was added to (was the bot scope granted?)"}
	}
	if req.InstalledIn != nil {
		where, err := req.InstalledIn(ctx, string(got.Guild.ID))
		if err != nil {
			return nil, err
		}
		if where != "" && where != req.Community {
			return nil, &plugin.InstallError{Code: "discord_wrong_community",
				Description: "this Discord server is already installed in another community"}
		}
	}
	cfg, err := json.Marshal(config{GuildID: got.Guild.ID, GuildName: got.Guild.Name})
	if err != nil {
		return nil, err
	}
	return &plugin.Installation{Config: cfg, Accounts: []plugin.Account{account},
		Redirect:  url.Values{"user_id": {string(me.ID)}, "guild_id": {string(got.Guild.ID)}},
		UserToken: got.AccessToken}, nil
}

// login links a person who signed in with Discord to the community of the
// first of their guilds that installed the app (the driver's community's,
// when it is one of them), and lists all such guilds as guild[] =
// "<id>:<name>", as the original did.
func login(ctx context.Context, req *plugin.InstallRequest, person *client, me user, account plugin.Account, token string) (*plugin.Installation, error) {
	var guilds []struct {
		ID   Snowflake `json:"id"`
		Name string    `json:"name"`
	}
	if err := person.call(ctx, http.MethodGet, "/users/@me/guilds", nil, &guilds, fields{}); err != nil {
		return nil, err
	}
	var listed []string
	platformID := ""
	for _, g := range guilds {
		if req.InstalledIn == nil {
			break
		}
		where, err := req.InstalledIn(ctx, string(g.ID))
		if err != nil {
			return nil, err
		}
		if where == "" {
			continue
		}
		listed = append(listed, string(g.ID)+":"+g.Name)
		if platformID == "" || (req.Community != "" && where == req.Community) {
			platformID = string(g.ID)
		}
	}
	if platformID == "" {
		return nil, &plugin.InstallError{Code: "discord_plugin_not_installed",
			Description: "the app is not installed in any Discord server this person belongs to"}
	}
	return &plugin.Installation{PlatformID: platformID, Accounts: []plugin.Account{account},
		Redirect: url.Values{"user_id": {string(me.ID)}, "guild[]": listed}, UserToken: token}, nil
}
