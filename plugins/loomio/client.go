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
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/metagov/metagov-go/plugin"
)

// platform names Loomio in errors.
const platform = "loomio"

// maxBodySize bounds how much of an answer is read.
const maxBodySize = 16 << 20

// client calls Loomio's bot API, /api/b2, as one user: the key goes in the
// Authorization header (Loomio ignores, and so refuses with 403, a key in
// the query string). Loomio answers a missing or wrong key, or a record the
// user may not see, with 403 {"error": "…"}, an unknown record with 404
// {"error": 404}, a parameter it does not permit with 400 {"error": 400},
// and invalid input with 422 {"errors": {field: [messages]}}.
type client struct {
	api    string // <server_url>/api/b2/
	apiKey string
	hc     *http.Client
}

func newClient(api, apiKey string, hc *http.Client) *client {
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	return &client{api: api, apiKey: apiKey, hc: hc}
}

// get calls GET <api><path>?<query> and returns the JSON answer.
func (c *client) get(ctx context.Context, path string, query url.Values) (json.RawMessage, error) {
	u := c.api + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("building loomio request: %w", err)
	}
	return c.do(req, nil)
}

// send calls method <api><path> with a JSON body. fields maps the names
// Loomio gives invalid attributes to the caller's input, for the error.
func (c *client) send(ctx context.Context, method, path string, body any, fields map[string]string) (json.RawMessage, error) {
	raw, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("encoding loomio request: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.api+path, bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("building loomio request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	return c.do(req, fields)
}

// do sends req with the key and returns the JSON body of a 2xx answer. A
// failure becomes a *plugin.PlatformError carrying Loomio's own message; a
// 400 or 422 is Rejected, with Field set when Loomio names an attribute the
// caller's input has.
func (c *client) do(req *http.Request, fields map[string]string) (json.RawMessage, error) {
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", "Bearer "+c.apiKey)
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, transportError(err)
	}
	if err := plugin.CheckResponse(platform, resp, nil); err != nil {
		var pe *plugin.PlatformError
		if errors.As(err, &pe) {
			pe.Message, pe.Field = loomioMessage([]byte(pe.Message), fields)
			if !pe.Rejected {
				pe.Field = ""
			}
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
	return body, nil
}

// transportError reports a failed exchange as a PlatformError without the
// request URL (which names the poll) or anything else of the request.
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

// loomioMessage extracts the message of a Loomio error body: the error
// text, or the field errors as "field: message; …" in field order, with the
// input pointer of the first field fields knows. Anything else is returned
// as it came.
func loomioMessage(body []byte, fields map[string]string) (string, string) {
	var e struct {
		Error  any                 `json:"error"`
		Errors map[string][]string `json:"errors"`
	}
	if json.Unmarshal(body, &e) != nil {
		return truncate(string(body)), ""
	}
	if len(e.Errors) > 0 {
		names := make([]string, 0, len(e.Errors))
		for name := range e.Errors {
			names = append(names, name)
		}
		sort.Strings(names)
		parts := make([]string, 0, len(names))
		field := ""
		for _, name := range names {
			parts = append(parts, name+": "+strings.Join(e.Errors[name], ", "))
			if p, ok := fields[name]; ok && field == "" {
				field = p
			}
		}
		return truncate(strings.Join(parts, "; ")), field
	}
	switch v := e.Error.(type) {
	case string:
		return truncate(v), ""
	case float64:
		return fmt.Sprintf("error %g: %s", v, http.StatusText(int(v))), ""
	}
	return truncate(string(body)), ""
}

// isStatus reports whether err is Loomio's answer with one of statuses.
func isStatus(err error, statuses ...int) bool {
	var pe *plugin.PlatformError
	return errors.As(err, &pe) && slices.Contains(statuses, pe.Status)
}

func truncate(s string) string {
	const limit = 500
	if len(s) > limit {
		return s[:limit] + "…"
	}
	return s
}
