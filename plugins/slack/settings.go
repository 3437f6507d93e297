package slack

import (
	"cmp"
	"os"
	"strings"
)

// Settings are the gateway-wide settings of the Slack app, the same for
// every workspace that installs it. They are not instance config: one Slack
// app serves every community, and a community must not be able to point the
// app's credentials at a server of its choosing.
type Settings struct {
	// ClientID and ClientSecret are the app's OAuth credentials
	// (SLACK_CLIENT_ID, SLACK_CLIENT_SECRET).
	ClientID     string
	ClientSecret string
	// SigningSecret verifies every request Slack sends to /api/hooks/slack
	// (SLACK_SIGNING_SECRET). Without it every request there is refused.
	SigningSecret string
	// AppID is the app's id (SLACK_APP_ID); events of other apps are ignored
	// when it is set.
	AppID string
	// APIURL is the base of the Web API, without a trailing slash
	// (METAGOV_SLACK_API_URL, default https://slack.com/api).
	APIURL string
	// OAuthURL is the base under which /oauth/v2/authorize lives
	// (METAGOV_SLACK_OAUTH_URL, default https://slack.com).
	OAuthURL string
}

// Default base URLs of Slack.
const (
	DefaultAPIURL   = "https://slack.com/api"
	DefaultOAuthURL = "https://slack.com"
)

// SettingsFromEnv reads the settings from the environment, where the
// gateway's command also puts the lines of its .env file. The names are the
// original Metagov's.
func SettingsFromEnv() Settings {
	return Settings{
		ClientID:      os.Getenv("SLACK_CLIENT_ID"),
		ClientSecret:  os.Getenv("SLACK_CLIENT_SECRET"),
		SigningSecret: os.Getenv("SLACK_SIGNING_SECRET"),
		AppID:         os.Getenv("SLACK_APP_ID"),
		APIURL:        os.Getenv("METAGOV_SLACK_API_URL"),
		OAuthURL:      os.Getenv("METAGOV_SLACK_OAUTH_URL"),
	}
}

// withDefaults fills the base URLs.
func (s Settings) withDefaults() Settings {
	s.APIURL = strings.TrimSuffix(cmp.Or(s.APIURL, DefaultAPIURL), "/")
	s.OAuthURL = strings.TrimSuffix(cmp.Or(s.OAuthURL, DefaultOAuthURL), "/")
	return s
}
