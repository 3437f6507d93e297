package discord

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"strings"

	"github.com/metagov/metagov-go/plugin"
)

// answerSchema: Discord's answer, as it came.
var answerSchema = plugin.Schema(`{"type": "object", "description": "Discord's answer, as it came"}`)

// anyAnswerSchema: any route's answer (an object, an array, or null for 204).
var anyAnswerSchema = plugin.Schema(`{"description": "Discord's answer, as it came; null when it had no body"}`)

var registerCommandInputSchema = plugin.Schema(`{
	"type": "object",
	"properties": {
		"name": {"type": "string", "minLength": 1, "maxLength": 32, "description": "the command's name"},
		"description": {"type": "string", "maxLength": 100},
		"command_id": ` + snowflakeSchema + `
	},
	"additionalProperties": {"description": "any other field of Discord's application command (options, type, default_member_permissions, …)"},
	"required": ["name"]
}`)

var methodInputSchema = plugin.Schema(`{
	"type": "object",
	"properties": {
		"route": {"type": "string", "minLength": 2, "maxLength": 2000, "pattern": "^/[A-Za-z0-9@._~%/:=&?,-]*$",
			"description": "the route under https://discord.com/api/v10, such as /guilds/123/channels; a leading /v8 or other version is replaced by v10"},
		"method": {"type": "string", "enum": ["GET", "POST", "PUT", "PATCH", "DELETE"], "default": "GET"}
	},
	"additionalProperties": {"description": "the fields of the JSON body (none: no body)"},
	"required": ["route"]
}`)

var postMessageInputSchema = plugin.Schema(`{
	"type": "object",
	"properties": {
		"text": {"type": "string", "minLength": 1, "maxLength": 2000, "description": "the message's content"},
		"channel": ` + snowflakeSchema + `
	},
	"additionalProperties": {"description": "any other field of Discord's create-message body (components, embeds, …)"},
	"required": ["text", "channel"]
}`)

// registerCommandParams are register-guild-command's named parameters; the
// other fields go to Discord as they came.
type registerCommandParams struct {
	Name        string    `json:"name"`
	Description string    `json:"description"`
	CommandID   Snowflake `json:"command_id"`
}

// methodParams are the method action's named parameters.
type methodParams struct {
	Route  string `json:"route"`
	Method string `json:"method"`
}

// postMessageParams are post-message's named parameters.
type postMessageParams struct {
	Text    string    `json:"text"`
	Channel Snowflake `json:"channel"`
}

// split decodes params into the named struct and the rest, as raw JSON.
func split(params json.RawMessage, named any, names ...string) (map[string]json.RawMessage, error) {
	if err := plugin.Unmarshal(params, named); err != nil {
		return nil, err
	}
	rest := map[string]json.RawMessage{}
	dec := json.NewDecoder(bytes.NewReader(params))
	dec.UseNumber()
	if err := dec.Decode(&rest); err != nil {
		return nil, &plugin.InputError{Message: "parameters are not a JSON object"}
	}
	for _, n := range names {
		delete(rest, n)
	}
	return rest, nil
}

// messageFields maps Discord's refusals of a create-message body to the
// driver's parameters.
var messageFields = fields{
	codes:    map[int]string{codeUnknownChannel: "/channel", codeMissingAccess: "/channel"},
	keys:     map[string]string{"content": "/text", "components": "/components", "embeds": "/embeds", "flags": "/flags"},
	fallback: "/channel",
}

// runRegisterCommand creates a guild command, or updates command_id's.
func runRegisterCommand(ctx context.Context, inst plugin.Instance, _ *plugin.Call, params json.RawMessage) (any, error) {
	d, err := asDiscord(inst)
	if err != nil {
		return nil, err
	}
	var p registerCommandParams
	body, err := split(params, &p, "command_id")
	if err != nil {
		return nil, err
	}
	if d.st.ClientID == "" {
		return nil, &plugin.SettingsError{Plugin: platform, Settings: []string{SettingClientID}, Message: "the application of the guild's commands"}
	}
	route := "/applications/" + d.st.ClientID + "/guilds/" + string(d.cfg.GuildID) + "/commands"
	method := http.MethodPost
	f := fields{keys: map[string]string{"name": "/name", "description": "/description", "options": "/options"}}
	if p.CommandID != "" {
		route += "/" + string(p.CommandID)
		method = http.MethodPatch
		f.codes = map[int]string{codeUnknownCommand: "/command_id"}
		f.fallback = "/command_id"
	}
	var out json.RawMessage
	if err := d.api.call(ctx, method, route, body, &out, f); err != nil {
		return nil, err
	}
	return out, nil
}

// versionPrefix is a version at the start of a method route (the
// original's routes carried /v8).
var versionPrefix = regexp.MustCompile(`^/v[0-9]+(/|$)`)

// runMethod performs any route with the other parameters as the JSON body.
func runMethod(ctx context.Context, inst plugin.Instance, _ *plugin.Call, params json.RawMessage) (any, error) {
	d, err := asDiscord(inst)
	if err != nil {
		return nil, err
	}
	var p methodParams
	rest, err := split(params, &p, "route", "method")
	if err != nil {
		return nil, err
	}
	route := versionPrefix.ReplaceAllString(p.Route, "/")
	if strings.Contains(route, "..") || strings.Contains(route, "//") {
		return nil, &plugin.InputError{Field: "/route", Message: "a route may not hold .. or //"}
	}
	method := p.Method
	if method == "" {
		method = http.MethodGet
	}
	var body any
	if len(rest) > 0 {
		body = rest
	}
	var out json.RawMessage
	if err := d.api.call(ctx, method, route, body, &out, fields{fallback: "/route"}); err != nil {
		return nil, err
	}
	return out, nil
}

// runGetGuild reads the instance's guild.
func runGetGuild(ctx context.Context, inst plugin.Instance, _ *plugin.Call, _ json.RawMessage) (any, error) {
	d, err := asDiscord(inst)
	if err != nil {
		return nil, err
	}
	var out json.RawMessage
	if err := d.api.call(ctx, http.MethodGet, "/guilds/"+string(d.cfg.GuildID), nil, &out, fields{}); err != nil {
		// The guild is the config's, not the driver's input: a refusal
		// means the bot was removed or the token is wrong, a 502.
		var pe *plugin.PlatformError
		if errors.As(err, &pe) {
			pe.Rejected, pe.Field = false, ""
		}
		return nil, err
	}
	return out, nil
}

// runPostMessage posts text, with any other create-message fields, to a
// channel.
func runPostMessage(ctx context.Context, inst plugin.Instance, _ *plugin.Call, params json.RawMessage) (any, error) {
	d, err := asDiscord(inst)
	if err != nil {
		return nil, err
	}
	var p postMessageParams
	body, err := split(params, &p, "text", "channel")
	if err != nil {
		return nil, err
	}
	content, _ := json.Marshal(p.Text)
	body["content"] = content
	var out json.RawMessage
	if err := d.api.call(ctx, http.MethodPost, "/channels/"+string(p.Channel)+"/messages", body, &out, messageFields); err != nil {
		return nil, err
	}
	return out, nil
}
