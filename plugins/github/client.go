package github

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	gh "github.com/google/go-github/v92/github"

	"github.com/metagov/metagov-go/plugin"
)

// tokenRefreshMargin is how long before its expiry an installation token is
// replaced: GitHub's tokens last an hour, and a call started just before
// the expiry must not arrive just after it.
const tokenRefreshMargin = 5 * time.Minute

// jwtLifetime is the app JWT's validity; GitHub accepts at most ten
// minutes, and the issue time is set a minute back for clock drift, as
// GitHub recommends.
const jwtLifetime = 9 * time.Minute

// newClient builds a go-github client over a copy of the gateway's HTTP
// client (its egress policy, timeout and redirect rules kept) whose
// transport adds auth to requests for the API host only.
func newClient(hc *http.Client, baseURL string, auth authorizer) (*gh.Client, error) {
	base, err := url.Parse(baseURL)
	if err != nil {
		return nil, fmt.Errorf("parsing %s %q: %w", SettingAPIURL, baseURL, err)
	}
	next := hc.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	c := *hc
	c.Transport = &authTransport{next: next, host: base.Host, auth: auth}
	client, err := gh.NewClient(gh.WithHTTPClient(&c), gh.WithURLs(&baseURL, &baseURL), gh.WithUserAgent("metagov-go"))
	if err != nil {
		return nil, fmt.Errorf("building the github client for %s: %w", baseURL, err)
	}
	return client, nil
}

// authorizer gives the Authorization header of a request and, when GitHub
// answered 401 to it, whether to try once more with a fresh credential.
type authorizer interface {
	authorization(ctx context.Context) (string, error)
	rejected(ctx context.Context, header string) (retry bool)
}

// authTransport adds the credential to every request to the API host (a
// redirect to another host never receives it) and, when GitHub answers
// 401, renews it and sends the request once more.
type authTransport struct {
	next http.RoundTripper
	host string
	auth authorizer
}

func (t *authTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Host != t.host {
		return t.next.RoundTrip(req)
	}
	header, err := t.auth.authorization(req.Context())
	if err != nil {
		return nil, err
	}
	r := req.Clone(req.Context())
	r.Header.Set("Authorization", header)
	resp, err := t.next.RoundTrip(r)
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	if req.Body != nil && req.Body != http.NoBody && req.GetBody == nil {
		return resp, nil
	}
	if !t.auth.rejected(req.Context(), header) {
		return resp, nil
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	header, err = t.auth.authorization(req.Context())
	if err != nil {
		return nil, err
	}
	r = req.Clone(req.Context())
	if req.GetBody != nil {
		if r.Body, err = req.GetBody(); err != nil {
			return nil, fmt.Errorf("replaying the request body: %w", err)
		}
	}
	r.Header.Set("Authorization", header)
	return t.next.RoundTrip(r)
}

// appAuth authenticates as the app: a JWT signed with its private key,
// made for every request (it is cheap and never stale).
type appAuth struct {
	s   Settings
	now func() time.Time
}

func (a *appAuth) authorization(context.Context) (string, error) {
	if a.s.AppID == "" || a.s.PrivateKey == nil {
		return "", &plugin.SettingsError{Plugin: platform, Settings: []string{SettingAppID, SettingPrivateKeyPath + " or " + SettingPrivateKey}}
	}
	now := a.now()
	claims := jwt.RegisteredClaims{
		Issuer:    a.s.AppID,
		IssuedAt:  jwt.NewNumericDate(now.Add(-time.Minute)),
		ExpiresAt: jwt.NewNumericDate(now.Add(jwtLifetime)),
	}
	signed, err := jwt.NewWithClaims(jwt.SigningMethodRS256, claims).SignedString(a.s.PrivateKey)
	if err != nil {
		return "", fmt.Errorf("signing the GitHub App JWT: %w", err)
	}
	return "Bearer " + signed, nil
}

// rejected never retries: a new JWT would be refused as well.
func (a *appAuth) rejected(context.Context, string) bool { return false }

// installationAuth authenticates as the installation.
type installationAuth struct{ tokens *tokenSource }

func (a *installationAuth) authorization(ctx context.Context) (string, error) {
	tok, err := a.tokens.get(ctx)
	if err != nil {
		return "", err
	}
	return "Bearer " + tok, nil
}

// rejected drops the token GitHub refused (revoked, or expired early), so
// that the retry fetches a new one.
func (a *installationAuth) rejected(_ context.Context, header string) bool {
	a.tokens.invalidate(strings.TrimPrefix(header, "Bearer "))
	return true
}

// tokenSource gets the installation's access token, kept in memory in a
// cache shared by every instance of this gateway process for the same API,
// app and installation (the gateway builds instances anew after a config
// change, and a community's instances must not each fetch one), renewed
// tokenRefreshMargin before it expires, by the gateway's clock.
type tokenSource struct {
	app            *gh.Client
	installationID int64
	now            func() time.Time
	cache          *cachedToken
}

// cachedToken is one installation's current token.
type cachedToken struct {
	mu      sync.Mutex
	token   string
	expires time.Time
}

// tokens is the process-wide token cache, by API URL, app id and
// installation id.
var tokens sync.Map

func newTokenSource(app *gh.Client, apiURL, appID string, installationID int64, now func() time.Time) *tokenSource {
	key := apiURL + "\x00" + appID + "\x00" + strconv.FormatInt(installationID, 10)
	c, _ := tokens.LoadOrStore(key, &cachedToken{})
	return &tokenSource{app: app, installationID: installationID, now: now, cache: c.(*cachedToken)}
}

func (ts *tokenSource) get(ctx context.Context) (string, error) {
	ts.cache.mu.Lock()
	defer ts.cache.mu.Unlock()
	if ts.cache.token != "" && ts.now().Before(ts.cache.expires.Add(-tokenRefreshMargin)) {
		return ts.cache.token, nil
	}
	return ts.fetchLocked(ctx)
}

func (ts *tokenSource) fetchLocked(ctx context.Context) (string, error) {
	tok, _, err := ts.app.Apps.CreateInstallationToken(ctx, ts.installationID, &gh.InstallationTokenOptions{})
	if err != nil {
		return "", fmt.Errorf("getting an installation access token: %w", platformError(err))
	}
	if tok.GetToken() == "" {
		return "", &plugin.PlatformError{Platform: platform, Message: "GitHub returned an empty installation access token"}
	}
	ts.cache.token = tok.GetToken()
	ts.cache.expires = tok.GetExpiresAt().Time
	if ts.cache.expires.IsZero() {
		ts.cache.expires = ts.now().Add(time.Hour)
	}
	return ts.cache.token, nil
}

// invalidate forgets token if it is still the current one.
func (ts *tokenSource) invalidate(token string) {
	ts.cache.mu.Lock()
	defer ts.cache.mu.Unlock()
	if ts.cache.token == token {
		ts.cache.token = ""
	}
}

// ensure gets a token unless a fresh one is cached, checking that the
// installation can be acted as.
func (ts *tokenSource) ensure(ctx context.Context) error {
	_, err := ts.get(ctx)
	return err
}

// platformError turns a go-github error into the gateway's: a 400 or 422
// from GitHub is the caller's input (422 platform_rejected, with GitHub's
// message and its field errors), any other answer or failure a 502 (504 on
// timeout), an egress refusal kept wrapped.
func platformError(err error) error {
	if err == nil {
		return nil
	}
	var pe *plugin.PlatformError
	if errors.As(err, &pe) {
		return err
	}
	var rl *gh.RateLimitError
	if errors.As(err, &rl) {
		return &plugin.PlatformError{Platform: platform, Status: statusOf(rl.Response), Message: "rate limited: " + rl.Message, Err: err}
	}
	var arl *gh.AbuseRateLimitError
	if errors.As(err, &arl) {
		return &plugin.PlatformError{Platform: platform, Status: statusOf(arl.Response), Message: "secondary rate limit: " + arl.Message, Err: err}
	}
	var er *gh.ErrorResponse
	if errors.As(err, &er) {
		status := statusOf(er.Response)
		msg := er.Message
		field := ""
		for _, fe := range er.Errors {
			detail := fe.Message
			if detail == "" {
				detail = strings.TrimSpace(fe.Code + " " + fe.Field)
			}
			msg += "; " + detail
			if fe.Field != "" && field == "" {
				field = "/" + fe.Field
			}
		}
		if msg == "" {
			msg = http.StatusText(status)
		}
		rejected := status == http.StatusBadRequest || status == http.StatusUnprocessableEntity
		if !rejected {
			field = ""
		}
		return &plugin.PlatformError{Platform: platform, Status: status, Message: msg, Rejected: rejected, Field: field}
	}
	return plugin.CheckResponse(platform, nil, err)
}

func statusOf(r *http.Response) int {
	if r == nil {
		return 0
	}
	return r.StatusCode
}

// do sends a request to the API path (relative to the API URL, without a
// leading slash) and returns GitHub's JSON answer as it came, or nil for an
// empty one.
func do(ctx context.Context, c *gh.Client, method, path string, body any) (json.RawMessage, error) {
	req, err := c.NewRequest(ctx, method, path, body)
	if err != nil {
		return nil, fmt.Errorf("building the github request %s %s: %w", method, path, err)
	}
	var raw json.RawMessage
	if _, err := c.Do(req, &raw); err != nil {
		return nil, platformError(err)
	}
	return raw, nil
}

// getInstallation reads the installation, as the app.
func (g *GitHub) getInstallation(ctx context.Context) (*gh.Installation, error) {
	inst, _, err := g.app.Apps.GetInstallation(ctx, g.installationID)
	if err != nil {
		return nil, fmt.Errorf("reading installation %d: %w", g.installationID, platformError(err))
	}
	return inst, nil
}
