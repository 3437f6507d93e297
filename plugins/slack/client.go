package slack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/metagov/metagov-go/plugin"
)

// platform names Slack in errors.
const platform = "slack"

// maxBodySize bounds how much of an answer is read.
const maxBodySize = 16 << 20

// client calls Slack's Web API: POST <api>/<method> with the arguments
// form-encoded and the token in "Authorization: Bearer", as Slack
// recommends (a token in the query string is refused by apps created since
// 2021). Slack answers HTTP 200 with {"ok": false, "error": "<code>"} when
// it refuses a call, and 429 with Retry-After when a method's rate limit is
// reached.
//
// It is a thin hand-written client rather than github.com/slack-go/slack:
// the method action must call any method by name with any arguments, which
// slack-go keeps unexported, and every call must answer the driver with
// Slack's own error code, which a typed client would only get in the way of.
type client struct {
	api   string // https://slack.com/api, without a trailing slash
	token string
	hc    *http.Client
}

// apiError is Slack's refusal of a call: {"ok": false, "error": code}. It is
// kept as the Err of the *plugin.PlatformError a call returns.
type apiError struct {
	Method string
	Code   string
	// Messages are the details Slack gives in response_metadata.messages,
	// such as what is wrong with a block.
	Messages []string
}

func (e *apiError) Error() string {
	if len(e.Messages) > 0 {
		return e.Code + " (" + strings.Join(e.Messages, "; ") + ")"
	}
	return e.Code
}

// slackCode is the error code of a failed call, or "".
func slackCode(err error) string {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae.Code
	}
	return ""
}

// serverSide are the error codes that do not mean the caller's input was
// wrong: the token, the app's scopes or Slack itself are at fault, so they
// are a 502, not a 422.
var serverSide = map[string]bool{
	"not_authed": true, "invalid_auth": true, "account_inactive": true, "token_revoked": true,
	"token_expired": true, "no_permission": true, "missing_scope": true, "org_login_required": true,
	"ekm_access_denied": true, "team_access_not_granted": true, "access_denied": true,
	"internal_error": true, "fatal_error": true, "service_unavailable": true, "request_timeout": true,
	"ratelimited": true, "rate_limited": true, "upgrade_required": true, "team_added_to_org": true,
	"accesslimited": true, "invalid_form_data": true, "invalid_post_type": true, "missing_post_type": true,
	"invalid_charset": true, "missing_charset": true, "superfluous_charset": true,
	"not_allowed_token_type": true,
}

// errorFields names the argument a refusal is about, for the error's field.
var errorFields = map[string]string{
	"channel_not_found": "channel", "not_in_channel": "channel", "is_archived": "channel",
	"channel_is_archived": "channel", "method_not_supported_for_channel_type": "channel",
	"user_not_found": "user", "user_not_in_channel": "user", "user_not_visible": "user",
	"users_not_found": "users", "too_many_users": "users", "not_enough_users": "users",
	"invalid_blocks": "blocks", "invalid_blocks_format": "blocks", "too_many_blocks": "blocks",
	"msg_too_long": "text", "no_text": "text",
	"message_not_found": "ts", "cant_update_message": "ts", "edit_window_closed": "ts",
}

// call invokes a Web API method with args and decodes the answer, without
// "ok", into out (nil to discard it). A "token" argument replaces the
// client's token, as the original let callers do. A refusal is a
// *plugin.PlatformError: Rejected (422) when the input is at fault, its
// Field the argument named by errorFields under fieldPrefix when args has
// it, and Err an *apiError with Slack's code.
func (c *client) call(ctx context.Context, method string, args url.Values, fieldPrefix string, out any) error {
	args = cloneValues(args)
	token := c.token
	if t := args.Get("token"); t != "" {
		token = t
	}
	args.Del("token")
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.api+"/"+url.PathEscape(method), strings.NewReader(args.Encode()))
	if err != nil {
		return fmt.Errorf("building slack request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	body, err := c.do(req)
	if err != nil {
		return err
	}
	var answer struct {
		OK               bool   `json:"ok"`
		Error            string `json:"error"`
		ResponseMetadata struct {
			Messages []string `json:"messages"`
		} `json:"response_metadata"`
	}
	if err := json.Unmarshal(body, &answer); err != nil {
		return &plugin.PlatformError{Platform: platform, Status: http.StatusOK, Message: method + ": answer is not a JSON object"}
	}
	if !answer.OK {
		ae := &apiError{Method: method, Code: answer.Error, Messages: answer.ResponseMetadata.Messages}
		if ae.Code == "" {
			ae.Code = "unknown_error"
		}
		pe := &plugin.PlatformError{Platform: platform, Message: method + ": " + ae.Error(), Err: ae,
			Rejected: !serverSide[ae.Code]}
		if name, ok := errorFields[ae.Code]; ok && pe.Rejected && args.Has(name) {
			pe.Field = fieldPrefix + "/" + name
		}
		if ae.Code == "unknown_method" && pe.Rejected {
			pe.Field = fieldPrefix + "/method_name"
		}
		return pe
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(body, out); err != nil {
		return &plugin.PlatformError{Platform: platform, Status: http.StatusOK, Message: method + ": unexpected answer: " + err.Error()}
	}
	return nil
}

// do sends req and returns the body of a 200 answer. A 429 says when to
// retry; any other failure keeps the platform's text.
func (c *client) do(req *http.Request) ([]byte, error) {
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, transportError(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusTooManyRequests {
		retry := resp.Header.Get("Retry-After")
		if retry == "" {
			retry = "an unspecified time"
		} else {
			retry += " s"
		}
		return nil, &plugin.PlatformError{Platform: platform, Status: resp.StatusCode,
			Message: "rate limited (ratelimited): retry after " + retry, Err: &apiError{Code: "ratelimited"}}
	}
	if err := plugin.CheckResponse(platform, resp, nil); err != nil {
		return nil, err
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBodySize))
	if err != nil {
		return nil, transportError(err)
	}
	return body, nil
}

// transportError reports a failed exchange without the request URL.
func transportError(err error) error {
	inner := err
	var ue *url.Error
	if errors.As(err, &ue) {
		inner = ue.Err
	}
	// CheckResponse returns a *PlatformError itself (never wrapped) for a failed exchange.
	pe := plugin.CheckResponse(platform, nil, err).(*plugin.PlatformError) //nolint:errorlint // its own return value
	pe.Message = inner.Error()
	return pe
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// asPlatformError is errors.As for *plugin.PlatformError.
func asPlatformError(err error, target **plugin.PlatformError) bool {
	return errors.As(err, target)
}
