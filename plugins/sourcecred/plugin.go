// Package sourcecred reads cred scores from a SourceCred instance
// (https://sourcecred.io): the static site an instance publishes, usually on
// GitHub Pages, whose output/accounts.json lists every account with its
// total cred.
//
// It offers two public actions, user-cred (one account's total cred, found
// by identity name or by the platform id in one of its aliases) and
// total-cred (the sum over all accounts). Both fetch
// <server_url>/output/accounts.json afresh, without authentication, so the
// answer follows the instance's latest analysis. There are no processes,
// webhooks or events.
//
// Unlike the original, missing arguments are a 400, an unknown user a 404 and
// a failing instance a 502 (504 on timeout) naming the instance's answer,
// instead of a 500 for all of them.
package sourcecred

import (
	"context"
	"fmt"
	"net/url"
	"reflect"
	"strings"

	"github.com/metagov/metagov-go/plugin"
)

func init() {
	plugin.Register(plugin.Info{
		Name:        "sourcecred",
		Description: "Read cred scores from a SourceCred instance",
		AuthType:    plugin.AuthNone,
		Config:      configSchema,
		ConfigType:  reflect.TypeFor[Config](),
		// One community may follow several SourceCred instances.
		PlatformIDKey: "server_url",
		New:           func() plugin.Instance { return &SourceCred{} },
		Actions: []plugin.Action{
			{
				Name:        "user-cred",
				Description: "Get most recent cred value for given user",
				Input:       userCredInputSchema,
				Output:      valueOutputSchema,
				Public:      true,
				Run:         plugin.Bind((*SourceCred).userCred),
			},
			{
				Name:        "total-cred",
				Description: "Get total cred for the community",
				Input:       totalCredInputSchema,
				Output:      valueOutputSchema,
				Public:      true,
				Run:         plugin.Bind((*SourceCred).totalCred),
			},
		},
	})
}

// configSchema matches the original: server_url is required and nothing else
// is allowed, so a misspelt key is refused instead of ignored.
var configSchema = plugin.Schema(`{
	"type": "object",
	"additionalProperties": false,
	"properties": {
		"server_url": {"type": "string", "x-metagov-destination": true, "pattern": "^https?://[^\\s]+$", "maxLength": 2048,
			"description": "URL of the SourceCred instance, such as https://metagov.github.io/sourcecred-instance; <server_url>/output/accounts.json must exist."}
	},
	"required": ["server_url"]
}`)

// Config is the instance config.
type Config struct {
	// ServerURL is the base URL of the published instance; it also
	// identifies the instance among a community's SourceCred instances.
	ServerURL string `json:"server_url"`
}

// SourceCred is one community's connection to one SourceCred instance. It
// keeps no state: every action reads the published accounts file.
type SourceCred struct {
	client *client
}

// Provision checks the server URL and builds the client over the gateway's
// HTTP client, which bounds every call with a timeout.
func (s *SourceCred) Provision(_ context.Context, env plugin.Env) error {
	var cfg Config
	if err := env.DecodeConfig(&cfg); err != nil {
		return fmt.Errorf("provisioning sourcecred: %w", err)
	}
	u, err := url.Parse(cfg.ServerURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return &plugin.InputError{Field: "/server_url", Message: "server_url must be an http or https URL"}
	}
	s.client = newClient(strings.TrimRight(cfg.ServerURL, "/"), env.HTTPClient)
	return nil
}

// The interface guards make the compiler check that the gateway will find the
// capabilities this package means to offer.
var _ plugin.Provisioner = (*SourceCred)(nil)
