package slack_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/internal/app"
	"github.com/metagov/metagov-go/internal/apptest"
	"github.com/metagov/metagov-go/plugins/slack/slackfake"
)

// TestMethodAction performs Web API methods by name, form-encoded with the
// bot token: strings as they are, arrays as JSON text.
func TestMethodAction(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		b := setup(t, db, app.Config{})
		blocks := []map[string]any{{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": "*hi*"}}}
		r := b.action("method", map[string]any{"method_name": "chat.postMessage", "channel": slackfake.General,
			"text": "hello", "blocks": blocks, "unfurl_links": false})
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		out := r.JSON(t)
		require.NotContains(t, out, "ok")
		require.Equal(t, slackfake.General, out["channel"])
		m, found := b.fake.Message(slackfake.General, out["ts"].(string))
		require.True(t, found)
		require.Equal(t, "hello", m.Text)
		require.JSONEq(t, `[{"type":"section","text":{"type":"mrkdwn","text":"*hi*"}}]`, string(m.Blocks))
		call := b.fake.CallsOf("chat.postMessage")[0]
		require.Equal(t, slackfake.BotToken, call.Token)
		require.Equal(t, "false", call.Args["unfurl_links"])

		r = b.action("method", map[string]any{"method_name": "users.info", "user": slackfake.Admin})
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		require.Equal(t, true, r.JSON(t)["user"].(map[string]any)["is_admin"])
	})
}

// TestMethodJoinsChannel: a post to a channel the bot is not in answers
// not_in_channel; the bot joins and the post is retried once.
func TestMethodJoinsChannel(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		b := setup(t, db, app.Config{})
		require.False(t, b.fake.IsMember(slackfake.Random, slackfake.BotUserID))
		r := b.action("method", map[string]any{"method_name": "chat.postMessage", "channel": slackfake.Random, "text": "hi"})
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		var methods []string
		for _, c := range b.fake.Calls() {
			methods = append(methods, c.Method+":"+c.Error)
		}
		require.Equal(t, []string{"chat.postMessage:not_in_channel", "conversations.join:", "chat.postMessage:"}, methods)
		require.True(t, b.fake.IsMember(slackfake.Random, slackfake.BotUserID))
	})
}

// TestMethodErrors: Slack's refusals reach the driver with Slack's code, as
// a 422 when the input is at fault and a 502 when the token or Slack is.
func TestMethodErrors(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		b := setup(t, db, app.Config{})

		r := b.action("method", map[string]any{"method_name": "chat.postMessage", "channel": "C0NOWHERE", "text": "hi"})
		require.Equal(t, http.StatusUnprocessableEntity, r.Status, string(r.Body))
		e := r.JSON(t)
		require.Equal(t, "platform_rejected", e["code"])
		require.Equal(t, "/channel", e["field"])
		require.Contains(t, e["detail"], "channel_not_found")

		r = b.action("method", map[string]any{"method_name": "nosuch.method"})
		require.Equal(t, http.StatusUnprocessableEntity, r.Status, string(r.Body))
		require.Contains(t, r.JSON(t)["detail"], "unknown_method")
		require.Equal(t, "/method_name", r.JSON(t)["field"])

		b.fake.FailNext("chat.postMessage", "invalid_auth")
		r = b.action("method", map[string]any{"method_name": "chat.postMessage", "channel": slackfake.General, "text": "hi"})
		require.Equal(t, http.StatusBadGateway, r.Status, string(r.Body))
		require.Equal(t, "platform_error", r.JSON(t)["code"])
		require.Contains(t, r.JSON(t)["detail"], "invalid_auth")

		b.fake.RateLimitNext("chat.postMessage", 30)
		r = b.action("method", map[string]any{"method_name": "chat.postMessage", "channel": slackfake.General, "text": "hi"})
		require.Equal(t, http.StatusBadGateway, r.Status, string(r.Body))
		require.Contains(t, r.JSON(t)["detail"], "retry after 30 s")

		r = b.action("method", map[string]any{"channel": slackfake.General})
		require.Equal(t, http.StatusBadRequest, r.Status, string(r.Body))
		require.Equal(t, "/method_name", r.JSON(t)["field"])
	})
}

// TestPostMessage posts to a channel, or to the group DM of users opened
// with conversations.open.
func TestPostMessage(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		b := setup(t, db, app.Config{})
		r := b.action("post-message", map[string]any{"users": []string{slackfake.Admin, slackfake.Member}, "text": "psst"})
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		ch, found := b.fake.Channel(r.JSON(t)["channel"].(string))
		require.True(t, found)
		require.True(t, ch.IsMPIM)
		require.True(t, ch.Members[slackfake.Admin] && ch.Members[slackfake.Member] && ch.Members[slackfake.BotUserID])
		post := b.fake.CallsOf("chat.postMessage")[0]
		require.NotContains(t, post.Args, "users", "users is not an argument of chat.postMessage")

		r = b.action("post-message", map[string]any{"channel": slackfake.General, "text": "all"})
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		require.Equal(t, slackfake.General, r.JSON(t)["channel"])

		r = b.action("post-message", map[string]any{"text": "nowhere"})
		require.Equal(t, http.StatusBadRequest, r.Status, string(r.Body))
		require.Contains(t, r.JSON(t)["detail"], "users or channel are required")

		r = b.action("post-message", map[string]any{"users": []string{"U0NOBODY0"}, "text": "x"})
		require.Equal(t, http.StatusUnprocessableEntity, r.Status, string(r.Body))
		require.Equal(t, "/users", r.JSON(t)["field"])
	})
}
