package slack_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/internal/app"
	"github.com/metagov/metagov-go/internal/apptest"
	"github.com/metagov/metagov-go/plugins/slack/slackfake"
)

// TestEvents: signed Events API callbacks become driver events of the
// workspace's community, whose type is the Slack event's type.
func TestEvents(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		b := setup(t, db, app.Config{})
		req, _ := b.fake.Event(slackfake.TeamID, map[string]any{"type": "reaction_added", "user": slackfake.Member,
			"reaction": "thumbsup", "item_user": slackfake.Admin,
			"item": map[string]any{"type": "message", "channel": slackfake.General, "ts": "1700000001.000100"}})
		reply := b.send(t, req)
		require.Equal(t, http.StatusOK, reply.Status, reply.Body)

		req, _ = b.fake.Event(slackfake.TeamID, map[string]any{"type": "message", "user": slackfake.BotUserID,
			"text": "I said so", "channel": slackfake.General, "ts": "1700000002.000100", "channel_type": "channel"})
		require.Equal(t, http.StatusOK, b.send(t, req).Status)

		req, _ = b.fake.Event(slackfake.TeamID, map[string]any{"type": "channel_created",
			"channel": map[string]any{"id": "C0NEW0001", "name": "fresh", "created": 1700000000, "creator": slackfake.Admin}})
		require.Equal(t, http.StatusOK, b.send(t, req).Status)

		// user_change carries a user object, which stays in the data.
		req, _ = b.fake.Event(slackfake.TeamID, map[string]any{"type": "user_change",
			"user": map[string]any{"id": slackfake.Member, "name": "mo", "real_name": "Mo"}})
		require.Equal(t, http.StatusOK, b.send(t, req).Status)

		// Another app's event is acknowledged and ignored.
		req, _ = b.fake.Event(slackfake.TeamID, map[string]any{"type": "message", "user": slackfake.Member, "text": "x",
			"channel": slackfake.General, "ts": "1700000004.000100", "channel_type": "channel"})
		req.Body = []byte(strings.Replace(string(req.Body), `"api_app_id":"`+slackfake.AppID+`"`, `"api_app_id":"A0OTHERAPP"`, 1))
		req.Resign(slackfake.SigningSecret, time.Now())
		require.Equal(t, http.StatusOK, b.send(t, req).Status)

		// Another workspace's event has nowhere to go: acknowledged.
		req, _ = b.fake.Event("T0OTHER01", map[string]any{"type": "message", "user": slackfake.Member, "text": "x",
			"channel": "C0X", "ts": "1700000003.000100"})
		require.Equal(t, http.StatusOK, b.send(t, req).Status)

		events := b.events(t)
		require.Len(t, events, 4)
		require.Equal(t, "reaction_added", events[0]["event_type"])
		require.Equal(t, community, events[0]["community"])
		require.Equal(t, "slack", events[0]["source"])
		require.Equal(t, map[string]any{"user_id": slackfake.Member, "provider": "slack"}, events[0]["initiator"])
		data := events[0]["data"].(map[string]any)
		require.Equal(t, "thumbsup", data["reaction"])
		require.NotContains(t, data, "type")
		require.NotContains(t, data, "user")

		require.Equal(t, "message", events[1]["event_type"])
		require.Equal(t, map[string]any{"user_id": slackfake.BotUserID, "provider": "slack", "is_metagov_bot": true}, events[1]["initiator"])

		require.Equal(t, "channel_created", events[2]["event_type"])
		require.Equal(t, map[string]any{"user_id": nil, "provider": "slack"}, events[2]["initiator"])

		require.Equal(t, "user_change", events[3]["event_type"])
		require.Equal(t, "Mo", events[3]["data"].(map[string]any)["user"].(map[string]any)["real_name"])
	})
}

// TestEventsVerified: nothing unsigned, forged or stale is parsed; retries
// are acknowledged once handled.
func TestEventsVerified(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		b := setup(t, db, app.Config{})
		event := map[string]any{"type": "message", "user": slackfake.Member, "text": "x", "channel": slackfake.General, "ts": "1700000001.000100"}

		forged, _ := b.fake.Event(slackfake.TeamID, event)
		forged.Resign("not-the-secret", time.Now())
		reply := b.send(t, forged)
		require.Equal(t, http.StatusUnauthorized, reply.Status, reply.Body)

		tampered, _ := b.fake.Event(slackfake.TeamID, event)
		tampered.Body = append(tampered.Body[:len(tampered.Body)-1], []byte(`,"x":1}`)...)
		require.Equal(t, http.StatusUnauthorized, b.send(t, tampered).Status)

		stale, _ := b.fake.Event(slackfake.TeamID, event)
		stale.Resign(slackfake.SigningSecret, time.Now().Add(-6*time.Minute))
		require.Equal(t, http.StatusUnauthorized, b.send(t, stale).Status)

		unsigned, _ := b.fake.Event(slackfake.TeamID, event)
		unsigned.Header.Del("X-Slack-Signature")
		require.Equal(t, http.StatusUnauthorized, b.send(t, unsigned).Status)

		// So is an invalid body that is signed: a 400, nothing stored.
		garbage := b.fake.URLVerification("x")
		garbage.Body = []byte("{not json")
		garbage.Resign(slackfake.SigningSecret, time.Now())
		require.Equal(t, http.StatusBadRequest, b.send(t, garbage).Status)

		// The per-community path verifies the same way.
		reply, err := forged.Send(b.s.URL + "/api/hooks/" + community + "/slack")
		require.NoError(t, err)
		require.Equal(t, http.StatusUnauthorized, reply.Status, reply.Body)
		require.Empty(t, b.events(t))

		// A retry after a timeout: 200 with X-Slack-No-Retry, and the event
		// handled once only.
		req, _ := b.fake.Event(slackfake.TeamID, event)
		require.Equal(t, http.StatusOK, b.send(t, req).Status)
		req.Header.Set("X-Slack-Retry-Num", "1")
		req.Header.Set("X-Slack-Retry-Reason", "http_timeout")
		reply = b.send(t, req)
		require.Equal(t, http.StatusOK, reply.Status, reply.Body)
		require.Equal(t, "1", reply.Header.Get("X-Slack-No-Retry"))
		req.Header.Set("X-Slack-Retry-Num", "2")
		req.Header.Set("X-Slack-Retry-Reason", "http_error")
		reply = b.send(t, req)
		require.Equal(t, http.StatusOK, reply.Status, reply.Body)
		require.Empty(t, reply.Header.Get("X-Slack-No-Retry"))
		require.Len(t, b.events(t), 1)
	})
}

// TestURLVerification answers Slack's challenge, and app_rate_limited with
// 200; both must be signed too.
func TestURLVerification(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		b := setup(t, db, app.Config{})
		reply := b.send(t, b.fake.URLVerification("3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"))
		require.Equal(t, http.StatusOK, reply.Status)
		require.Equal(t, "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P", reply.Body)

		forged := b.fake.URLVerification("abc")
		forged.Header.Set("X-Slack-Signature", "v0=00")
		require.Equal(t, http.StatusUnauthorized, b.send(t, forged).Status)

		reply = b.send(t, b.fake.AppRateLimited())
		require.Equal(t, http.StatusOK, reply.Status, reply.Body)
		require.Empty(t, b.events(t))
	})
}
