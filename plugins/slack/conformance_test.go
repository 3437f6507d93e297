package slack_test

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/metagov/metagov-go/plugin/plugintest"
	"github.com/metagov/metagov-go/plugins/slack"
	"github.com/metagov/metagov-go/plugins/slack/slackfake"
)

// TestConformance runs the SDK's conformance kit against the fake Slack:
// schemas agree with the Go types, results and vote outcomes match their
// schemas, both votes close on DELETE, and events that are unsigned, forged
// or delivered twice make no second event. The kit's gateway reads its
// settings from the environment, hence Setenv (and no t.Parallel).
func TestConformance(t *testing.T) {
	fake := slackfake.New(t)
	t.Setenv(slack.SettingSigningSecret, slackfake.SigningSecret)
	t.Setenv(slack.SettingAPIURL, fake.APIURL())
	t.Setenv(slack.SettingAppID, slackfake.AppID)
	event, _ := fake.Event(slackfake.TeamID, map[string]any{"type": "reaction_added", "user": slackfake.Member,
		"reaction": "tada", "item_user": slackfake.Admin,
		"item": map[string]any{"type": "message", "channel": slackfake.General, "ts": "1700000001.000100"}})
	// Another event (its own event_id) for the app's path, /api/hooks/slack.
	platformEvent, _ := fake.Event(slackfake.TeamID, map[string]any{"type": "reaction_added", "user": slackfake.Admin,
		"reaction": "tada", "item_user": slackfake.Member,
		"item": map[string]any{"type": "message", "channel": slackfake.General, "ts": "1700000002.000100"}})
	sign := func(body []byte) http.Header {
		ts := strconv.FormatInt(time.Now().Unix(), 10)
		return http.Header{"X-Slack-Request-Timestamp": {ts}, "X-Slack-Signature": {slackfake.Sign(slackfake.SigningSecret, ts, body)}}
	}
	plugintest.Exercise(t, plugintest.Suite{
		Plugin: "slack",
		Config: map[string]any{"team_id": slackfake.TeamID, "team_name": slackfake.TeamName,
			"bot_token": slackfake.BotToken, "bot_user_id": slackfake.BotUserID},
		Actions: []plugintest.Call{
			{Action: "method", Params: map[string]any{"method_name": "chat.postMessage", "channel": slackfake.General, "text": "hi"}},
			{Action: "post-message", Params: map[string]any{"users": []string{slackfake.Member}, "text": "hello"}},
			{Action: "post-message", Params: map[string]any{"channel": "C0NOWHERE", "text": "hello"},
				WantStatus: http.StatusUnprocessableEntity, WantField: "/channel"},
		},
		Processes: []plugintest.Start{
			{Process: "emoji-vote", Input: map[string]any{"title": "Lunch?", "poll_type": "boolean", "channel": slackfake.General}},
			{Process: "emoji-vote", Input: map[string]any{"title": "Where?", "poll_type": "choice", "channel": slackfake.General}, WantStatus: http.StatusBadRequest, WantField: "/options"},
			{Process: "advanced-vote", Input: map[string]any{"title": "Budget", "candidates": []string{"v1.2", "v2"},
				"options": []string{"yes", "no"}, "eligible_voters": []string{slackfake.Admin, slackfake.Member}}},
		},
		Webhook:         &plugintest.Webhook{Body: event.Body, Sign: sign, Replay: plugintest.ReplayDropped},
		PlatformWebhook: &plugintest.Webhook{Body: platformEvent.Body, Sign: sign, Replay: plugintest.ReplayDropped},
	})
}
