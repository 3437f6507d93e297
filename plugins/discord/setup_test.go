package discord_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/internal/app"
	"github.com/metagov/metagov-go/internal/apptest"
	"github.com/metagov/metagov-go/plugins/discord"
	"github.com/metagov/metagov-go/plugins/discord/discordfake"
)

const community = "discord-town"

// header selects the community on actions and processes.
var header = []string{"X-Metagov-Community", community}

// testBundle is a gateway serving the Discord plugin against a fake
// Discord, with a community that enabled the fake guild.
type testBundle struct {
	fake *discordfake.Fake
	s    *apptest.Server
}

// settings points the plugin at the fake, with the fake application's
// credentials.
func settings(f *discordfake.Fake) func(string) string {
	values := map[string]string{
		discord.SettingClientID: discordfake.ClientID, discord.SettingClientSecret: discordfake.ClientSecret,
		discord.SettingBotToken: discordfake.BotToken, discord.SettingPublicKey: discordfake.PublicKey,
		discord.SettingAPIURL: f.URL,
	}
	return func(name string) string { return values[name] }
}

// setup starts a gateway on db whose Discord plugin talks to a new fake,
// and enables the fake guild in the community, its id given as a JSON
// number (as the original's drivers send it) to show it is not rounded.
func setup(t *testing.T, db apptest.Database, cfgs ...app.Config) *testBundle {
	t.Helper()
	b := &testBundle{fake: discordfake.New(t)}
	var cfg app.Config
	if len(cfgs) > 0 {
		cfg = cfgs[0]
	}
	cfg.Settings = settings(b.fake)
	b.s = apptest.Start(t, db, cfg)
	r := b.s.Do("POST", "/api/internal/community", map[string]any{"slug": community, "readable_name": "Discord town"})
	require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
	r = b.s.Do("POST", "/api/internal/plugin/discord",
		json.RawMessage(`{"guild_id": `+discordfake.GuildID+`, "guild_name": "Fake Guild"}`), header...)
	require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
	return b
}

// action performs discord.<name> with params.
func (b *testBundle) action(name string, params any) apptest.Response {
	return b.s.Do("POST", "/api/internal/action/discord."+name, map[string]any{"parameters": params}, header...)
}

// send delivers an interaction from the fake to the global endpoint.
func (b *testBundle) send(t *testing.T, in *discordfake.Interaction) discordfake.Reply {
	t.Helper()
	reply, err := in.Send(b.s.URL + "/api/hooks/discord")
	require.NoError(t, err)
	return reply
}

// events lists the driver events stored so far.
func (b *testBundle) events(t *testing.T) []map[string]any {
	t.Helper()
	r := b.s.Do("GET", "/api/internal/events?after=0&limit=1000", nil)
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	var page struct {
		Events []map[string]any `json:"events"`
	}
	require.NoError(t, json.Unmarshal(r.Body, &page))
	return page.Events
}

// decode reads a JSON answer.
func decode(t *testing.T, body []byte) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(body, &m), string(body))
	return m
}
