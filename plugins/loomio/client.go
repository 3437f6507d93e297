package loomio

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/metagov/metagov-go/plugin"
)

// platform names Loomio in errors.
const platform = "loomio"

// maxBodySize bounds how much of an answer is read.
const maxBodySize = 16 << 20

// client calls Loomio's group API, /api/b1 (https://www.loomio.org/help/api).
// Every call carries the group's key as the api_key parameter: in the query
// of a GET, in the form of a POST. Loomio answers a wrong key with 403
// {"exception": "CanCan::AccessDenied …"} and invalid input with 422
// {"errors": {field: [messages]}}.
type client struct {
	api string // <server_url>/api/b1/
	hc  *http.Client
}

func newClient(api string, hc *http.Client) *client {
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	return &client{api: api, hc: hc}
}

// memberships is GET memberships: the key's group, its members and users,
// as {memberships, users, groups, meta}.
func (c *client) memberships(ctx context.Context, apiKey string) (json.RawMessage, error) {
	return c.get(ctx, "memberships", apiKey)
}

// poll is GET polls/<key>: {polls, poll_options, stances, users, groups, …}.
func (c *client) poll(ctx context.Context, apiKey, key string) (json.RawMessage, error) {
	return c.get(ctx, "polls/"+url.PathEscape(key), apiKey)
}

// createPoll is POST polls, form-encoded, answered like GET polls/<key>.
func (c *client) createPoll(ctx context.Context, form url.Values) (json.RawMessage, error) {
	return c.postForm(ctx, "polls", form)
}

// createDiscussion is POST discussions, form-encoded: {discussions, …}.
func (c *client) createDiscussion(ctx context.Context, form url.Values) (json.RawMessage, error) {
	return c.postForm(ctx, "discussions", form)
}

func (c *client) get(ctx context.Context, path, apiKey string) (json.RawMessage, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.api+path+"?"+url.Values{"api_key": {apiKey}}.Encode(), nil)
	if err != nil {
		return nil, fmt.Errorf("building loomio request: %w", err)
	}
	return c.do(req)
}

func (c *client) postForm(ctx context.Context, path string, form url.Values) (json.RawMessage, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.api+path, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("building loomio request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.do(req)
}

// do sends req and returns the JSON body of a 2xx answer. A failure becomes
// a *plugin.PlatformError carrying Loomio's own message. Transport errors
// are reported without the URL, whose query holds the API key.
func (c *client) do(req *http.Request) (json.RawMessage, error) {
	req.Header.Set("Accept", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, transportError(err)
	}
	if err := plugin.CheckResponse(platform, resp, nil); err != nil {
		var pe *plugin.PlatformError
		if errors.As(err, &pe) {
			pe.Message = loomioMessage([]byte(pe.Message))
		}
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBodySize))
	if err != nil {
		return nil, transportError(err)
	}
	if !json.Valid(body) {
		return nil, &plugin.PlatformError{Platform: platform, Status: resp.StatusCode, Message: "answer is not JSON: " + truncate(string(body))}
	}
	var withErrors struct {
		Errors json.RawMessage `json:"errors"`
	}
	if json.Unmarshal(body, &withErrors) == nil && hasErrors(withErrors.Errors) {
		return nil, &plugin.PlatformError{Platform: platform, Status: resp.StatusCode, Message: string(withErrors.Errors)}
	}
	return body, nil
}

// transportError reports a failed exchange as a PlatformError without the
// request URL.
func transportError(err error) error {
	inner := err
	var ue *url.Error
	if errors.As(err, &ue) {
		inner = ue.Err
	}
	pe := plugin.CheckResponse(platform, nil, err).(*plugin.PlatformError)
	pe.Message = inner.Error()
	return pe
}

// loomioMessage extracts the message of a Loomio error body: the exception
// text, or the errors object; anything else is returned as it came.
func loomioMessage(body []byte) string {
	var e struct {
		Exception string          `json:"exception"`
		Error     string          `json:"error"`
		Errors    json.RawMessage `json:"errors"`
	}
	if json.Unmarshal(body, &e) == nil {
		switch {
		case e.Exception != "":
			return e.Exception
		case e.Error != "":
			return e.Error
		case hasErrors(e.Errors):
			var compact bytes.Buffer
			if json.Compact(&compact, e.Errors) == nil {
				return compact.String()
			}
		}
	}
	return truncate(string(body))
}

// hasErrors reports whether an errors value says something: not absent,
// null, empty or {}.
func hasErrors(raw json.RawMessage) bool {
	s := strings.TrimSpace(string(raw))
	return s != "" && s != "null" && s != "{}" && s != "[]" && s != `""`
}

func truncate(s string) string {
	const limit = 500
	if len(s) > limit {
		return s[:limit] + "…"
	}
	return s
}
