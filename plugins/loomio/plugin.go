// Package loomio connects a community to a Loomio group (https://www.loomio.org,
// or a self-hosted Loomio) through Loomio's group API, /api/b1, whose calls
// carry a group's API key as the api_key parameter.
//
// Actions: list-members (the group's memberships) and create-discussion (a
// new thread). Process: poll, a Loomio poll of any type (proposal, poll,
// count, score, ranked_choice, meeting, dot_vote). Subgroups: the config may
// list API keys of subgroups; Initialize asks Loomio which group each key
// belongs to, and actions and polls choose a key with their "subgroup"
// parameter (the group's key or handle).
//
// Loomio signs nothing it sends, so the webhook is protected by an
// unguessable path (webhook_slug, required) and is never trusted: a webhook
// naming one of our polls only makes the plugin fetch that poll from the
// API. Votes (stance_created) update the outcome, and a closed poll
// (poll_closed_by_user, poll_expired) completes the process. The plugin also
// fetches the poll at its closing time by a durable timer, so a poll
// completes even if its webhook never arrives; the original's poll was never
// updated at all before its webhook receiver was wired (catalog §7 item 8).
//
// Loomio cannot close a poll through this API, so DELETE on a poll answers
// 405. The plugin emits no events.
package loomio

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/metagov/metagov-go/plugin"
)

func init() {
	plugin.Register(plugin.Info{
		Name:        "loomio",
		Description: "Loomio group: members, discussions and polls updated by webhook",
		AuthType:    plugin.AuthAPIKey,
		Config:      configSchema,
		New:         func() plugin.Instance { return &Loomio{} },
		Actions: []plugin.Action{
			{
				Name:        "list-members",
				Description: "list groups and users",
				Input:       listMembersInputSchema,
				Run:         plugin.Bind((*Loomio).listMembers),
			},
			{
				Name:        "create-discussion",
				Description: "create a new discussion",
				Input:       createDiscussionInputSchema,
				Run:         plugin.Bind((*Loomio).createDiscussion),
			},
		},
		Processes: []plugin.ProcessType{{
			Name:        "poll",
			Description: "A Loomio poll; its outcome follows the votes and it completes when Loomio closes it",
			Input:       pollInputSchema,
			Outcome:     pollOutcomeSchema,
			New:         func(inst plugin.Instance) plugin.ProcessHandler { l, _ := inst.(*Loomio); return poll{l: l} },
		}},
	})
}

// defaultServerURL is the public Loomio; the catalog's API base is
// <server_url>/api/b1/.
const defaultServerURL = "https://www.loomio.org"

// configSchema: webhook_slug is required because it is the webhook's only
// protection. Secrets, including every subgroup key, are write-only.
var configSchema = plugin.Schema(`{
	"type": "object",
	"additionalProperties": false,
	"properties": {
		"api_key": {"type": "string", "minLength": 1, "writeOnly": true,
			"description": "API key of the main group (group settings, Integrations, API)."},
		"subgroup_api_keys": {"type": "array", "items": {"type": "string", "minLength": 1, "writeOnly": true},
			"description": "API keys of subgroups; actions and polls choose one with their subgroup parameter."},
		"server_url": {"type": "string", "x-metagov-destination": true, "pattern": "^https?://[^\\s]+$", "maxLength": 2048, "default": "https://www.loomio.org",
			"description": "Base URL of the Loomio instance; the API is <server_url>/api/b1/ and polls are at <server_url>/p/<key>."},
		"webhook_slug": {"type": "string", "pattern": "^[A-Za-z0-9_-]{16,}$", "maxLength": 128,
			"description": "At least 16 random letters, digits, '-' or '_', appended to the webhook URL to make it unguessable: Loomio does not sign webhooks."}
	},
	"required": ["api_key", "webhook_slug"]
}`)

// Config is the instance config. It is never changed by the plugin (the
// original appended the main key to subgroup_api_keys, catalog §7 item 16).
type Config struct {
	APIKey          string   `json:"api_key"`
	SubgroupAPIKeys []string `json:"subgroup_api_keys"`
	ServerURL       string   `json:"server_url"`
	WebhookSlug     string   `json:"webhook_slug"` // used by the gateway's routing only
}

// Loomio is one community's connection to a Loomio group and its subgroups.
type Loomio struct {
	cfg       Config
	serverURL string // without a trailing slash
	client    *client
}

// Provision checks the server URL and builds the API client over the
// gateway's HTTP client, which bounds every call with a timeout.
func (l *Loomio) Provision(_ context.Context, env plugin.Env) error {
	if err := env.DecodeConfig(&l.cfg); err != nil {
		return fmt.Errorf("provisioning loomio: %w", err)
	}
	if l.cfg.ServerURL == "" {
		l.cfg.ServerURL = defaultServerURL
	}
	u, err := url.Parse(l.cfg.ServerURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return &plugin.InputError{Field: "/server_url", Message: "server_url must be an http or https URL"}
	}
	if l.cfg.APIKey == "" {
		return &plugin.InputError{Field: "/api_key", Message: "api_key is required"}
	}
	l.serverURL = strings.TrimRight(l.cfg.ServerURL, "/")
	l.client = newClient(l.serverURL+"/api/b1/", env.HTTPClient)
	return nil
}

// pollURL is where people vote on a poll.
func (l *Loomio) pollURL(key string) string { return l.serverURL + "/p/" + key }

// The interface guards make the compiler check that the gateway will find the
// capabilities this package means to offer.
var (
	_ plugin.Provisioner            = (*Loomio)(nil)
	_ plugin.Initializer            = (*Loomio)(nil)
	_ plugin.WebhookReceiver        = (*Loomio)(nil)
	_ plugin.ProcessHandler         = poll{}
	_ plugin.ProcessWaker           = poll{}
	_ plugin.ProcessWebhookReceiver = poll{}
)
