package slack

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/metagov/metagov-go/plugin"
)

// methodInputSchema: method_name and any arguments of that method.
var methodInputSchema = plugin.Schema(`{
	"type": "object",
	"properties": {
		"method_name": {"type": "string", "pattern": "^[a-zA-Z][a-zA-Z0-9_]*(\\.[a-zA-Z][a-zA-Z0-9_]*)+$", "maxLength": 100,
			"description": "the Web API method, such as chat.postMessage or conversations.info"}
	},
	"additionalProperties": {"description": "the method's arguments: strings as they are, numbers and booleans as written, arrays and objects (blocks, attachments) as JSON text; token replaces the bot token"},
	"required": ["method_name"]
}`)

// postMessageInputSchema: chat.postMessage's arguments, with users as an
// alternative to channel.
var postMessageInputSchema = plugin.Schema(`{
	"type": "object",
	"properties": {
		"channel": {"type": "string", "minLength": 1, "maxLength": 255, "description": "the channel, or DM, to post to"},
		"users": {"type": "array", "minItems": 1, "maxItems": 8, "items": {"type": "string", "minLength": 1, "maxLength": 64},
			"description": "post to the DM or group DM of these users (with the bot) when channel is not given"},
		"text": {"type": "string", "maxLength": 40000},
		"blocks": {"type": ["string", "array"], "description": "Block Kit blocks, as an array or JSON text"}
	},
	"additionalProperties": {"description": "any other argument of chat.postMessage"}
}`)

// methodParams are the method action's named parameters; the others are
// the method's arguments, read as they came.
type methodParams struct {
	MethodName string `json:"method_name"`
}

// postMessageParams are post-message's named parameters; the others are
// chat.postMessage's arguments.
type postMessageParams struct {
	Channel string   `json:"channel"`
	Users   []string `json:"users"`
	Text    string   `json:"text"`
	Blocks  any      `json:"blocks"`
}

// answerSchema: Slack's answer without "ok".
var answerSchema = plugin.Schema(`{"type": "object", "description": "Slack's answer, without ok"}`)

// runMethod performs any Web API method. On not_in_channel, with a channel
// argument, the bot joins the channel (conversations.join) and the call is
// retried once, as the original did.
func runMethod(ctx context.Context, inst plugin.Instance, _ *plugin.Call, params json.RawMessage) (any, error) {
	s, err := asSlack(inst)
	if err != nil {
		return nil, err
	}
	args, err := formArgs(params)
	if err != nil {
		return nil, err
	}
	method := args.Get("method_name")
	args.Del("method_name")
	return s.callJoining(ctx, method, args, "")
}

// callJoining calls method and, when Slack answers not_in_channel to a call
// with a channel, joins it and calls again once.
func (s *Slack) callJoining(ctx context.Context, method string, args url.Values, fieldPrefix string) (map[string]jsontext.Value, error) {
	var out map[string]jsontext.Value
	err := s.api.call(ctx, method, args, fieldPrefix, &out)
	if slackCode(err) == "not_in_channel" && args.Get("channel") != "" {
		join := url.Values{"channel": {args.Get("channel")}}
		if t := args.Get("token"); t != "" {
			join.Set("token", t)
		}
		if jerr := s.api.call(ctx, "conversations.join", join, fieldPrefix, nil); jerr != nil {
			return nil, jerr
		}
		out = nil
		err = s.api.call(ctx, method, args, fieldPrefix, &out)
	}
	if err != nil {
		return nil, err
	}
	delete(out, "ok")
	return out, nil
}

// runPostMessage posts with chat.postMessage, to channel or to the
// conversation conversations.open gives for users.
func runPostMessage(ctx context.Context, inst plugin.Instance, _ *plugin.Call, params json.RawMessage) (any, error) {
	s, err := asSlack(inst)
	if err != nil {
		return nil, err
	}
	args, err := formArgs(params)
	if err != nil {
		return nil, err
	}
	var in struct {
		Users []string `json:"users"`
	}
	var all map[string]jsontext.Value
	if err := plugin.Unmarshal(params, &all); err != nil {
		return nil, err
	}
	if raw, ok := all["users"]; ok {
		if err := plugin.Unmarshal(raw, &in.Users); err != nil {
			return nil, err
		}
	}
	args.Del("users")
	if args.Get("channel") == "" {
		if len(in.Users) == 0 {
			return nil, &plugin.InputError{Message: "users or channel are required"}
		}
		ch, err := s.openConversation(ctx, in.Users, "/users")
		if err != nil {
			return nil, err
		}
		args.Set("channel", ch)
	}
	return s.callJoining(ctx, "chat.postMessage", args, "")
}

// openConversation opens (or finds) the DM or group DM of users with the
// bot and returns its id.
func (s *Slack) openConversation(ctx context.Context, users []string, field string) (string, error) {
	var opened struct {
		Channel struct {
			ID string `json:"id"`
		} `json:"channel"`
	}
	err := s.api.call(ctx, "conversations.open", url.Values{"users": {strings.Join(users, ",")}}, "", &opened)
	if err != nil {
		var pe *plugin.PlatformError
		// Every refusal of conversations.open is about the users.
		if asPlatformError(err, &pe) && pe.Rejected {
			pe.Field = field
		}
		return "", err
	}
	return opened.Channel.ID, nil
}

// formArgs encodes an action's parameters as Slack's form arguments:
// strings as they are, null left out, anything else as its JSON text
// (booleans true/false, numbers as written, blocks as a JSON array).
func formArgs(params json.RawMessage) (url.Values, error) {
	var m map[string]jsontext.Value
	if err := plugin.Unmarshal(params, &m); err != nil {
		return nil, err
	}
	args := url.Values{}
	for k, v := range m {
		switch v.Kind() {
		case 'n':
			continue
		case '"':
			var str string
			if err := plugin.Unmarshal(v, &str); err != nil {
				return nil, err
			}
			args.Set(k, str)
		default:
			compact := v.Clone()
			if err := compact.Compact(); err != nil {
				return nil, &plugin.InputError{Field: "/" + k, Message: err.Error()}
			}
			args.Set(k, string(compact))
		}
	}
	return args, nil
}
