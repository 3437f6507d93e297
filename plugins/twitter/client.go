package twitter

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/dghubble/oauth1"

	"github.com/metagov/metagov-go/plugin"
)

// platform names X in errors.
const platform = "twitter"

// maxBody bounds what is read of one answer.
const maxBody = 8 << 20

type client struct {
	apiURL string
	host   string
	hc     *http.Client
	// now is the gateway's clock, for a rate limit that gives no reset.
	now func() time.Time
}

// newClient wraps the gateway's client (its timeout, redirect rules and
// egress policy kept) so that requests to the API host are signed with
// OAuth 1.0a; a request redirected to another host is sent unsigned. now
// is the gateway's clock (Env.Now).
func newClient(apiURL string, creds [4]string, base *http.Client, now func() time.Time) *client {
	if base == nil {
		base = &http.Client{Timeout: 30 * time.Second}
	}
	if now == nil {
		now = time.Now // an Env built by hand, in a unit test
	}
	u, _ := url.Parse(apiURL)
	cfg := oauth1.NewConfig(creds[0], creds[1])
	ctx := context.WithValue(context.Background(), oauth1.HTTPClient, base)
	signing := cfg.Client(ctx, oauth1.NewToken(creds[2], creds[3])).Transport
	plain := base.Transport
	if plain == nil {
		plain = http.DefaultTransport
	}
	hc := *base
	hc.Transport = roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if r.URL.Host == u.Host {
			return signing.RoundTrip(r)
		}
		return plain.RoundTrip(r)
	})
	return &client{apiURL: apiURL, host: u.Host, hc: &hc, now: now}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// answer is a successful response: its body and rate-limit headers.
type answer struct {
	body   []byte
	header http.Header
}

// do sends one request (body, when not nil, as JSON) and returns the 2xx
// answer, or a *plugin.PlatformError carrying X's problem details. A 429
// is returned as a *rateLimited wrapping the PlatformError.
func (c *client) do(ctx context.Context, method, path string, query url.Values, body any) (*answer, error) {
	u := c.apiURL + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("encoding x request: %w", err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, fmt.Errorf("building x request: %w", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.hc.Do(req)
	if err == nil && resp.StatusCode == http.StatusTooManyRequests {
		reset := resetTime(resp.Header, c.now())
		return nil, &rateLimited{until: reset, err: refine(plugin.CheckResponse(platform, resp, nil))}
	}
	if err := plugin.CheckResponse(platform, resp, err); err != nil {
		return nil, refine(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, plugin.CheckResponse(platform, nil, err)
	}
	return &answer{body: raw, header: resp.Header}, nil
}

// rateLimited is X's 429: no request should be made before until.
type rateLimited struct {
	until time.Time
	err   error
}

func (r *rateLimited) Error() string {
	return fmt.Sprintf("%v (rate limited until %s)", r.err, r.until.UTC().Format(time.RFC3339))
}

func (r *rateLimited) Unwrap() error { return r.err }

// resetTime reads x-rate-limit-reset (Unix seconds); without it, X's
// window of 15 minutes from now.
func resetTime(h http.Header, now time.Time) time.Time {
	if n, err := strconv.ParseInt(h.Get("x-rate-limit-reset"), 10, 64); err == nil && n > 0 {
		return time.Unix(n, 0)
	}
	return now.Add(15 * time.Minute)
}

// problem is X's error body: RFC 7807 problem details, with "errors" for
// invalid requests.
type problem struct {
	Title  string `json:"title"`
	Detail string `json:"detail"`
	Type   string `json:"type"`
	Errors []struct {
		Message string `json:"message"`
		Detail  string `json:"detail"`
	} `json:"errors"`
}

func (p problem) message() string {
	var parts []string
	if p.Title != "" {
		parts = append(parts, p.Title)
	}
	if p.Detail != "" && p.Detail != p.Title {
		parts = append(parts, p.Detail)
	}
	for _, e := range p.Errors {
		if e.Message != "" {
			parts = append(parts, e.Message)
		} else if e.Detail != "" {
			parts = append(parts, e.Detail)
		}
	}
	return strings.Join(parts, ": ")
}

// refine reads X's problem details into the error's message. 401 means the
// credentials, which the config must fix (502); 400 is Rejected already.
func refine(err error) error {
	pe, ok := errors.AsType[*plugin.PlatformError](err)
	if !ok || pe.Status == 0 {
		return err
	}
	var p problem
	if json.Unmarshal([]byte(pe.Message), &p) == nil {
		if m := p.message(); m != "" {
			pe.Message = m
		}
	}
	if pe.Status == http.StatusUnauthorized {
		pe.Message += " (X refused the credentials: check api_key, api_secret_key, access_token and access_token_secret)"
	}
	return pe
}
