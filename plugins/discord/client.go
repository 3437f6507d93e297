package discord

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/metagov/metagov-go/plugin"
)

// platform names Discord in errors.
const platform = "discord"

// maxBodySize bounds how much of an answer is read.
const maxBodySize = 16 << 20

// client calls Discord's HTTP API v10: <api>/v10<route> with a JSON body
// and "Authorization: Bot <token>" (or "Bearer <token>" for a person's
// OAuth token).
//
// It is a thin hand-written client rather than github.com/bwmarrin/discordgo:
// the method action must call any route with any body and hand Discord's
// answer back unchanged, the errors must reach the driver with Discord's
// own code and the input field they concern, and every call must go through
// the gateway's egress-checked HTTP client to the configured base URL.
// discordgo keeps its endpoints in package-level variables (one base URL
// for the whole process, not per test or per gateway), retries rate-limited
// calls itself by sleeping (a driver should be told, within its request),
// and decodes into typed structs that drop what they do not know. The few
// routes the plugin uses are checked, in tests, against Discord's own
// OpenAPI description by the fake (discordfake).
type client struct {
	api  string // e.g. https://discord.com/api, without a trailing slash or version
	auth string // the Authorization header
	hc   *http.Client
}

// apiError is Discord's error JSON: {"code": 50035, "message": "Invalid
// Form Body", "errors": {...}}, kept as the Err of the PlatformError.
type apiError struct {
	Code    int             `json:"code"`
	Message string          `json:"message"`
	Errors  json.RawMessage `json:"errors,omitempty"`
	// RetryAfter is a 429's retry_after, in seconds.
	RetryAfter float64 `json:"retry_after,omitempty"`
}

func (e *apiError) Error() string { return fmt.Sprintf("%s (code %d)", e.Message, e.Code) }

// Discord's JSON error codes the plugin reads.
const (
	codeUnknownChannel = 10003
	codeUnknownGuild   = 10004
	codeUnknownMessage = 10008
	codeUnknownCommand = 10063
	codeMissingAccess  = 50001
	codeInvalidForm    = 50035
)

// fields maps what a refusal names to the driver's input: Discord's codes
// for unknown objects, and the top-level keys of an Invalid Form Body's
// errors, to JSON pointers into the action's parameters. fallback is the
// field when nothing more precise is known.
type fields struct {
	codes    map[int]string
	keys     map[string]string
	fallback string
}

// call sends method route with body (nil: none) and decodes a 2xx answer
// into out (nil: discard; an empty answer leaves out unchanged). Refusals
// are *plugin.PlatformError: 400, 403 and 404 are Rejected (the driver's
// input named something that does not exist or that the bot may not touch)
// with a Field from f; 401 (the bot token) and 5xx are failures (502); a
// 429 says when to retry.
func (c *client) call(ctx context.Context, method, route string, body any, out any, f fields) error {
	if c.auth == "Bot " {
		return &plugin.SettingsError{Plugin: platform, Settings: []string{SettingBotToken}}
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("encoding the discord request: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.api+apiVersion+route, rd)
	if err != nil {
		return &plugin.PlatformError{Platform: platform, Rejected: true, Field: f.fallback, Message: "not a route: " + err.Error()}
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "DiscordBot (https://github.com/metagov/metagov-go, 1)")
	if c.auth != "" {
		req.Header.Set("Authorization", c.auth)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return transportError(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxBodySize))
	if err != nil {
		return transportError(err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return refusal(method, route, resp, raw, f)
	}
	if out == nil || len(bytes.TrimSpace(raw)) == 0 {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return &plugin.PlatformError{Platform: platform, Status: resp.StatusCode, Message: method + " " + route + ": unexpected answer: " + err.Error()}
	}
	return nil
}

// refusal turns a non-2xx answer into a *plugin.PlatformError.
func refusal(method, route string, resp *http.Response, raw []byte, f fields) error {
	ae := &apiError{}
	if err := json.Unmarshal(raw, ae); err != nil || ae.Message == "" {
		ae = &apiError{Message: strings.TrimSpace(string(raw))}
		if ae.Message == "" {
			ae.Message = resp.Status
		}
	}
	pe := &plugin.PlatformError{Platform: platform, Status: resp.StatusCode, Err: ae,
		Message: method + " " + route + ": " + ae.Error()}
	switch resp.StatusCode {
	case http.StatusTooManyRequests:
		retry := resp.Header.Get("Retry-After")
		if ae.RetryAfter > 0 {
			retry = fmt.Sprintf("%.3g", ae.RetryAfter)
		}
		if retry == "" {
			retry = "an unspecified number of"
		}
		pe.Message = fmt.Sprintf("%s %s: rate limited: retry after %s s", method, route, retry)
	case http.StatusBadRequest, http.StatusForbidden, http.StatusNotFound:
		pe.Rejected = true
		if resp.StatusCode != http.StatusBadRequest {
			pe.Field = f.fallback
		}
		if fld, ok := f.codes[ae.Code]; ok {
			pe.Field = fld
		} else if ae.Code == codeInvalidForm {
			if fld := formField(ae.Errors, f.keys); fld != "" {
				pe.Field = fld
			}
			pe.Message += ": " + formErrors(ae.Errors)
		}
	}
	return pe
}

// formField is the input field of the first key of an Invalid Form Body's
// errors that the action maps.
func formField(raw json.RawMessage, keys map[string]string) string {
	var top map[string]json.RawMessage
	if json.Unmarshal(raw, &top) != nil {
		return ""
	}
	names := make([]string, 0, len(top))
	for k := range top {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if fld, ok := keys[k]; ok {
			return fld
		}
	}
	return ""
}

// formErrors flattens an Invalid Form Body's nested errors into
// "path: message" lines, so the driver reads what Discord objected to.
func formErrors(raw json.RawMessage) string {
	var parts []string
	var walk func(path string, v any)
	walk = func(path string, v any) {
		m, ok := v.(map[string]any)
		if !ok {
			return
		}
		if errs, ok := m["_errors"].([]any); ok {
			for _, e := range errs {
				if em, ok := e.(map[string]any); ok {
					parts = append(parts, fmt.Sprintf("%s: %v", strings.TrimPrefix(path, "."), em["message"]))
				}
			}
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if k != "_errors" {
				walk(path+"."+k, m[k])
			}
		}
	}
	var v any
	if json.Unmarshal(raw, &v) == nil {
		walk("", v)
	}
	if len(parts) > 5 {
		parts = append(parts[:5], "…")
	}
	return strings.Join(parts, "; ")
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
