// Package sendgrid sends email through SendGrid's v3 Mail Send API
// (https://www.twilio.com/docs/sendgrid/api-reference/mail-send/mail-send):
// POST <api_url>/v3/mail/send with a JSON body and "Authorization: Bearer
// <key>", answered 202 with an empty body.
//
// Its one action, send-mail, takes the parameters the original meant to
// take (its schema required names it did not declare, so no call could
// succeed): from_email, to_emails, subject and html_content, the names of
// the sendgrid-python Mail helper it called, plus plain_text_content. It
// answers {"response": true} and SendGrid's message id.
//
// The key is the instance's api_key (write-only). Without one, the
// gateway's SENDGRID_API_KEY setting (the original's one global key) is
// used, but only towards the gateway's METAGOV_SENDGRID_API_URL (default
// https://api.sendgrid.com), so that no instance config can send the
// gateway's key to a host of its choosing.
package sendgrid

import (
	"context"
	"fmt"
	"net/url"
	"reflect"
	"strings"

	"github.com/metagov/metagov-go/plugin"
)

// DefaultAPIURL is SendGrid's global API host.
const DefaultAPIURL = "https://api.sendgrid.com"

// The gateway settings the plugin reads: the original's global key, and
// the only host it may be sent to.
const (
	SettingAPIKey = "SENDGRID_API_KEY"
	SettingAPIURL = "METAGOV_SENDGRID_API_URL"
)

func init() {
	plugin.Register(plugin.Info{
		Name:        "sendgrid",
		Description: "Send email through SendGrid",
		AuthType:    plugin.AuthAPIKey,
		Config:      configSchema,
		ConfigType:  reflect.TypeFor[Config](),
		New:         func() plugin.Instance { return &SendGrid{} },
		Actions: []plugin.Action{{
			Name:        "send-mail",
			Description: "Sends an email",
			Input:       sendMailInputSchema,
			Output:      sendMailOutputSchema,
			Run:         plugin.Bind((*SendGrid).sendMail),
		}},
	})
}

// configSchema: the original declared domain_name and api_key (and used
// neither); both are accepted, neither is required.
var configSchema = plugin.Schema(`{
	"type": "object",
	"properties": {
		"api_key": {"type": "string", "minLength": 1, "maxLength": 512, "writeOnly": true,
			"description": "A SendGrid API key with the Mail Send permission. Without it, the gateway's SENDGRID_API_KEY setting is used (only towards its METAGOV_SENDGRID_API_URL)."},
		"api_url": {"type": "string", "default": "https://api.sendgrid.com", "pattern": "^https?://[^\\s]+$", "maxLength": 2048,
			"x-metagov-destination": true,
			"description": "SendGrid's API host: https://api.sendgrid.com (the default) or https://api.eu.sendgrid.com for EU regional subusers."},
		"domain_name": {"type": "string", "maxLength": 253,
			"description": "Accepted for compatibility with the original's config, which declared it; unused."}
	}
}`)

// Config is the instance config.
type Config struct {
	APIKey     string `json:"api_key"`
	APIURL     string `json:"api_url"`
	DomainName string `json:"domain_name"`
}

// SendGrid is one community's SendGrid sender.
type SendGrid struct {
	client *client
}

// Provision picks the key: the instance's own, else the gateway's for the
// gateway's SendGrid host only.
func (s *SendGrid) Provision(_ context.Context, env plugin.Env) error {
	var cfg Config
	if err := env.DecodeConfig(&cfg); err != nil {
		return fmt.Errorf("provisioning sendgrid: %w", err)
	}
	if cfg.APIURL == "" {
		cfg.APIURL = DefaultAPIURL
	}
	u, err := url.Parse(cfg.APIURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return &plugin.InputError{Field: "/api_url", Message: "api_url must be an http or https URL"}
	}
	apiURL := strings.TrimRight(cfg.APIURL, "/")
	key := cfg.APIKey
	if key == "" {
		key = env.Setting(SettingAPIKey)
		if key == "" {
			return &plugin.InputError{Field: "/api_key", Message: "api_key is required: the gateway has no " + SettingAPIKey + " setting to fall back on"}
		}
		globalURL := strings.TrimRight(env.Setting(SettingAPIURL), "/")
		if globalURL == "" {
			globalURL = DefaultAPIURL
		}
		if apiURL != globalURL {
			return &plugin.InputError{Field: "/api_key", Message: fmt.Sprintf(
				"api_key is required with api_url %s: the gateway's %s is only sent to %s", apiURL, SettingAPIKey, globalURL)}
		}
	}
	s.client = &client{apiURL: apiURL, key: key, hc: env.HTTPClient}
	return nil
}

var _ plugin.Provisioner = (*SendGrid)(nil)
