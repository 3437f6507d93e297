// Package client is a Go client of the Metagov gateway's driver API, for
// drivers written in Go, the metagov CLI and the tests.
//
// A Client talks to one gateway with one API key (sent as a bearer token;
// none is needed in protected mode, from the gateway's own machine) and, for
// the calls that act within a community (plugins, actions, processes), one
// community, sent in the X-Metagov-Community header:
//
//	c, err := client.New("http://127.0.0.1:8000", client.WithAPIKey(key), client.WithCommunity("town"))
//
// Every error the gateway answers is an *Error with its status, code, detail
// and field. A Receiver verifies, de-duplicates and orders what the gateway
// POSTs to a driver: process callbacks and events.
package client

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
)

// Client calls one gateway. Its methods are safe for concurrent use.
type Client struct {
	base       *url.URL
	http       *http.Client
	apiKey     string
	community  string
	platformID string
}

// Option configures a Client.
type Option func(*Client)

// WithAPIKey sends key as "Authorization: Bearer <key>" on every call.
func WithAPIKey(key string) Option { return func(c *Client) { c.apiKey = key } }

// WithCommunity names the community that plugin, action and process calls
// act for (the X-Metagov-Community header).
func WithCommunity(slug string) Option { return func(c *Client) { c.community = slug } }

// WithPlatformID picks one of a community's several instances of a plugin
// (the X-Metagov-Community-Platform-Id header).
func WithPlatformID(id string) Option { return func(c *Client) { c.platformID = id } }

// WithHTTPClient replaces the HTTP client (default: one with a 60 s
// timeout).
func WithHTTPClient(h *http.Client) Option { return func(c *Client) { c.http = h } }

// New returns a client of the gateway at baseURL, such as
// "http://127.0.0.1:8000".
func New(baseURL string, opts ...Option) (*Client, error) {
	u, err := url.Parse(strings.TrimSuffix(baseURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("metagov client: server URL %q must be http(s)://host[:port]", baseURL)
	}
	c := &Client{base: u, http: &http.Client{Timeout: time.Minute}}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

// WithCommunity returns a copy of c that acts for another community.
func (c *Client) WithCommunity(slug string) *Client {
	cp := *c
	cp.community = slug
	return &cp
}

// Community is the community c acts for.
func (c *Client) Community() string { return c.community }

// Error is an error answer of the gateway: `{"detail", "code", "field"}`.
type Error struct {
	// Status is the HTTP status, such as 400 or 404.
	Status int
	// Code is the machine-readable code, such as "invalid_input".
	Code string `json:"code"`
	// Detail says what went wrong, for people.
	Detail string `json:"detail"`
	// Field is a JSON pointer into the request where one is at fault.
	Field string `json:"field"`
	// RequestID finds the request in the gateway's logs.
	RequestID string `json:"request_id"`
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("metagov: %d %s: %s", e.Status, e.Code, e.Detail)
	if e.Field != "" {
		msg += " (at " + e.Field + ")"
	}
	return msg
}

// IsStatus reports whether err is an *Error with the given HTTP status.
func IsStatus(err error, status int) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == status
}

// response is a successful answer.
type response struct {
	status int
	header http.Header
	body   []byte
}

// do sends a request and reads the answer; any status outside 2xx becomes an
// *Error. body, when not nil, is sent as JSON (a json.RawMessage as is).
func (c *Client) do(ctx context.Context, method, path string, query url.Values, body any, community bool) (*response, error) {
	u := *c.base
	u.Path = c.base.Path + path
	u.RawQuery = query.Encode()
	var rd io.Reader
	if body != nil {
		raw, ok := body.(json.RawMessage)
		if !ok {
			var err error
			if raw, err = json.Marshal(body); err != nil {
				return nil, fmt.Errorf("metagov: encoding the %s %s body: %w", method, path, err)
			}
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return nil, fmt.Errorf("metagov: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+c.apiKey)
	}
	if community && c.community != "" {
		req.Header.Set("X-Metagov-Community", c.community)
	}
	if community && c.platformID != "" {
		req.Header.Set("X-Metagov-Community-Platform-Id", c.platformID)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("metagov: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("metagov: reading the answer to %s %s: %w", method, path, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		e := &Error{Status: resp.StatusCode}
		if json.Unmarshal(data, e) != nil || e.Code == "" {
			e.Code = "http_" + fmt.Sprint(resp.StatusCode)
			e.Detail = strings.TrimSpace(string(data))
		}
		e.Status = resp.StatusCode
		return nil, e
	}
	return &response{status: resp.StatusCode, header: resp.Header, body: data}, nil
}

// decode reads an answer's JSON body into v.
func (r *response) decode(v any) error {
	if err := json.Unmarshal(r.body, v); err != nil {
		return fmt.Errorf("metagov: reading the answer: %w", err)
	}
	return nil
}

// getJSON is do + decode for calls whose answer is one JSON document.
func (c *Client) getJSON(ctx context.Context, method, path string, query url.Values, body any, community bool, out any) (*response, error) {
	r, err := c.do(ctx, method, path, query, body, community)
	if err != nil {
		return nil, err
	}
	if out != nil {
		if err := r.decode(out); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// pathEscape escapes one path segment.
func pathEscape(s string) string { return url.PathEscape(s) }
