// Package discourse connects a community to a Discourse forum
// (https://www.discourse.org) through its REST API
// (https://docs.discourse.org) with an admin API key.
//
// It offers the original Metagov's eight actions (create-message,
// create-post, create-topic, delete-post, delete-topic, recover-post,
// recover-topic, lock-post), one governance process, poll, which posts a
// Discourse poll (the bundled poll plugin's [poll] BBCode) and follows its
// votes by polling the post, and a webhook receiver that turns Discourse's
// post_created, topic_created and user_updated webhooks into driver events.
//
// Every request carries the Api-Key and Api-Username headers: Discourse
// needs both for an admin key (the original sent only Api-Key). Webhooks
// must be signed with the configured secret (X-Discourse-Event-Signature)
// and come from the configured server (X-Discourse-Instance); anything else
// is refused before its body is read.
//
// Limits: only the first page of active users is stored at initialization,
// as in the original; poll votes are polled every minute, since Discourse
// sends no webhook when someone votes.
package discourse

import (
	"context"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"time"

	"github.com/metagov/metagov-go/plugin"
)

// platform names Discourse in platform errors.
const platform = "discourse"

// pollInterval is how often pending polls are fetched from Discourse.
const pollInterval = time.Minute

func init() {
	plugin.Register(plugin.Info{
		Name:          "discourse",
		Description:   "Discourse forum: posts, topics, private messages, polls and forum events",
		AuthType:      plugin.AuthAPIKey,
		Config:        configSchema,
		ConfigType:    reflect.TypeFor[Config](),
		PlatformIDKey: "server_url",
		New:           func() plugin.Instance { return &Discourse{} },
		Actions:       actions,
		Processes: []plugin.ProcessType{{
			Name:         "poll",
			Description:  "A Discourse poll, posted as a new topic or a reply; votes are fetched every minute",
			Input:        pollInputSchema,
			InputType:    reflect.TypeFor[pollInput](),
			Outcome:      pollOutcomeSchema,
			PollInterval: pollInterval,
			New:          func(inst plugin.Instance) plugin.ProcessHandler { return poll{d: inst.(*Discourse)} },
		}},
		Events: eventTypes,
	})
}

// configSchema follows the original (server_url, api_key and webhook_secret
// required, no other properties) and adds api_username.
var configSchema = plugin.Schema(`{
	"type": "object",
	"additionalProperties": false,
	"properties": {
		"server_url": {"type": "string", "x-metagov-destination": true, "pattern": "^https?://[^/?#]+(/[^?#]*)?$",
			"description": "Base URL of the Discourse server, such as https://forum.example.org. It identifies the instance, and webhooks must name it in X-Discourse-Instance."},
		"api_key": {"type": "string", "minLength": 1, "writeOnly": true,
			"description": "Discourse admin API key (Admin > API > New API Key). Actions are taken on behalf of api_username."},
		"api_username": {"type": "string", "minLength": 1, "default": "system",
			"description": "Discourse user the API key acts as (the Api-Username header); an admin, such as a bot user."},
		"webhook_secret": {"type": "string", "minLength": 1, "writeOnly": true,
			"description": "A random string; enter the same under Secret when creating the webhook in Discourse (Admin > API > Webhooks)."},
		"webhook_slug": {"type": "string", "pattern": "^[A-Za-z0-9_-]+$", "maxLength": 128,
			"description": "Appended to the webhook path to make it unguessable."}
	},
	"required": ["server_url", "api_key", "webhook_secret"]
}`)

// Config is the instance config.
type Config struct {
	// ServerURL is the forum's base URL, stored without a trailing slash.
	ServerURL string `json:"server_url"`
	// APIKey authenticates every call (secret).
	APIKey string `json:"api_key"`
	// APIUsername is the user the key acts as.
	APIUsername string `json:"api_username"`
	// WebhookSecret keys the HMAC of webhook bodies (secret).
	WebhookSecret string `json:"webhook_secret"`
	// WebhookSlug is used by the gateway's routing only.
	WebhookSlug string `json:"webhook_slug"`
}

// Discourse is one enabled connection to a forum.
type Discourse struct {
	cfg    Config
	client *client
}

// Provision keeps the config and builds the API client over the gateway's
// HTTP client, which bounds every call with a timeout.
func (d *Discourse) Provision(_ context.Context, env plugin.Env) error {
	if err := env.DecodeConfig(&d.cfg); err != nil {
		return fmt.Errorf("provisioning discourse: %w", err)
	}
	d.cfg.ServerURL = normalizeServerURL(d.cfg.ServerURL)
	if d.cfg.APIUsername == "" {
		d.cfg.APIUsername = "system"
	}
	hc := env.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	d.client = &client{base: d.cfg.ServerURL, apiKey: d.cfg.APIKey, apiUsername: d.cfg.APIUsername, hc: hc}
	return nil
}

// normalizeServerURL drops trailing slashes, so that URLs built from it and
// the X-Discourse-Instance comparison do not depend on how it was typed.
func normalizeServerURL(u string) string { return strings.TrimRight(strings.TrimSpace(u), "/") }

// postURL is the human URL of a post, as the original built it.
func (d *Discourse) postURL(topicSlug string, topicID, postNumber int64) string {
	return fmt.Sprintf("%s/t/%s/%d/%d", d.cfg.ServerURL, topicSlug, topicID, postNumber)
}

// topicURL is the human URL of a topic.
func (d *Discourse) topicURL(slug string, id int64) string {
	return fmt.Sprintf("%s/t/%s/%d", d.cfg.ServerURL, slug, id)
}

// The interface guards make the compiler check that the gateway will find the
// capabilities this package means to offer.
var (
	_ plugin.Provisioner     = (*Discourse)(nil)
	_ plugin.Initializer     = (*Discourse)(nil)
	_ plugin.WebhookVerifier = (*Discourse)(nil)
	_ plugin.WebhookReceiver = (*Discourse)(nil)
	_ plugin.ProcessHandler  = poll{}
	_ plugin.ProcessPoller   = poll{}
	_ plugin.ProcessCloser   = poll{}
)
