// Package twitter posts to X (formerly Twitter) and follows an account's
// timeline, on the X API v2 (https://docs.x.com/x-api) with OAuth 1.0a
// user context: every request is signed with the app's consumer key and
// secret and the account's access token and secret
// (github.com/dghubble/oauth1 does the signing).
//
// The original used API v1.1 endpoints X has retired; the actions keep its
// names, parameters and results on their v2 successors:
//
//   - send-tweet {text}: POST /2/tweets, only when the config's
//     allow_posting_tweets is true; returns the new post ({id, text, …}).
//   - send-dm {user_id, text}: POST /2/dm_conversations/with/{user_id}/messages;
//     returns {dm_conversation_id, dm_event_id}.
//   - get-user-id {screen_name}: GET /2/users/by/username/{screen_name};
//     returns the user's numeric id, or false when there is no such user.
//
// A poller reads the account's own timeline (GET /2/users/{id}/tweets with
// since_id) and emits a timeline_tweet event per new post, oldest first.
// It honours X's rate limits: after a 429, or an answer whose
// x-rate-limit-remaining is 0, it waits until x-rate-limit-reset.
//
// Credentials are per instance (write-only). Without them the gateway's
// TWITTER_API_KEY, TWITTER_API_SECRET_KEY, TWITTER_ACCESS_TOKEN and
// TWITTER_ACCESS_TOKEN_SECRET settings (the original's one global account)
// are used, but only towards the gateway's METAGOV_TWITTER_API_URL (default
// https://api.x.com).
package twitter

import (
	"context"
	"fmt"
	"net/url"
	"reflect"
	"strings"
	"time"

	"github.com/metagov/metagov-go/plugin"
)

// DefaultAPIURL is X's API host.
const DefaultAPIURL = "https://api.x.com"

// The gateway settings of the original's global account, and the only host
// they are sent to.
const (
	SettingAPIKey            = "TWITTER_API_KEY"
	SettingAPISecretKey      = "TWITTER_API_SECRET_KEY"
	SettingAccessToken       = "TWITTER_ACCESS_TOKEN"
	SettingAccessTokenSecret = "TWITTER_ACCESS_TOKEN_SECRET"
	SettingAPIURL            = "METAGOV_TWITTER_API_URL"
)

// PollInterval is how often the timeline is read. X's user-timeline limit
// on its smaller plans is a few requests per 15 minutes; the rate-limit
// headers stretch it further when needed.
const PollInterval = 5 * time.Minute

func init() {
	plugin.Register(plugin.Info{
		Name:         "twitter",
		Description:  "Post to X (Twitter), send direct messages, look up users and follow the account's timeline (X API v2)",
		AuthType:     plugin.AuthAPIKey,
		Config:       configSchema,
		ConfigType:   reflect.TypeFor[Config](),
		New:          func() plugin.Instance { return &Twitter{} },
		PollInterval: PollInterval,
		Actions: []plugin.Action{
			{Name: "send-tweet", Description: "Send a tweet", Input: sendTweetInputSchema, Output: sendTweetOutputSchema, Run: plugin.Bind((*Twitter).sendTweet)},
			{Name: "send-dm", Description: "Send a direct message", Input: sendDMInputSchema, Output: sendDMOutputSchema, Run: plugin.Bind((*Twitter).sendDM)},
			{Name: "get-user-id", Description: "Gets user id of a Twitter user", Input: getUserIDInputSchema, Output: getUserIDOutputSchema, Run: plugin.Bind((*Twitter).getUserID)},
		},
		Events: []plugin.EventType{{
			Type:        "timeline_tweet",
			Description: "A new post on the account's timeline: X's post object (id, text, author_id, created_at, …).",
			Schema:      timelineTweetSchema,
		}},
	})
}

var configSchema = plugin.Schema(`{
	"type": "object",
	"properties": {
		"allow_posting_tweets": {"type": "boolean", "default": false, "description": "send-tweet posts only when this is true, as in the original."},
		"api_key": {"type": "string", "minLength": 1, "maxLength": 256, "writeOnly": true, "description": "The X app's API key (OAuth 1.0a consumer key)."},
		"api_secret_key": {"type": "string", "minLength": 1, "maxLength": 256, "writeOnly": true, "description": "The X app's API key secret (consumer secret)."},
		"access_token": {"type": "string", "minLength": 1, "maxLength": 256, "writeOnly": true, "description": "The account's access token, with read and write (and direct message) permission."},
		"access_token_secret": {"type": "string", "minLength": 1, "maxLength": 256, "writeOnly": true, "description": "The account's access token secret."},
		"api_url": {"type": "string", "default": "https://api.x.com", "pattern": "^https?://[^\\s]+$", "maxLength": 2048, "x-metagov-destination": true,
			"description": "X's API host."}
	}
}`)

// Config is the instance config.
type Config struct {
	AllowPostingTweets bool   `json:"allow_posting_tweets"`
	APIKey             string `json:"api_key"`
	APISecretKey       string `json:"api_secret_key"`
	AccessToken        string `json:"access_token"`
	AccessTokenSecret  string `json:"access_token_secret"`
	APIURL             string `json:"api_url"`
}

// Twitter is one community's X account.
type Twitter struct {
	allowPosting bool
	client       *client
}

// Provision chooses the credentials (the instance's four, or none and the
// gateway's for the gateway's host) and builds the signing client.
func (tw *Twitter) Provision(_ context.Context, env plugin.Env) error {
	var cfg Config
	if err := env.DecodeConfig(&cfg); err != nil {
		return fmt.Errorf("provisioning twitter: %w", err)
	}
	if cfg.APIURL == "" {
		cfg.APIURL = DefaultAPIURL
	}
	u, err := url.Parse(cfg.APIURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return &plugin.InputError{Field: "/api_url", Message: "api_url must be an http or https URL"}
	}
	apiURL := strings.TrimRight(cfg.APIURL, "/")
	creds := [4]string{cfg.APIKey, cfg.APISecretKey, cfg.AccessToken, cfg.AccessTokenSecret}
	names := [4]string{"api_key", "api_secret_key", "access_token", "access_token_secret"}
	given := 0
	for _, c := range creds {
		if c != "" {
			given++
		}
	}
	switch given {
	case 4:
	case 0:
		creds = [4]string{env.Setting(SettingAPIKey), env.Setting(SettingAPISecretKey), env.Setting(SettingAccessToken), env.Setting(SettingAccessTokenSecret)}
		for i, c := range creds {
			if c == "" {
				return &plugin.InputError{Field: "/" + names[i], Message: names[i] + " is required: the gateway has no TWITTER_* settings to fall back on"}
			}
		}
		globalURL := strings.TrimRight(env.Setting(SettingAPIURL), "/")
		if globalURL == "" {
			globalURL = DefaultAPIURL
		}
		if apiURL != globalURL {
			return &plugin.InputError{Field: "/api_key", Message: fmt.Sprintf(
				"credentials are required with api_url %s: the gateway's TWITTER_* settings are only sent to %s", apiURL, globalURL)}
		}
	default:
		for i, c := range creds {
			if c == "" {
				return &plugin.InputError{Field: "/" + names[i], Message: "give all four credentials (api_key, api_secret_key, access_token, access_token_secret) or none"}
			}
		}
	}
	tw.allowPosting = cfg.AllowPostingTweets
	tw.client = newClient(apiURL, creds, env.HTTPClient, env.Now)
	return nil
}

var (
	_ plugin.Provisioner = (*Twitter)(nil)
	_ plugin.Poller      = (*Twitter)(nil)
)
