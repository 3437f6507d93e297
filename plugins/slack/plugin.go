// Package slack connects a community to a Slack workspace through one Slack
// app that every workspace installs (by OAuth, see the README): the Web API
// for actions and votes, and one gateway-wide receiver, /api/hooks/slack,
// for the app's Events API and Interactivity requests.
//
// Config (normally written by the OAuth install): team_id, which is also the
// instance's community_platform_id (a community may hold several
// workspaces), team_name, bot_token (write-only), bot_user_id,
// installer_user_id and installer_user_token (write-only). The app's own
// credentials and Slack's addresses are gateway settings, not config (see
// [Settings]): every secret a config holds is sent only to the API URL of
// the settings, so no config property is a destination.
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
	"sync"

	"github.com/metagov/metagov-go/plugin"
)

func init() {
	plugin.Register(NewInfo(sync.OnceValue(SettingsFromEnv)))
}

// NewInfo describes the plugin with the settings that settings returns
// (called when they are first needed, after the gateway's command has read
// its .env file). init registers it with [SettingsFromEnv]; tests serve it
// with their own settings (app.Config.Plugins).
func NewInfo(settings func() Settings) plugin.Info {
	get := func() Settings { return settings().withDefaults() }
	return plugin.Info{
		Name:          "slack",
		Description:   "Slack workspace (one Slack app installed by OAuth): Web API actions, events, and votes with buttons and selects",
		AuthType:      plugin.AuthOAuth,
		Config:        configSchema,
		PlatformIDKey: "team_id",
		New:           func() plugin.Instance { return &Slack{settings: get} },
		Platform:      &router{settings: get},
		Actions: []plugin.Action{
			{
				Name:        "method",
				Description: "Perform any Slack Web API method (method_name) with the other parameters as its arguments",
				Input:       methodInputSchema,
				Output:      answerSchema,
				Run:         runMethod,
			},
			{
				Name:        "post-message",
				Description: "Post a message to a channel, or to a group DM of users",
				Input:       postMessageInputSchema,
				Output:      answerSchema,
				Run:         runPostMessage,
			},
		},
		Processes: []plugin.ProcessType{
			{
				Name:        "emoji-vote",
				Description: "A vote in a Slack message with one button per option (yes/no or choices); re-voting moves the vote",
				Input:       emojiVoteInputSchema,
				Outcome:     emojiVoteOutcomeSchema,
				New:         func(inst plugin.Instance) plugin.ProcessHandler { s, _ := inst.(*Slack); return emojiVote{s: s} },
			},
			{
				Name:        "advanced-vote",
				Description: "A vote in a Slack message with one select per candidate, each voter choosing an option for every candidate",
				Input:       advancedVoteInputSchema,
				Outcome:     advancedVoteOutcomeSchema,
				New:         func(inst plugin.Instance) plugin.ProcessHandler { s, _ := inst.(*Slack); return advancedVote{s: s} },
			},
		},
		Events: eventTypes,
	}
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
	settings func() Settings
	cfg      config
	env      plugin.Env
	api      *client
}

// Provision takes the config and the gateway's HTTP client.
func (s *Slack) Provision(_ context.Context, env plugin.Env) error {
	if err := env.DecodeConfig(&s.cfg); err != nil {
		return err
	}
	s.env = env
	hc := env.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	s.api = &client{api: s.settings().APIURL, token: s.cfg.BotToken, hc: hc}
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
