// Package slack connects a community to a Slack workspace through one Slack
// app that every workspace installs (by OAuth, see the README): the Web API
// for actions and votes, and one gateway-wide receiver, /api/hooks/slack,
// for the app's Events API and Interactivity requests.
//
// Config (normally written by the OAuth install): team_id, which is also the
// instance's community_platform_id (a community may hold several
// workspaces), team_name, bot_token (write-only), bot_user_id,
// installer_user_id and installer_user_token (write-only). The app's own
// credentials and Slack's addresses are gateway settings, not config
// (SLACK_CLIENT_ID, SLACK_CLIENT_SECRET, SLACK_SIGNING_SECRET, SLACK_APP_ID,
// METAGOV_SLACK_API_URL, METAGOV_SLACK_OAUTH_URL): every secret a config
// holds is sent only to the API URL of the settings, so no config property
// is a destination.
//
// Install: GET /auth/slack/authorize sends the person to Slack's
// /oauth/v2/authorize; the callback exchanges the code with
// oauth.v2.access, checks with users.info that the installer is a workspace
// admin (owners are admins), refuses a workspace installed in another
// community (slack_wrong_community), and links the installer's (or, for
// type=user, the logged-in person's) Slack account to the community's
// identities as oauth, confirmed (strong).
//
// Actions: method (any Web API method, form-encoded with the bot token; on
// not_in_channel the bot joins the channel and the call is retried once) and
// post-message (to a channel, or to a group DM of users). Slack's refusals
// reach the driver with Slack's error code: 422 platform_rejected when the
// input is at fault, 502 when the token, the app's scopes or Slack are (a
// 429 from Slack is a 502 saying when to retry).
//
// Every request to /api/hooks/slack is verified before anything parses it:
// the v0 signature (hex HMAC-SHA256 of "v0:<timestamp>:<body>" with the
// signing secret, in X-Slack-Signature) and a timestamp within five minutes
// of the gateway's clock. Events API callbacks become driver events whose
// event_type is the Slack event's type, routed by team_id; block_actions
// payloads go to the team's pending votes. Nothing there calls Slack before
// answering, so Slack gets its answer well within its three seconds: what a
// vote must tell Slack (the refreshed message, a notice to an ineligible
// voter) is sent right after, by a durable timer.
//
// Processes: emoji-vote (one button per option) and advanced-vote (one
// select per candidate), with the original's inputs and outcomes.
package slack

import (
	"context"
	"fmt"
	"net/http"
	"reflect"

	"github.com/metagov/metagov-go/plugin"
)

func init() {
	plugin.Register(plugin.Info{
		Name:          "slack",
		Description:   "Slack workspace (one Slack app installed by OAuth): Web API actions, events, and votes with buttons and selects",
		AuthType:      plugin.AuthOAuth,
		Config:        configSchema,
		PlatformIDKey: "team_id",
		OAuth:         installer{},
		New:           func() plugin.Instance { return &Slack{} },
		Platform:      router{},
		Actions: []plugin.Action{
			{
				Name:        "method",
				Description: "Perform any Slack Web API method (method_name) with the other parameters as its arguments",
				Input:       methodInputSchema,
				Output:      answerSchema,
				InputType:   reflect.TypeFor[methodParams](),
				Run:         runMethod,
			},
			{
				Name:        "post-message",
				Description: "Post a message to a channel, or to a group DM of users",
				Input:       postMessageInputSchema,
				Output:      answerSchema,
				InputType:   reflect.TypeFor[postMessageParams](),
				Run:         runPostMessage,
			},
		},
		Processes: []plugin.ProcessType{
			{
				Name:        "emoji-vote",
				Description: "A vote in a Slack message with one button per option (yes/no or choices); re-voting moves the vote",
				Input:       emojiVoteInputSchema,
				InputType:   reflect.TypeFor[emojiVoteInput](),
				Outcome:     emojiVoteOutcomeSchema,
				New:         func(inst plugin.Instance) plugin.ProcessHandler { s, _ := inst.(*Slack); return emojiVote{s: s} },
			},
			{
				Name:        "advanced-vote",
				Description: "A vote in a Slack message with one select per candidate, each voter choosing an option for every candidate",
				Input:       advancedVoteInputSchema,
				InputType:   reflect.TypeFor[advancedVoteInput](),
				Outcome:     advancedVoteOutcomeSchema,
				New:         func(inst plugin.Instance) plugin.ProcessHandler { s, _ := inst.(*Slack); return advancedVote{s: s} },
			},
		},
		Events: eventTypes,
	})
}

// config is the instance config.
type config struct {
	TeamID             string `json:"team_id"`
	TeamName           string `json:"team_name"`
	BotToken           string `json:"bot_token"`
	BotUserID          string `json:"bot_user_id"`
	InstallerUserID    string `json:"installer_user_id"`
	InstallerUserToken string `json:"installer_user_token"`
}

// Slack is one workspace's instance.
type Slack struct {
	st  settings
	cfg config
	env plugin.Env
	api *client
}

// Provision takes the config and the gateway's HTTP client.
func (s *Slack) Provision(_ context.Context, env plugin.Env) error {
	if err := env.DecodeConfig(&s.cfg); err != nil {
		return err
	}
	s.env = env
	s.st = readSettings(env.Settings)
	hc := env.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	s.api = &client{api: s.st.APIURL, token: s.cfg.BotToken, hc: hc}
	return nil
}

// asSlack asserts the instance's type for the untyped Run functions.
func asSlack(inst plugin.Instance) (*Slack, error) {
	typed, ok := inst.(*Slack)
	if !ok {
		return nil, fmt.Errorf("plugin instance is %T, not *slack.Slack", inst)
	}
	return typed, nil
}
