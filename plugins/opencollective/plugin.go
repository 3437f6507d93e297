// Package opencollective connects a community to one collective on Open
// Collective (https://opencollective.com) through its GraphQL API v2
// (https://graphql-docs-v2.opencollective.com, endpoint
// {server_url}/graphql/v2).
//
// It offers the original's four actions (list-members, create-conversation,
// create-comment, process-expense), a vote process that opens a
// conversation and counts 👍 and 👎 reactions on it by polling, and turns
// the collective's expense activities, received by webhook, into driver
// events such as expense_created and expense_approved.
//
// Authentication is a personal token (config api_key, sent as the
// Personal-Token header that Open Collective documents; the original sent
// the older Api-Key header, which the API reads the same way) or an OAuth
// access token (config access_token, sent as Authorization: Bearer).
//
// Open Collective cannot sign its webhooks. They are trusted only as far as
// this: they must arrive on the unguessable webhook_slug path, name the
// collective or one of its projects, and every expense they mention is
// fetched again from the API, so the event carries the platform's data, not
// the sender's. Initialize registers the webhook itself, once per URL.
package opencollective

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/metagov/metagov-go/plugin"
)

// name is the plugin's name, its platform name in errors and the provider of
// event initiators.
const name = "opencollective"

func init() {
	plugin.Register(plugin.Info{
		Name:          name,
		Description:   "Open Collective: members, conversations, comments, expense approval, expense events and reaction votes",
		AuthType:      plugin.AuthAPIKey,
		Config:        configSchema,
		PlatformIDKey: "collective_slug",
		New:           func() plugin.Instance { return &OpenCollective{} },
		Actions:       actions,
		Processes: []plugin.ProcessType{{
			Name:        "vote",
			Description: "Open a conversation and count 👍 (yes) and 👎 (no) reactions on it until the vote is closed",
			Input:       voteInputSchema,
			Outcome:     voteOutcomeSchema,
			// Open Collective sends no webhook for reactions, so votes are
			// counted by polling.
			PollInterval: time.Minute,
			New:          func(inst plugin.Instance) plugin.ProcessHandler { return vote{oc: inst.(*OpenCollective)} },
		}},
		Events: eventTypes,
	})
}

// configSchema: exactly one of the two credentials, and a webhook slug long
// enough to be unguessable, since the slug is what authenticates webhooks.
var configSchema = plugin.Schema(`{
	"type": "object",
	"additionalProperties": false,
	"properties": {
		"collective_slug": {"type": "string", "minLength": 1,
			"description": "Slug of the collective, as in https://opencollective.com/<slug>."},
		"api_key": {"type": "string", "minLength": 1, "writeOnly": true,
			"description": "Personal token of the bot account (an admin of the collective), sent as the Personal-Token header. Give either this or access_token."},
		"access_token": {"type": "string", "minLength": 1, "writeOnly": true,
			"description": "OAuth access token of the bot account, sent as Authorization: Bearer. Give either this or api_key."},
		"webhook_slug": {"type": "string", "minLength": 16, "maxLength": 128, "pattern": "^[A-Za-z0-9_-]+$",
			"description": "Secret path segment of the webhook URL registered on Open Collective; Open Collective cannot sign webhooks, so this is what keeps forgers out. Change it to rotate the URL."},
		"server_url": {"type": "string", "x-metagov-destination": true, "format": "uri", "default": "https://api.opencollective.com",
			"description": "Base URL of the API; the GraphQL endpoint is <server_url>/graphql/v2."},
		"web_url": {"type": "string", "x-metagov-destination": false, "format": "uri", "default": "https://opencollective.com",
			"description": "Base URL of the website, for the links put in results and events."}
	},
	"required": ["collective_slug", "webhook_slug"],
	"oneOf": [
		{"required": ["api_key"]},
		{"required": ["access_token"]}
	]
}`)

// Config is the instance config. The schema's descriptions, which drivers
// show in their setup forms, say more about each field.
type Config struct {
	CollectiveSlug string `json:"collective_slug"`
	APIKey         string `json:"api_key"`      // secret: personal token
	AccessToken    string `json:"access_token"` // secret: OAuth token
	WebhookSlug    string `json:"webhook_slug"`
	ServerURL      string `json:"server_url"`
	WebURL         string `json:"web_url"`
}

// OpenCollective is one community's connection to one collective. What must
// survive a restart (the collective's ids, the registered webhook) lives in
// the instance state.
type OpenCollective struct {
	cfg        Config
	client     *client
	webURL     string
	webhookURL string // where Open Collective should POST: public URL and hook path
	hookPath   string
	log        *slog.Logger
}

// Provision builds the API client. The schema already requires exactly one
// credential; the check is repeated so that a config built elsewhere cannot
// send both headers or none.
func (oc *OpenCollective) Provision(_ context.Context, env plugin.Env) error {
	if err := env.DecodeConfig(&oc.cfg); err != nil {
		return fmt.Errorf("provisioning opencollective: %w", err)
	}
	var auth authHeader
	switch {
	case oc.cfg.APIKey != "" && oc.cfg.AccessToken != "":
		return &plugin.InputError{Field: "/access_token", Message: "give either api_key or access_token, not both"}
	case oc.cfg.APIKey != "":
		auth = authHeader{name: "Personal-Token", value: oc.cfg.APIKey}
	case oc.cfg.AccessToken != "":
		auth = authHeader{name: "Authorization", value: "Bearer " + oc.cfg.AccessToken}
	default:
		return &plugin.InputError{Field: "/api_key", Message: "api_key or access_token is required"}
	}
	if oc.cfg.CollectiveSlug == "" {
		return &plugin.InputError{Field: "/collective_slug", Message: "collective_slug is required"}
	}
	serverURL := strings.TrimRight(cmp.Or(oc.cfg.ServerURL, "https://api.opencollective.com"), "/")
	oc.webURL = strings.TrimRight(cmp.Or(oc.cfg.WebURL, "https://opencollective.com"), "/")
	oc.client = newClient(serverURL+"/graphql/v2", auth, env.HTTPClient)
	oc.webhookURL = env.PublicURL + env.HookPath
	oc.hookPath = env.HookPath
	oc.log = env.Logger
	if oc.log == nil {
		oc.log = slog.New(slog.DiscardHandler)
	}
	return nil
}

// The interface guards make the compiler check that the gateway will find the
// capabilities this package means to offer.
var (
	_ plugin.Provisioner     = (*OpenCollective)(nil)
	_ plugin.Initializer     = (*OpenCollective)(nil)
	_ plugin.WebhookReceiver = (*OpenCollective)(nil)
	_ plugin.ProcessHandler  = vote{}
	_ plugin.ProcessPoller   = vote{}
	_ plugin.ProcessCloser   = vote{}
)
