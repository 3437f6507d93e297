package discord

import (
	"cmp"
	"strings"
)

// The gateway settings the plugin reads (environment or .env, through the
// SDK's Setting): the Discord application's credentials, with the original
// Metagov's names, and Discord's base URL, so that tests and proxies can
// point elsewhere. They are not instance config: one Discord application
// serves every community, and no community may send the bot token to a
// server of its choosing.
const (
	SettingClientID     = "DISCORD_CLIENT_ID"
	SettingClientSecret = "DISCORD_CLIENT_SECRET"
	SettingBotToken     = "DISCORD_BOT_TOKEN"
	SettingPublicKey    = "DISCORD_PUBLIC_KEY"
	SettingPermissions  = "DISCORD_PERMISSIONS"
	SettingAPIURL       = "METAGOV_DISCORD_API_URL"
)

// Defaults: Discord's API base URL (the version, v10, is appended to it) and
// the original's bot permissions.
const (
	DefaultAPIURL      = "https://discord.com/api"
	DefaultPermissions = "397821540358"
)

// apiVersion is the version of Discord's HTTP API every call uses.
const apiVersion = "/v10"

// settings are the values of the settings, defaults filled.
type settings struct {
	ClientID     string // the application id, which interactions must carry
	ClientSecret string
	BotToken     string
	PublicKey    string // hex Ed25519; without it every interaction is refused
	Permissions  string
	APIURL       string // no trailing slash, no version
}

// readSettings reads the settings with get (nil reads none).
func readSettings(get func(string) string) settings {
	if get == nil {
		get = func(string) string { return "" }
	}
	return settings{
		ClientID:     strings.TrimSpace(get(SettingClientID)),
		ClientSecret: get(SettingClientSecret),
		BotToken:     get(SettingBotToken),
		PublicKey:    strings.TrimSpace(get(SettingPublicKey)),
		Permissions:  cmp.Or(strings.TrimSpace(get(SettingPermissions)), DefaultPermissions),
		APIURL:       strings.TrimSuffix(cmp.Or(get(SettingAPIURL), DefaultAPIURL), "/"),
	}
}
