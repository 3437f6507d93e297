package slack

import (
	"cmp"
	"strings"
)

// The gateway settings the plugin reads (environment or .env, through the
// SDK's Setting): the Slack app's credentials, with the original Metagov's
// names, and Slack's base URLs, so that tests and Slack-compatible servers
// can point elsewhere. They are not instance config: one Slack app serves
// every community, and no community may point the app's secrets at a
// server of its choosing.
const (
	SettingClientID      = "SLACK_CLIENT_ID"
	SettingClientSecret  = "SLACK_CLIENT_SECRET"
	SettingSigningSecret = "SLACK_SIGNING_SECRET"
	SettingAppID         = "SLACK_APP_ID"
	SettingAPIURL        = "METAGOV_SLACK_API_URL"
	SettingOAuthURL      = "METAGOV_SLACK_OAUTH_URL"
)

// Default base URLs of Slack.
const (
	DefaultAPIURL   = "https://slack.com/api"
	DefaultOAuthURL = "https://slack.com"
)

// settings are the values of the settings, defaults filled.
type settings struct {
	ClientID      string
	ClientSecret  string
	SigningSecret string // without it every request to /api/hooks/slack is refused
	AppID         string // when set, requests for other apps are ignored
	APIURL        string // no trailing slash
	OAuthURL      string // no trailing slash
}

// readSettings reads the settings with get (nil reads none).
func readSettings(get func(string) string) settings {
	if get == nil {
		get = func(string) string { return "" }
	}
	return settings{
		ClientID:      get(SettingClientID),
		ClientSecret:  get(SettingClientSecret),
		SigningSecret: get(SettingSigningSecret),
		AppID:         get(SettingAppID),
		APIURL:        strings.TrimSuffix(cmp.Or(get(SettingAPIURL), DefaultAPIURL), "/"),
		OAuthURL:      strings.TrimSuffix(cmp.Or(get(SettingOAuthURL), DefaultOAuthURL), "/"),
	}
}
