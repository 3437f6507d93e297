package slack_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/internal/app"
	"github.com/metagov/metagov-go/internal/apptest"
	"github.com/metagov/metagov-go/plugins/slack"
	"github.com/metagov/metagov-go/plugins/slack/slackfake"
)

const community = "slack-town"

// header selects the community on actions and processes.
var header = []string{"X-Metagov-Community", community}

// testBundle is a gateway serving the Slack plugin against a fake Slack,
// with a community that enabled the fake workspace.
type testBundle struct {
	fake *slackfake.Fake
	s    *apptest.Server
}

// settings points the plugin at the fake, with the fake app's credentials.
func settings(f *slackfake.Fake) func(string) string {
	values := map[string]string{
		slack.SettingClientID: slackfake.ClientID, slack.SettingClientSecret: slackfake.ClientSecret,
		slack.SettingSigningSecret: slackfake.SigningSecret, slack.SettingAppID: slackfake.AppID,
		slack.SettingAPIURL: f.APIURL(), slack.SettingOAuthURL: f.URL,
	}
	return func(name string) string { return values[name] }
}

// setup starts a gateway on db whose Slack plugin talks to a new fake, and
// enables the fake workspace in the community.
func setup(t *testing.T, db apptest.Database, cfg app.Config) *testBundle {
	t.Helper()
	b := &testBundle{fake: slackfake.New(t)}
	cfg.Settings = settings(b.fake)
	b.s = apptest.Start(t, db, cfg)
	r := b.s.Do("POST", "/api/internal/community", map[string]any{"slug": community, "readable_name": "Slack town"})
	require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
	r = b.s.Do("POST", "/api/internal/plugin/slack", map[string]any{
		"team_id": slackfake.TeamID, "team_name": slackfake.TeamName, "bot_token": slackfake.BotToken,
		"bot_user_id": slackfake.BotUserID}, header...)
	require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
	return b
}

// action performs slack.<name> with params.
func (b *testBundle) action(name string, params map[string]any) apptest.Response {
	return b.s.Do("POST", "/api/internal/action/slack."+name, map[string]any{"parameters": params}, header...)
}

// send delivers a request from the fake to the global receiver.
func (b *testBundle) send(t *testing.T, req *slackfake.Request) slackfake.Reply {
	t.Helper()
	reply, err := req.Send(b.s.URL + "/api/hooks/slack")
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

// eventually waits for cond, failing after a while: for what the gateway
// does after answering (a vote's durable timer).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
