package discord_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/internal/app"
	"github.com/metagov/metagov-go/internal/apptest"
	"github.com/metagov/metagov-go/plugins/discord"
	"github.com/metagov/metagov-go/plugins/discord/discordfake"
)

func TestPostMessage(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		b := setup(t, db)
		r := b.s.Do("POST", "/api/internal/action/discord.post-message",
			[]byte(`{"parameters": {"channel": `+discordfake.General+`, "text": "hello", "tts": false}}`), header...)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		out := decode(t, r.Body)
		assert.Equal(t, discordfake.General, out["channel_id"], "the snowflake given as a number arrives unrounded")
		req, ok := b.fake.Last("POST", "/v10/channels/"+discordfake.General+"/messages")
		require.True(t, ok)
		assert.Equal(t, "Bot "+discordfake.BotToken, req.Header.Get("Authorization"))
		assert.Equal(t, map[string]any{"content": "hello", "tts": false}, req.JSON())
	})
}

func TestActionErrors(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		b := setup(t, db)
		// An unknown channel is the driver's input: 422 naming it.
		r := b.action("post-message", map[string]any{"channel": "123", "text": "hi"})
		require.Equal(t, http.StatusUnprocessableEntity, r.Status, string(r.Body))
		e := decode(t, r.Body)
		assert.Equal(t, "platform_rejected", e["code"])
		assert.Equal(t, "/channel", e["field"])
		assert.Contains(t, e["detail"], "Unknown Channel")

		// Discord's Invalid Form Body names the field.
		b.fake.FailNext(http.StatusBadRequest, `{"code": 50035, "message": "Invalid Form Body", "errors": {"content": {"_errors": [{"code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 2000 or fewer in length."}]}}}`)
		r = b.action("post-message", map[string]any{"channel": discordfake.General, "text": "hi"})
		require.Equal(t, http.StatusUnprocessableEntity, r.Status, string(r.Body))
		e = decode(t, r.Body)
		assert.Equal(t, "/text", e["field"])
		assert.Contains(t, e["detail"], "Must be 2000 or fewer")

		// A rate limit says when to retry; a server error is a 502.
		b.fake.FailNext(http.StatusTooManyRequests, `{"message": "You are being rate limited.", "retry_after": 1.5, "global": false}`)
		r = b.action("get-guild", map[string]any{})
		require.Equal(t, http.StatusBadGateway, r.Status, string(r.Body))
		assert.Contains(t, decode(t, r.Body)["detail"], "retry after 1.5 s")
		b.fake.FailNext(http.StatusInternalServerError, `{"message": "500: Internal Server Error", "code": 0}`)
		r = b.action("get-guild", map[string]any{})
		require.Equal(t, http.StatusBadGateway, r.Status, string(r.Body))

		// A snowflake that is not one is refused before Discord.
		n := len(b.fake.Requests())
		r = b.action("post-message", map[string]any{"channel": "general", "text": "hi"})
		require.Equal(t, http.StatusBadRequest, r.Status, string(r.Body))
		assert.Equal(t, "/channel", decode(t, r.Body)["field"])
		assert.Len(t, b.fake.Requests(), n)
	})
}

func TestRegisterGuildCommand(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		b := setup(t, db)
		r := b.action("register-guild-command", map[string]any{"name": "vote", "description": "Start a vote"})
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		cmd := decode(t, r.Body)
		id, _ := cmd["id"].(string)
		require.NotEmpty(t, id)
		_, ok := b.fake.Last("POST", "/v10/applications/"+discordfake.ClientID+"/guilds/"+discordfake.GuildID+"/commands")
		require.True(t, ok)

		// Updating is a PATCH of that command (the original POSTed again).
		r = b.action("register-guild-command", map[string]any{"name": "vote", "description": "Vote on it", "command_id": id})
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		req, ok := b.fake.Last("PATCH", "/v10/applications/"+discordfake.ClientID+"/guilds/"+discordfake.GuildID+"/commands/"+id)
		require.True(t, ok)
		assert.Equal(t, map[string]any{"name": "vote", "description": "Vote on it"}, req.JSON())
		got, _ := b.fake.Command(id)
		assert.Equal(t, "Vote on it", got["description"])

		r = b.action("register-guild-command", map[string]any{"name": "vote", "command_id": "999"})
		require.Equal(t, http.StatusUnprocessableEntity, r.Status, string(r.Body))
		assert.Equal(t, "/command_id", decode(t, r.Body)["field"])
	})
}

func TestMethodAndGetGuild(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		b := setup(t, db)
		r := b.action("get-guild", map[string]any{})
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		assert.Equal(t, discordfake.GuildName, decode(t, r.Body)["name"])

		// The original's routes carried /v8: it becomes v10.
		r = b.action("method", map[string]any{"route": "/v8/guilds/" + discordfake.GuildID})
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		assert.Equal(t, discordfake.GuildID, decode(t, r.Body)["id"])

		r = b.action("method", map[string]any{"route": "/channels/" + discordfake.General + "/messages", "method": "POST", "content": "via method"})
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		assert.Equal(t, "via method", decode(t, r.Body)["content"])

		r = b.action("method", map[string]any{"route": "/guilds/5"})
		require.Equal(t, http.StatusUnprocessableEntity, r.Status, string(r.Body))
		assert.Equal(t, "/route", decode(t, r.Body)["field"])

		r = b.action("method", map[string]any{"route": "/guilds/../users"})
		require.Equal(t, http.StatusBadRequest, r.Status, string(r.Body))
	})
}

// TestActionTimeout: Discord not answering in time is a 504.
func TestActionTimeout(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		b := setup(t, db, app.Config{PlatformTimeout: 200 * time.Millisecond})
		b.fake.StallNext()
		r := b.action("get-guild", map[string]any{})
		require.Equal(t, http.StatusGatewayTimeout, r.Status, string(r.Body))
		r = b.action("get-guild", map[string]any{})
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	})
}

// TestNotConfigured: a gateway without the bot token says so, naming the
// setting, and sends nothing to Discord.
func TestNotConfigured(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		fake := discordfake.New(t)
		s := apptest.Start(t, db, app.Config{Settings: func(name string) string {
			if name == discord.SettingAPIURL {
				return fake.URL
			}
			return ""
		}})
		r := s.Do("POST", "/api/internal/community", map[string]any{"slug": community, "readable_name": "Discord town"})
		require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
		r = s.Do("POST", "/api/internal/plugin/discord", map[string]any{"guild_id": discordfake.GuildID}, header...)
		require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
		r = s.Do("POST", "/api/internal/action/discord.get-guild", map[string]any{"parameters": map[string]any{}}, header...)
		require.Equal(t, http.StatusInternalServerError, r.Status, string(r.Body))
		e := decode(t, r.Body)
		assert.Equal(t, "plugin_not_configured", e["code"])
		assert.Contains(t, e["detail"], discord.SettingBotToken)
		assert.Empty(t, fake.Requests())
	})
}
