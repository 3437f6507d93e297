// Package mailgun sends email through Mailgun's Messages API
// (https://documentation.mailgun.com/docs/mailgun/api-reference/send/mailgun/messages):
// POST <api_url>/v3/<domain_name>/messages, form-encoded, with HTTP Basic
// auth "api:<api_key>". Its one action, send-mail, keeps the original's name,
// parameters (from, to, subject, text) and result (Mailgun's {id, message}).
//
// The API host is the api_url config property: Mailgun's US region
// (https://api.mailgun.net) by default, https://api.eu.mailgun.net for a
// domain in the EU region. The key is write-only, and a config update that
// keeps it must keep api_url too.
//
// Unlike the original, which posted whatever parameters it was given and
// answered 500 on any failure, send-mail takes the parameters it documents
// (and cc, bcc and html), Mailgun's 400 answers are a 422
// platform_rejected carrying Mailgun's message, and an outage a 502 (504 on
// timeout).
package mailgun

import (
	"context"
	"fmt"
	"net/url"
	"reflect"
	"strings"

	"github.com/metagov/metagov-go/plugin"
)

// DefaultAPIURL is Mailgun's US region; EUAPIURL its EU region.
const (
	DefaultAPIURL = "https://api.mailgun.net"
	EUAPIURL      = "https://api.eu.mailgun.net"
)

func init() {
	plugin.Register(plugin.Info{
		Name:        "mailgun",
		Description: "Send email through Mailgun",
		AuthType:    plugin.AuthAPIKey,
		Config:      configSchema,
		ConfigType:  reflect.TypeFor[Config](),
		New:         func() plugin.Instance { return &Mailgun{} },
		Actions: []plugin.Action{{
			Name:        "send-mail",
			Description: "Sends an email",
			Input:       sendMailInputSchema,
			Output:      sendMailOutputSchema,
			Run:         plugin.Bind((*Mailgun).sendMail),
		}},
	})
}

var configSchema = plugin.Schema(`{
	"type": "object",
	"properties": {
		"domain_name": {"type": "string", "minLength": 1, "maxLength": 253, "pattern": "^[A-Za-z0-9.-]+$",
			"description": "The Mailgun sending domain, such as mg.example.org."},
		"api_key": {"type": "string", "minLength": 1, "maxLength": 512, "writeOnly": true,
			"description": "A Mailgun API key (account or domain sending key)."},
		"api_url": {"type": "string", "default": "https://api.mailgun.net", "pattern": "^https?://[^\\s]+$", "maxLength": 2048,
			"x-metagov-destination": true,
			"description": "Mailgun's API host: https://api.mailgun.net (US region, the default) or https://api.eu.mailgun.net (EU region)."}
	},
	"required": ["domain_name", "api_key"]
}`)

// Config is the instance config.
type Config struct {
	DomainName string `json:"domain_name"`
	APIKey     string `json:"api_key"`
	APIURL     string `json:"api_url"`
}

// Mailgun is one community's Mailgun sending domain.
type Mailgun struct {
	client *client
}

// Provision checks the config and builds the client over the gateway's
// HTTP client.
func (m *Mailgun) Provision(_ context.Context, env plugin.Env) error {
	var cfg Config
	if err := env.DecodeConfig(&cfg); err != nil {
		return fmt.Errorf("provisioning mailgun: %w", err)
	}
	if cfg.APIURL == "" {
		cfg.APIURL = DefaultAPIURL
	}
	u, err := url.Parse(cfg.APIURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return &plugin.InputError{Field: "/api_url", Message: "api_url must be an http or https URL"}
	}
	m.client = &client{apiURL: strings.TrimRight(cfg.APIURL, "/"), domain: cfg.DomainName, key: cfg.APIKey, hc: env.HTTPClient}
	return nil
}

var _ plugin.Provisioner = (*Mailgun)(nil)
