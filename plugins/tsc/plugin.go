// Package tsc reads a TSC server, the agreement engine some Metagov
// communities ran beside the gateway: its users, contracts, executions and
// agreements, each served as JSON at <server_url>/api/<kind>/<id>.
//
// Its four actions keep the original's names and parameters (get-user
// {user_id}, get-contract {contract_id}, get-execution {execution_id},
// get-agreement {agreement_id}) and return the server's JSON as it is. The
// server takes no authentication, so the plugin holds no secret.
//
// Unlike the original, an id is sent as one path segment (escaped, so an id
// cannot reach another route), an unknown id is a 404 and a failing server
// a 502 (504 on timeout) naming the server's answer, instead of a 500 or a
// Python error on a body that is not JSON.
package tsc

import (
	"context"
	"fmt"
	"net/url"
	"reflect"
	"strings"

	"github.com/metagov/metagov-go/plugin"
)

// kinds are the objects the server publishes: the action name's noun, the
// parameter naming the object and the action.
var kinds = []struct {
	noun, param, description string
	run                      plugin.RunFunc
}{
	{"user", "user_id", "Returns information about the requested user", plugin.Bind((*TSC).getUser)},
	{"contract", "contract_id", "Returns information about the requested contract", plugin.Bind((*TSC).getContract)},
	{"execution", "execution_id", "Returns information about the requested execution", plugin.Bind((*TSC).getExecution)},
	{"agreement", "agreement_id", "Returns information about the requested agreement", plugin.Bind((*TSC).getAgreement)},
}

func init() {
	info := plugin.Info{
		Name:        "tsc",
		Description: "Read users, contracts, executions and agreements from a TSC server",
		AuthType:    plugin.AuthNone,
		Config:      configSchema,
		ConfigType:  reflect.TypeFor[Config](),
		New:         func() plugin.Instance { return &TSC{} },
	}
	for _, k := range kinds {
		info.Actions = append(info.Actions, plugin.Action{
			Name:        "get-" + k.noun,
			Description: k.description,
			Input:       inputSchema(k.param),
			Output:      outputSchema,
			Run:         k.run,
		})
	}
	plugin.Register(info)
}

// configSchema keeps the original's: server_url required, other properties
// accepted (and ignored).
var configSchema = plugin.Schema(`{
	"type": "object",
	"properties": {
		"server_url": {"type": "string", "x-metagov-destination": true, "pattern": "^https?://[^\\s]+$", "maxLength": 2048,
			"description": "Base URL of the TSC server, such as https://tsc.example.org; the actions read <server_url>/api/<kind>/<id>."}
	},
	"required": ["server_url"]
}`)

func inputSchema(param string) plugin.Schema {
	return plugin.Schema(fmt.Sprintf(`{
	"type": "object",
	"properties": {
		%q: {"type": "string", "minLength": 1, "maxLength": 256, "description": "The object's id on the TSC server."}
	},
	"required": [%q]
}`, param, param))
}

// outputSchema: the server's JSON as it is, which the original returned
// untouched; the gateway only checks that it is JSON.
var outputSchema = plugin.Schema(`{"description": "The TSC server's JSON for the object, as it answered it."}`)

// Config is the instance config.
type Config struct {
	ServerURL string `json:"server_url"`
}

// TSC is one community's connection to a TSC server.
type TSC struct {
	client *client
}

// Provision checks the server URL and builds the client over the gateway's
// HTTP client.
func (s *TSC) Provision(_ context.Context, env plugin.Env) error {
	var cfg Config
	if err := env.DecodeConfig(&cfg); err != nil {
		return fmt.Errorf("provisioning tsc: %w", err)
	}
	u, err := url.Parse(cfg.ServerURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return &plugin.InputError{Field: "/server_url", Message: "server_url must be an http or https URL"}
	}
	s.client = &client{serverURL: strings.TrimRight(cfg.ServerURL, "/"), hc: env.HTTPClient}
	return nil
}

var _ plugin.Provisioner = (*TSC)(nil)
