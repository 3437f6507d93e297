// Package discord connects a community to a Discord guild (server) through
// one Discord application, whose bot every guild adds by OAuth (see the
// README): the HTTP API v10 for actions and votes, and one gateway-wide
// interactions endpoint, /api/hooks/discord, for slash commands and the
// votes' buttons.
//
// Config (normally written by the OAuth bot install): guild_id, which is
// also the instance's community_platform_id, and guild_name. The
// application's credentials and Discord's address are gateway settings, not
// config (DISCORD_CLIENT_ID, DISCORD_CLIENT_SECRET, DISCORD_BOT_TOKEN,
// DISCORD_PUBLIC_KEY, DISCORD_PERMISSIONS, METAGOV_DISCORD_API_URL): the one
// bot token serves every guild and is sent only to the API URL of the
// settings.
//
// Discord ids (snowflakes) are 64-bit: guild_id, channel and the like are
// accepted as JSON strings or numbers (the original's drivers send numbers)
// without passing through a float64, and always written as strings.
//
// Actions: register-guild-command (POST creates, PATCH with command_id
// updates), method (any route), get-guild and post-message. Discord's
// refusals ({code, message, errors}) reach the driver: a 400, 403 or 404
// about the driver's input is 422 platform_rejected naming the field; a 429
// is a 502 saying when to retry; 5xx a 502, no answer a 504.
//
// Every request to /api/hooks/discord is verified before anything parses it:
// the Ed25519 signature (X-Signature-Ed25519, hex) of X-Signature-Timestamp
// followed by the raw body, with the application's public key; a missing or
// bad signature is 401 (Discord checks that forged requests get one), and a
// timestamp more than five minutes from the gateway's clock is refused as a
// replay. PING answers {"type": 1}; an interaction for another application
// is refused (400). Slash commands become the driver event slash_command
// (the interaction object, the initiator its member) answered with an
// ephemeral acknowledgement; button clicks go to the guild's pending votes.
// Nothing calls Discord before answering, well within Discord's 3 s.
//
// Process: vote (boolean or choice, one button per option), with the
// original's input and outcome; each click is answered with UPDATE_MESSAGE
// (the re-rendered message), and closing edits the message to show the
// result with the buttons disabled.
package discord

import (
	"context"
	"fmt"
	"net/http"
	"reflect"

	"github.com/metagov/metagov-go/plugin"
)

func init() {
	plugin.Register(plugin.Info{
		Name:          "discord",
		Description:   "Discord guild (one Discord application whose bot is added by OAuth): HTTP API actions, slash commands, and votes with buttons",
		AuthType:      plugin.AuthOAuth,
		Config:        configSchema,
		PlatformIDKey: "guild_id",
		OAuth:         installer{},
		New:           func() plugin.Instance { return &Discord{} },
		Platform:      router{},
		Actions: []plugin.Action{
			{
				Name:        "register-guild-command",
				Description: "Create a slash command for this guild, or update one (command_id)",
				Input:       registerCommandInputSchema,
				Output:      answerSchema,
				InputType:   reflect.TypeFor[registerCommandParams](),
				Run:         runRegisterCommand,
			},
			{
				Name:        "method",
				Description: "Perform any Discord API call: route (relative to /api/v10), method, and the other parameters as the JSON body",
				Input:       methodInputSchema,
				Output:      anyAnswerSchema,
				InputType:   reflect.TypeFor[methodParams](),
				Run:         runMethod,
			},
			{
				Name:        "get-guild",
				Description: "Get the guild's information",
				Input:       plugin.Schema(`{"type": "object", "additionalProperties": false}`),
				Output:      answerSchema,
				InputType:   reflect.TypeFor[struct{}](),
				Run:         runGetGuild,
			},
			{
				Name:        "post-message",
				Description: "Post a message in a channel",
				Input:       postMessageInputSchema,
				Output:      answerSchema,
				InputType:   reflect.TypeFor[postMessageParams](),
				Run:         runPostMessage,
			},
		},
		Processes: []plugin.ProcessType{
			{
				Name:        "vote",
				Description: "A vote in a Discord message with one button per option (yes/no or choices); re-voting moves the vote",
				Input:       voteInputSchema,
				InputType:   reflect.TypeFor[voteInput](),
				Outcome:     voteOutcomeSchema,
				New:         func(inst plugin.Instance) plugin.ProcessHandler { d, _ := inst.(*Discord); return vote{d: d} },
			},
		},
		Events: []plugin.EventType{{Type: "slash_command",
			Description: "A slash command used in the guild: the whole interaction object; the initiator is the member who used it",
			Schema:      plugin.Schema(`{"type": "object"}`)}},
	})
}

// configSchema: what the OAuth install stores. guild_id is the instance's
// community_platform_id. No property is a secret or a destination.
var configSchema = plugin.Schema(`{
	"type": "object",
	"additionalProperties": false,
	"properties": {
		"guild_id": {"type": ["string", "integer"], "pattern": "^[0-9]{1,20}$", "minimum": 0, "maximum": 18446744073709551615,
			"description": "the Discord guild (server) id, a snowflake; a string, or a number (read without rounding)"},
		"guild_name": {"type": "string", "maxLength": 100}
	},
	"required": ["guild_id"]
}`)

// config is the instance config.
type config struct {
	GuildID   Snowflake `json:"guild_id"`
	GuildName string    `json:"guild_name"`
}

// Discord is one guild's instance.
type Discord struct {
	st  settings
	cfg config
	env plugin.Env
	api *client
}

// Provision takes the config and the gateway's HTTP client.
func (d *Discord) Provision(_ context.Context, env plugin.Env) error {
	if err := env.DecodeConfig(&d.cfg); err != nil {
		return err
	}
	d.env = env
	d.st = readSettings(env.Settings)
	hc := env.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	d.api = &client{api: d.st.APIURL, auth: "Bot " + d.st.BotToken, hc: hc}
	return nil
}

// asDiscord asserts the instance's type for the untyped Run functions.
func asDiscord(inst plugin.Instance) (*Discord, error) {
	typed, ok := inst.(*Discord)
	if !ok {
		return nil, fmt.Errorf("plugin instance is %T, not *discord.Discord", inst)
	}
	return typed, nil
}
