package discord_test

import (
	"net/http"
	"testing"

	"github.com/metagov/metagov-go/plugin/plugintest"
	"github.com/metagov/metagov-go/plugins/discord"
	"github.com/metagov/metagov-go/plugins/discord/discordfake"
)

// TestConformance runs the SDK's conformance kit against the fake Discord:
// schemas agree with the Go types, results and vote outcomes match their
// schemas, the vote closes on DELETE, and slash commands that are
// unsigned, forged or delivered twice make no second event. The kit's
// gateway reads its settings from the environment, hence Setenv (and no
// t.Parallel).
func TestConformance(t *testing.T) {
	fake := discordfake.New(t)
	t.Setenv(discord.SettingClientID, discordfake.ClientID)
	t.Setenv(discord.SettingBotToken, discordfake.BotToken)
	t.Setenv(discord.SettingPublicKey, discordfake.PublicKey)
	t.Setenv(discord.SettingAPIURL, fake.URL)
	plugintest.Exercise(t, plugintest.Suite{
		Plugin: "discord",
		Config: map[string]any{"guild_id": discordfake.GuildID, "guild_name": discordfake.GuildName},
		Actions: []plugintest.Call{
			{Action: "get-guild", Params: map[string]any{}},
			{Action: "method", Params: map[string]any{"route": "/guilds/" + discordfake.GuildID}},
			{Action: "post-message", Params: map[string]any{"channel": discordfake.General, "text": "hi"}},
			{Action: "post-message", Params: map[string]any{"channel": "42", "text": "hi"},
				WantStatus: http.StatusUnprocessableEntity, WantField: "/channel"},
			{Action: "register-guild-command", Params: map[string]any{"name": "vote", "description": "Start a vote"}},
		},
		Processes: []plugintest.Start{
			{Process: "vote", Input: map[string]any{"title": "Lunch?", "poll_type": "boolean", "channel": discordfake.General}},
			{Process: "vote", Input: map[string]any{"title": "Where?", "poll_type": "choice", "channel": discordfake.General},
				WantStatus: http.StatusBadRequest, WantField: "/options"},
		},
		Webhook: &plugintest.Webhook{
			Body:   fake.SlashCommand(discordfake.Member, "propose").Body,
			Sign:   discordfake.Headers,
			Replay: plugintest.ReplayDropped,
		},
		// Another slash command (its own interaction id) for the app's
		// path, /api/hooks/discord.
		PlatformWebhook: &plugintest.Webhook{
			Body:   fake.SlashCommand(discordfake.Member, "propose").Body,
			Sign:   discordfake.Headers,
			Replay: plugintest.ReplayDropped,
		},
	})
}
