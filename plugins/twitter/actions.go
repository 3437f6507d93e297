package twitter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/metagov/metagov-go/plugin"
)

var (
	sendTweetInputSchema = plugin.Schema(`{
	"type": "object",
	"properties": {
		"text": {"type": "string", "minLength": 1, "maxLength": 25000, "description": "The post's text (X counts its length and refuses what the account may not post)."}
	},
	"required": ["text"]
}`)
	sendTweetOutputSchema = plugin.Schema(`{
	"type": "object",
	"properties": {
		"id": {"type": "string"},
		"text": {"type": "string"}
	},
	"required": ["id"],
	"description": "X's new post object (id, text, edit_history_tweet_ids)."
}`)
	sendDMInputSchema = plugin.Schema(`{
	"type": "object",
	"properties": {
		"user_id": {"type": ["string", "integer"], "pattern": "^[0-9]{1,20}$", "minimum": 1, "description": "The recipient's numeric user id (as a string or a number)."},
		"text": {"type": "string", "minLength": 1, "maxLength": 10000, "description": "The message."}
	},
	"required": ["user_id", "text"]
}`)
	sendDMOutputSchema = plugin.Schema(`{
	"type": "object",
	"properties": {
		"dm_conversation_id": {"type": "string"},
		"dm_event_id": {"type": "string"}
	},
	"required": ["dm_event_id"]
}`)
	getUserIDInputSchema = plugin.Schema(`{
	"type": "object",
	"properties": {
		"screen_name": {"type": "string", "minLength": 1, "maxLength": 64, "description": "The user's username (screen name), without @."}
	},
	"required": ["screen_name"]
}`)
	getUserIDOutputSchema = plugin.Schema(`{
	"type": ["integer", "boolean"],
	"description": "The user's numeric id, or false when X has no such user (as the original answered)."
}`)
)

type sendTweetParams struct {
	Text string `json:"text"`
}

type sendDMParams struct {
	UserID json.RawMessage `json:"user_id"`
	Text   string          `json:"text"`
}

type getUserIDParams struct {
	ScreenName string `json:"screen_name"`
}

// data is X's {"data": …} envelope.
type data struct {
	Data json.RawMessage `json:"data"`
}

func decodeData(a *answer) (json.RawMessage, error) {
	var d data
	if err := json.Unmarshal(a.body, &d); err != nil || len(d.Data) == 0 || string(d.Data) == "null" {
		return nil, &plugin.PlatformError{Platform: platform, Status: http.StatusOK, Message: "the answer has no data object"}
	}
	return d.Data, nil
}

// sendTweet posts text, when the config allows it.
func (tw *Twitter) sendTweet(ctx context.Context, _ *plugin.Call, in sendTweetParams) (json.RawMessage, error) {
	if !tw.allowPosting {
		return nil, &plugin.InputError{Message: "posting is off for this community: set allow_posting_tweets to true in the twitter plugin's config"}
	}
	a, err := tw.client.do(ctx, http.MethodPost, "/2/tweets", nil, map[string]string{"text": in.Text})
	if err != nil {
		return nil, fmt.Errorf("posting: %w", rejectOn403(err, "/text"))
	}
	return decodeData(a)
}

// sendDM sends a direct message to a user by id.
func (tw *Twitter) sendDM(ctx context.Context, _ *plugin.Call, in sendDMParams) (json.RawMessage, error) {
	id := strings.Trim(string(in.UserID), `"`)
	a, err := tw.client.do(ctx, http.MethodPost, "/2/dm_conversations/with/"+url.PathEscape(id)+"/messages", nil, map[string]string{"text": in.Text})
	if err != nil {
		return nil, fmt.Errorf("sending a direct message: %w", rejectOn403(fieldOn400(err, "/user_id"), "/user_id"))
	}
	return decodeData(a)
}

// rejectOn403 marks X's 403 for a post or message as a refusal of the
// input (a duplicate post, a recipient who takes no messages from the
// account), with X's detail; a 403 about the app itself (client-forbidden,
// an unenrolled app) stays a 502.
func rejectOn403(err error, field string) error {
	var pe *plugin.PlatformError
	if errors.As(err, &pe) && pe.Status == http.StatusForbidden && !strings.Contains(pe.Message, "Client Forbidden") {
		pe.Rejected, pe.Field = true, field
	}
	return err
}

// fieldOn400 names the field of X's 400 answers to a request whose only
// caller input besides the text is in the path.
func fieldOn400(err error, field string) error {
	var pe *plugin.PlatformError
	if errors.As(err, &pe) && pe.Rejected && strings.Contains(pe.Message, "participant_id") {
		pe.Field = field
	}
	return err
}

// getUserID looks a user up by username: the id as a JSON number (exact:
// written from X's digits), or false when X has no such user.
func (tw *Twitter) getUserID(ctx context.Context, _ *plugin.Call, in getUserIDParams) (json.RawMessage, error) {
	a, err := tw.client.do(ctx, http.MethodGet, "/2/users/by/username/"+url.PathEscape(in.ScreenName), nil, nil)
	if err != nil {
		var pe *plugin.PlatformError
		if errors.As(err, &pe) && pe.Rejected {
			pe.Field = "/screen_name"
		}
		return nil, fmt.Errorf("looking up %s: %w", in.ScreenName, err)
	}
	var body struct {
		Data *struct {
			ID string `json:"id"`
		} `json:"data"`
		Errors []struct {
			Type   string `json:"type"`
			Detail string `json:"detail"`
		} `json:"errors"`
	}
	if err := json.Unmarshal(a.body, &body); err != nil {
		return nil, &plugin.PlatformError{Platform: platform, Status: http.StatusOK, Message: "the answer is not X's JSON"}
	}
	if body.Data != nil && isDigits(body.Data.ID) {
		return json.RawMessage(body.Data.ID), nil
	}
	// X answers an unknown (or suspended) user with 200 and a
	// resource-not-found problem.
	for _, e := range body.Errors {
		if strings.HasSuffix(e.Type, "/resource-not-found") {
			return json.RawMessage("false"), nil
		}
	}
	msg := "the answer has neither a user nor a not-found error"
	if len(body.Errors) > 0 {
		msg = body.Errors[0].Detail
	}
	return nil, &plugin.PlatformError{Platform: platform, Status: http.StatusOK, Message: msg}
}

func isDigits(s string) bool {
	if s == "" || len(s) > 20 {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
