package slack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/metagov/metagov-go/plugin"
)

// botScopes are the bot token scopes the app asks for: the original
// Metagov app manifest's, which its subscribed events and the votes need.
var botScopes = []string{
	"app_mentions:read", "channels:history", "channels:join", "channels:manage", "channels:read",
	"chat:write", "chat:write.customize", "chat:write.public", "emoji:read", "groups:history", "groups:read",
	"groups:write", "im:history", "im:read", "im:write", "mpim:history", "mpim:read", "mpim:write",
	"pins:read", "pins:write", "reactions:read", "reactions:write", "team:read", "usergroups:read",
	"users.profile:read", "users:read", "users:read.email", "users:write",
}

// installerUserScopes are the installer's user token scopes (the
// original's), for drivers that act as the installer; loginUserScopes are
// those of a person logging in ("Sign in with Slack").
const (
	installerUserScopes = "chat:write,channels:write,groups:write,im:write,mpim:write"
	loginUserScopes     = "identity.basic,identity.avatar"
)

// installer is the Slack side of /auth/slack/authorize and /callback.
type installer struct{}

// AuthorizeURL sends the person to Slack's OAuth v2 authorize page.
func (installer) AuthorizeURL(_ context.Context, req *plugin.AuthorizeRequest) (string, error) {
	st := readSettings(req.Setting)
	if st.ClientID == "" {
		return "", &plugin.SettingsError{Plugin: platform, Settings: []string{SettingClientID}}
	}
	q := url.Values{"client_id": {st.ClientID}, "state": {req.State}, "redirect_uri": {req.RedirectURI}}
	if req.Type == plugin.InstallUser {
		q.Set("user_scope", loginUserScopes)
	} else {
		q.Set("scope", strings.Join(botScopes, ","))
		q.Set("user_scope", installerUserScopes)
	}
	return st.OAuthURL + "/oauth/v2/authorize?" + q.Encode(), nil
}

// accessAnswer is what oauth.v2.access answers.
type accessAnswer struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	BotUserID   string `json:"bot_user_id"`
	Team        struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"team"`
	AuthedUser struct {
		ID          string `json:"id"`
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
	} `json:"authed_user"`
}

// Install exchanges the code and describes the instance or the login.
func (installer) Install(ctx context.Context, req *plugin.InstallRequest) (*plugin.Installation, error) {
	st := readSettings(req.Setting)
	if st.ClientID == "" || st.ClientSecret == "" {
		return nil, &plugin.SettingsError{Plugin: platform, Settings: []string{SettingClientID, SettingClientSecret}}
	}
	api := &client{api: st.APIURL, hc: req.HTTPClient}
	var got accessAnswer
	err := api.call(ctx, "oauth.v2.access", url.Values{"client_id": {st.ClientID}, "client_secret": {st.ClientSecret},
		"code": {req.Code}, "redirect_uri": {req.RedirectURI}}, "", &got)
	if code := slackCode(err); code != "" {
		return nil, &plugin.InstallError{Code: code, Description: "Slack refused the authorization code: " + code}
	}
	if err != nil {
		return nil, err
	}
	if got.Team.ID == "" || got.AuthedUser.ID == "" {
		return nil, errors.New("slack: oauth.v2.access answered without team.id or authed_user.id")
	}
	account := plugin.Account{PlatformIdentifier: got.AuthedUser.ID, ExternalID: req.MetagovID,
		LinkType: plugin.LinkTypeOAuth, LinkQuality: plugin.LinkQualityConfirmedStrong}
	if req.Type == plugin.InstallUser {
		return login(ctx, req, got, account)
	}
	if got.TokenType != "bot" || got.AccessToken == "" {
		return nil, &plugin.InstallError{Code: "slack_bad_token_type",
			Description: fmt.Sprintf("an app install must give a bot token, Slack gave token_type %q", got.TokenType)}
	}
	if err := checkAdmin(ctx, api, got); err != nil {
		return nil, err
	}
	if req.InstalledIn != nil {
		where, err := req.InstalledIn(ctx, got.Team.ID)
		if err != nil {
			return nil, err
		}
		if where != "" && where != req.Community {
			return nil, &plugin.InstallError{Code: "slack_wrong_community",
				Description: "this Slack workspace is already installed in another community"}
		}
	}
	cfg, err := json.Marshal(config{TeamID: got.Team.ID, TeamName: got.Team.Name, BotToken: got.AccessToken,
		BotUserID: got.BotUserID, InstallerUserID: got.AuthedUser.ID, InstallerUserToken: got.AuthedUser.AccessToken})
	if err != nil {
		return nil, err
	}
	return &plugin.Installation{Config: cfg, Accounts: []plugin.Account{account},
		Redirect: url.Values{"user_id": {got.AuthedUser.ID}}, UserToken: got.AuthedUser.AccessToken}, nil
}

// checkAdmin refuses an install by someone who is not a workspace admin.
func checkAdmin(ctx context.Context, api *client, got accessAnswer) error {
	bot := &client{api: api.api, token: got.AccessToken, hc: api.hc}
	var info struct {
		User struct {
			IsAdmin        bool `json:"is_admin"`
			IsOwner        bool `json:"is_owner"`
			IsPrimaryOwner bool `json:"is_primary_owner"`
		} `json:"user"`
	}
	if err := bot.call(ctx, "users.info", url.Values{"user": {got.AuthedUser.ID}}, "", &info); err != nil {
		if code := slackCode(err); code != "" {
			return &plugin.InstallError{Code: code, Description: "Slack did not describe the installer: " + code}
		}
		return err
	}
	if !info.User.IsAdmin && !info.User.IsOwner && !info.User.IsPrimaryOwner {
		return &plugin.InstallError{Code: "slack_installer_is_not_admin",
			Description: "only a workspace admin may install the app"}
	}
	return nil
}

// login links a person who signed in with Slack, in the workspace's
// community.
func login(ctx context.Context, req *plugin.InstallRequest, got accessAnswer, account plugin.Account) (*plugin.Installation, error) {
	if got.AuthedUser.TokenType != "user" {
		return nil, &plugin.InstallError{Code: "slack_bad_token_type",
			Description: fmt.Sprintf("a login must give a user token, Slack gave token_type %q", got.AuthedUser.TokenType)}
	}
	if req.InstalledIn != nil {
		where, err := req.InstalledIn(ctx, got.Team.ID)
		if err != nil {
			return nil, err
		}
		if where == "" {
			return nil, &plugin.InstallError{Code: "slack_plugin_not_installed",
				Description: "the app is not installed in this Slack workspace"}
		}
	}
	return &plugin.Installation{PlatformID: got.Team.ID, Accounts: []plugin.Account{account},
		Redirect: url.Values{"user_id": {got.AuthedUser.ID}, "team_id": {got.Team.ID}}, UserToken: got.AuthedUser.AccessToken}, nil
}
