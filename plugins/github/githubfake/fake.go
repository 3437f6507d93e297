// Package githubfake is a fake GitHub for tests: the REST endpoints the
// github plugin calls, with GitHub App authentication (an RS256 app JWT for
// /app/..., installation access tokens that expire, by the fake's clock, for
// the rest), GitHub's error bodies, users, installations, repositories,
// issues, comments and reactions kept in memory, and webhook deliveries
// signed as GitHub signs them (X-Hub-Signature-256: sha256= and the hex
// HMAC-SHA256 of the raw body with the app's webhook secret).
//
// Every request is validated against GitHub's REST description
// (api.github.com.json, kin-openapi) and answered 400 when it does not fit;
// every 2xx answer is built from the documented schema (every required
// property present, the fake's data over it) and checked against the
// documented response; every webhook payload is built from and validated
// against the webhooks description's schema for its event and action.
// Problems are test errors. Without the descriptions (a clone without
// ../shared, see internal/platformdocs) the fake answers the same data
// without the documented padding and validates nothing, and says so.
package githubfake

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"

	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/golang-jwt/jwt/v5"

	"github.com/metagov/metagov-go/internal/platformdocs"
)

// HTMLBase is where the fake's web pages would be.
const HTMLBase = "https://github.com"

// Options configure a fake GitHub. Zero values get test defaults.
type Options struct {
	// AppID is the GitHub App's id, the JWT's iss.
	AppID string
	// AppSlug names the app; its bot user is <slug>[bot].
	AppSlug string
	// WebhookSecret signs deliveries.
	WebhookSecret string
	// Now is GitHub's clock, for token and JWT expiry. Default time.Now.
	Now func() time.Time
	// TokenLifetime is how long installation tokens last. Default one hour.
	TokenLifetime time.Duration
}

// User is a GitHub account.
type User struct {
	ID    int64
	Login string
	Type  string // User, Bot or Organization
}

type comment struct {
	id      int64
	user    User
	body    string
	created time.Time
}

type reaction struct {
	id      int64
	user    User
	content string
	created time.Time
}

// Issue is an issue as the fake keeps it.
type Issue struct {
	ID          int64
	Number      int
	Title       string
	Body        string
	State       string
	StateReason string
	User        User
	Created     time.Time
	comments    []comment
	reactions   []reaction
}

// Comments returns the bodies of the issue's comments, oldest first.
func (i Issue) Comments() []string {
	out := []string{}
	for _, c := range i.comments {
		out = append(out, c.body)
	}
	return out
}

type repo struct {
	id     int64
	owner  User
	name   string
	issues []*Issue
}

type token struct {
	installation int64
	expires      time.Time
}

// Request is a request the fake received.
type Request struct {
	Method string
	Path   string
	Query  string
	Header http.Header
	Body   []byte
}

// JSON decodes a JSON body into a generic object.
func (r Request) JSON() map[string]any {
	var m map[string]any
	_ = json.Unmarshal(r.Body, &m)
	return m
}

type pendingInstall struct {
	id    int64
	owner string
}

type failure struct {
	method, path string
	status       int
	body         string
	hang         bool
}

// Server is a running fake GitHub.
type Server struct {
	URL string
	t   testing.TB
	srv *httptest.Server
	o   Options
	key *rsa.PrivateKey
	pem string
	d   *docs

	mu            sync.Mutex
	nextID        int64
	users         map[string]User
	bot           User
	installations map[int64]User
	installedAt   map[int64]time.Time
	setupURL      string
	nextInstall   *pendingInstall
	repos         map[string]*repo
	tokens        map[string]token
	tokensIssued  int
	requests      []Request
	failures      []failure
	release       chan struct{}
	problems      []string
}

// problem records something the plugin (or the fake) did that GitHub's
// description does not allow; the test fails with it when it ends.
func (s *Server) problem(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.problems = append(s.problems, fmt.Sprintf(format, args...))
}

// takeProblems returns and forgets the problems recorded so far.
func (s *Server) takeProblems() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.problems
	s.problems = nil
	return p
}

// Validating reports whether the fake checks requests and payloads against
// GitHub's descriptions.
func (s *Server) Validating() bool { return s.d != nil }

// New starts a fake GitHub until the test ends.
func New(t testing.TB, o Options) *Server {
	t.Helper()
	if o.AppID == "" {
		o.AppID = "424242"
	}
	if o.AppSlug == "" {
		o.AppSlug = "metagov-test"
	}
	if o.WebhookSecret == "" {
		o.WebhookSecret = "github-webhook-secret"
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.TokenLifetime == 0 {
		o.TokenLifetime = time.Hour
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatalf("generating the app key: %v", err)
	}
	d, err := loadDocs()
	if err != nil {
		t.Fatalf("loading GitHub's descriptions: %v", err)
	}
	if d == nil {
		t.Log(platformdocs.Missing("githubfake", restRel))
	}
	s := &Server{t: t, o: o, key: key, d: d, nextID: 1000, users: map[string]User{}, installations: map[int64]User{}, installedAt: map[int64]time.Time{},
		repos: map[string]*repo{}, tokens: map[string]token{}, release: make(chan struct{})}
	s.pem = string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}))
	s.bot = s.AddUser(o.AppSlug+"[bot]", "Bot")
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	t.Cleanup(func() {
		s.mu.Lock()
		select {
		case <-s.release:
		default:
			close(s.release)
		}
		s.mu.Unlock()
		s.srv.Close()
		for _, p := range s.takeProblems() {
			t.Errorf("githubfake: %s", p)
		}
	})
	return s
}

// Options returns the options with defaults filled in.
func (s *Server) Options() Options { return s.o }

// PrivateKeyPEM is the app's private key, PKCS#1 PEM, as GitHub offers it
// for download.
func (s *Server) PrivateKeyPEM() string { return s.pem }

// Settings are the gateway settings that point the plugin at the fake.
func (s *Server) Settings() map[string]string {
	return map[string]string{
		"GITHUB_APP_NAME":        s.o.AppSlug,
		"GITHUB_APP_ID":          s.o.AppID,
		"GITHUB_PRIVATE_KEY":     s.pem,
		"GITHUB_WEBHOOK_SECRET":  s.o.WebhookSecret,
		"METAGOV_GITHUB_API_URL": s.URL,
	}
}

// Bot is the app's bot user, the author of what the installation creates.
func (s *Server) Bot() User { return s.bot }

// AddUser creates an account.
func (s *Server) AddUser(login, typ string) User {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextID++
	u := User{ID: s.nextID, Login: login, Type: typ}
	s.users[login] = u
	return u
}

// AddInstallation installs the app on the account owner (created as an
// Organization when unknown).
func (s *Server) AddInstallation(id int64, owner string) {
	s.mu.Lock()
	u, ok := s.users[owner]
	s.mu.Unlock()
	if !ok {
		u = s.AddUser(owner, "Organization")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.installations[id] = u
	s.installedAt[id] = s.o.Now()
}

// SetSetupURL sets the app's Setup URL, where GitHub sends the person who
// installed the app (the gateway's /auth/github/callback).
func (s *Server) SetSetupURL(u string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.setupURL = u
}

// InstallOnVisit makes the next visit to the app's install page
// (/apps/<slug>/installations/new) install the app on owner as
// installation id, as the person would on GitHub, and redirect to the
// Setup URL with installation_id, setup_action=install and the state, as
// GitHub does for an app that does not request user authorization.
func (s *Server) InstallOnVisit(id int64, owner string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextInstall = &pendingInstall{id: id, owner: owner}
}

// AddRepo creates a repository of owner (created as an Organization when
// unknown).
func (s *Server) AddRepo(owner, name string) {
	s.mu.Lock()
	_, known := s.users[owner]
	s.mu.Unlock()
	if !known {
		s.AddUser(owner, "Organization")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextID++
	s.repos[strings.ToLower(owner+"/"+name)] = &repo{id: s.nextID, owner: s.users[owner], name: name}
}

// Issue returns a copy of an issue.
func (s *Server) Issue(owner, name string, number int) (Issue, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repos[strings.ToLower(owner+"/"+name)]
	if r == nil || number < 1 || number > len(r.issues) {
		return Issue{}, false
	}
	return *r.issues[number-1], true
}

// React adds a reaction of login ("+1", "-1", "heart", ...) to an issue.
func (s *Server) React(owner, name string, number int, login, content string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	is := s.issueLocked(owner, name, number)
	s.nextID++
	is.reactions = append(is.reactions, reaction{id: s.nextID, user: s.users[login], content: content, created: s.o.Now()})
}

// Comment adds a comment of login to an issue and returns its id.
func (s *Server) Comment(owner, name string, number int, login, body string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	is := s.issueLocked(owner, name, number)
	s.nextID++
	is.comments = append(is.comments, comment{id: s.nextID, user: s.users[login], body: body, created: s.o.Now()})
	return s.nextID
}

func (s *Server) issueLocked(owner, name string, number int) *Issue {
	r := s.repos[strings.ToLower(owner+"/"+name)]
	if r == nil || number < 1 || number > len(r.issues) {
		s.t.Fatalf("githubfake: no issue %s/%s#%d", owner, name, number)
	}
	return r.issues[number-1]
}

// FailNext answers the next request to method and path (as sent, without
// the query) with status and a GitHub error body carrying message; status
// 422 answers GitHub's "Validation Failed" with message as the error on
// field "title".
func (s *Server) FailNext(method, path string, status int, message string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	body := map[string]any{"message": message, "documentation_url": "https://docs.github.com/rest"}
	if status == http.StatusUnprocessableEntity {
		body = map[string]any{"message": "Validation Failed", "documentation_url": "https://docs.github.com/rest",
			"errors": []any{map[string]any{"resource": "Issue", "code": "custom", "field": "title", "message": message}}}
	}
	raw, _ := json.Marshal(body)
	s.failures = append(s.failures, failure{method: method, path: path, status: status, body: string(raw)})
}

// HangNext makes the next request to method and path wait until the
// client gives up (or the test ends), as a platform that does not answer.
func (s *Server) HangNext(method, path string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures = append(s.failures, failure{method: method, path: path, hang: true})
}

// RevokeTokens invalidates every installation token, as GitHub does when a
// token is revoked: the next call with one is answered 401.
func (s *Server) RevokeTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens = map[string]token{}
}

// TokensIssued is how many installation tokens the fake has issued.
func (s *Server) TokensIssued() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokensIssued
}

// Requests returns the requests received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// LastRequest returns the last request to method and path.
func (s *Server) LastRequest(method, path string) (Request, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.requests) - 1; i >= 0; i-- {
		if r := s.requests[i]; r.Method == method && r.Path == path {
			return r, true
		}
	}
	return Request{}, false
}

// apiError is GitHub's error body.
func apiError(w http.ResponseWriter, status int, message string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"message": message, "documentation_url": "https://docs.github.com/rest", "status": strconv.Itoa(status)})
}

// route is a documented operation matched by the fake.
type route struct {
	method, template string
	params           map[string]string
}

// match finds the documented operation of a request among those the fake
// serves.
func match(method, path string) (route, bool) {
	templates := []struct{ method, tpl string }{
		{"POST", "/app/installations/{installation_id}/access_tokens"},
		{"GET", "/app/installations/{installation_id}"},
		{"GET", "/repos/{owner}/{repo}"},
		{"POST", "/repos/{owner}/{repo}/issues"},
		{"GET", "/repos/{owner}/{repo}/issues/{issue_number}"},
		{"PATCH", "/repos/{owner}/{repo}/issues/{issue_number}"},
		{"GET", "/repos/{owner}/{repo}/issues/{issue_number}/comments"},
		{"POST", "/repos/{owner}/{repo}/issues/{issue_number}/comments"},
		{"GET", "/repos/{owner}/{repo}/issues/{issue_number}/reactions"},
	}
	segs := strings.Split(strings.Trim(path, "/"), "/")
	for _, t := range templates {
		if t.method != method {
			continue
		}
		tsegs := strings.Split(strings.Trim(t.tpl, "/"), "/")
		if len(tsegs) != len(segs) {
			continue
		}
		params := map[string]string{}
		ok := true
		for i, ts := range tsegs {
			if strings.HasPrefix(ts, "{") {
				params[strings.Trim(ts, "{}")] = segs[i]
			} else if ts != segs[i] {
				ok = false
				break
			}
		}
		if ok {
			return route{method: method, template: t.tpl, params: params}, true
		}
	}
	return route{}, false
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Header: r.Header.Clone(), Body: body})
	var fail *failure
	for i, f := range s.failures {
		if f.method == r.Method && f.path == r.URL.Path {
			fail = &f
			s.failures = append(s.failures[:i], s.failures[i+1:]...)
			break
		}
	}
	release := s.release
	s.mu.Unlock()
	if fail != nil {
		if fail.hang {
			select {
			case <-r.Context().Done():
			case <-release:
			}
			return
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(fail.status)
		_, _ = io.WriteString(w, fail.body)
		return
	}
	if r.Method == http.MethodGet && r.URL.Path == "/apps/"+s.o.AppSlug+"/installations/new" {
		s.installPage(w, r)
		return
	}
	rt, ok := match(r.Method, r.URL.Path)
	if !ok {
		apiError(w, http.StatusNotFound, "Not Found")
		return
	}
	var in *openapi3filter.RequestValidationInput
	if s.d != nil {
		var err error
		if in, err = s.validateRequest(r, body, rt); err != nil {
			s.problem("%s %s does not fit GitHub's description: %v", r.Method, r.URL.Path, err)
			apiError(w, http.StatusBadRequest, "Problems parsing JSON: "+err.Error())
			return
		}
	}
	rec := httptest.NewRecorder()
	s.handle(rec, r, rt, body)
	if s.d != nil && in != nil && rec.Code >= 200 && rec.Code < 300 {
		if err := validateResponse(in, rec.Code, rec.Header(), rec.Body.Bytes()); err != nil {
			s.problem("the answer to %s %s does not fit GitHub's description: %v", r.Method, r.URL.Path, err)
		}
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

// installPage is the app's public install page, with the person's choice
// made by InstallOnVisit.
func (s *Server) installPage(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	next, setup := s.nextInstall, s.setupURL
	s.nextInstall = nil
	s.mu.Unlock()
	if next == nil || setup == "" {
		http.Error(w, "nobody installs the app here (InstallOnVisit, SetSetupURL)", http.StatusNotFound)
		return
	}
	s.AddInstallation(next.id, next.owner)
	q := url.Values{"installation_id": {strconv.FormatInt(next.id, 10)}, "setup_action": {"install"}}
	if st := r.URL.Query().Get("state"); st != "" {
		q.Set("state", st)
	}
	http.Redirect(w, r, setup+"?"+q.Encode(), http.StatusFound)
}

func (s *Server) validateRequest(r *http.Request, body []byte, rt route) (*openapi3filter.RequestValidationInput, error) {
	item := s.d.rest.Paths.Value(rt.template)
	if item == nil || item.GetOperation(rt.method) == nil {
		return nil, fmt.Errorf("%s %s is not in the description", rt.method, rt.template)
	}
	route := &routers.Route{Spec: s.d.rest, Path: rt.template, PathItem: item, Method: rt.method, Operation: item.GetOperation(rt.method)}
	clone := r.Clone(context.Background())
	clone.Body = io.NopCloser(bytes.NewReader(body))
	in := &openapi3filter.RequestValidationInput{
		Request: clone, PathParams: rt.params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
	}
	return in, openapi3filter.ValidateRequest(context.Background(), in)
}

func validateResponse(in *openapi3filter.RequestValidationInput, status int, header http.Header, body []byte) error {
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: status, Header: header,
		Body:    io.NopCloser(bytes.NewReader(body)),
		Options: &openapi3filter.Options{IncludeResponseStatus: false},
	}
	return openapi3filter.ValidateResponse(context.Background(), out)
}

// appAuth checks the app JWT: RS256 with the app's key, iss the app id,
// unexpired by the fake's clock, at most ten minutes long.
func (s *Server) appAuth(r *http.Request) error {
	raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return errors.New("no Bearer JWT")
	}
	claims := &jwt.RegisteredClaims{}
	_, err := jwt.ParseWithClaims(raw, claims, func(*jwt.Token) (any, error) { return &s.key.PublicKey, nil },
		jwt.WithValidMethods([]string{"RS256"}), jwt.WithTimeFunc(s.o.Now), jwt.WithIssuedAt(), jwt.WithExpirationRequired(),
		jwt.WithIssuer(s.o.AppID))
	if err != nil {
		return err
	}
	if claims.IssuedAt == nil || claims.ExpiresAt.Sub(claims.IssuedAt.Time) > 10*time.Minute {
		return errors.New("the JWT is valid for more than ten minutes")
	}
	return nil
}

// tokenAuth returns the installation whose token the request carries.
func (s *Server) tokenAuth(r *http.Request) (int64, bool) {
	h := r.Header.Get("Authorization")
	raw, ok := strings.CutPrefix(h, "Bearer ")
	if !ok {
		raw, ok = strings.CutPrefix(h, "token ")
	}
	if !ok {
		return 0, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	tok, ok := s.tokens[raw]
	if !ok || !s.o.Now().Before(tok.expires) {
		return 0, false
	}
	return tok.installation, true
}

func (s *Server) handle(w http.ResponseWriter, r *http.Request, rt route, body []byte) {
	if strings.HasPrefix(rt.template, "/app/") {
		if err := s.appAuth(r); err != nil {
			apiError(w, http.StatusUnauthorized, "A JSON web token could not be decoded: "+err.Error())
			return
		}
		id, _ := strconv.ParseInt(rt.params["installation_id"], 10, 64)
		s.mu.Lock()
		account, ok := s.installations[id]
		at := s.installedAt[id]
		s.mu.Unlock()
		if !ok {
			apiError(w, http.StatusNotFound, "Not Found")
			return
		}
		if rt.method == "POST" {
			s.issueToken(w, id)
			return
		}
		s.writeJSON(w, http.StatusOK, s.installationJSON(id, account, at))
		return
	}
	inst, ok := s.tokenAuth(r)
	if !ok {
		apiError(w, http.StatusUnauthorized, "Bad credentials")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.repos[strings.ToLower(rt.params["owner"]+"/"+rt.params["repo"])]
	if rp == nil || rp.owner.ID != s.installations[inst].ID {
		apiError(w, http.StatusNotFound, "Not Found")
		return
	}
	if rt.template == "/repos/{owner}/{repo}" {
		s.writeJSON(w, http.StatusOK, s.repoJSON(rp, "full-repository"))
		return
	}
	var req map[string]any
	if len(body) > 0 {
		_ = json.Unmarshal(body, &req)
	}
	if rt.template == "/repos/{owner}/{repo}/issues" {
		title, _ := req["title"].(string)
		text, _ := req["body"].(string)
		s.nextID++
		is := &Issue{ID: s.nextID, Number: len(rp.issues) + 1, Title: title, Body: text, State: "open", User: s.bot, Created: s.o.Now()}
		rp.issues = append(rp.issues, is)
		s.writeJSON(w, http.StatusCreated, s.issueJSON(rp, is))
		return
	}
	n, _ := strconv.Atoi(rt.params["issue_number"])
	if n < 1 || n > len(rp.issues) {
		apiError(w, http.StatusNotFound, "Not Found")
		return
	}
	is := rp.issues[n-1]
	switch {
	case rt.template == "/repos/{owner}/{repo}/issues/{issue_number}" && rt.method == "GET":
		s.writeJSON(w, http.StatusOK, s.issueJSON(rp, is))
	case rt.template == "/repos/{owner}/{repo}/issues/{issue_number}":
		if st, ok := req["state"].(string); ok {
			is.State = st
			is.StateReason, _ = req["state_reason"].(string)
		}
		if t, ok := req["title"].(string); ok {
			is.Title = t
		}
		s.writeJSON(w, http.StatusOK, s.issueJSON(rp, is))
	case strings.HasSuffix(rt.template, "/comments") && rt.method == "POST":
		s.nextID++
		c := comment{id: s.nextID, user: s.bot, body: req["body"].(string), created: s.o.Now()}
		is.comments = append(is.comments, c)
		s.writeJSON(w, http.StatusCreated, s.commentJSON(rp, is, c))
	case strings.HasSuffix(rt.template, "/comments"):
		items := []any{}
		for _, c := range is.comments {
			items = append(items, s.commentJSON(rp, is, c))
		}
		s.writePage(w, r, items)
	case strings.HasSuffix(rt.template, "/reactions"):
		items := []any{}
		content := r.URL.Query().Get("content")
		for _, re := range is.reactions {
			if content == "" || content == re.content {
				items = append(items, s.reactionJSON(re))
			}
		}
		s.writePage(w, r, items)
	}
}

func (s *Server) issueToken(w http.ResponseWriter, installation int64) {
	var b [20]byte
	_, _ = rand.Read(b[:])
	tok := "ghs_" + hex.EncodeToString(b[:])
	expires := s.o.Now().Add(s.o.TokenLifetime).UTC().Truncate(time.Second)
	s.mu.Lock()
	s.tokens[tok] = token{installation: installation, expires: expires}
	s.tokensIssued++
	s.mu.Unlock()
	s.writeJSON(w, http.StatusCreated, build(s.restRaw(), "installation-token", map[string]any{
		"token": tok, "expires_at": expires.Format(time.RFC3339), "permissions": map[string]any{"issues": "write", "metadata": "read"},
		"repository_selection": "all",
	}))
}

// writePage answers one page of a list, with GitHub's Link header.
func (s *Server) writePage(w http.ResponseWriter, r *http.Request, items []any) {
	q := r.URL.Query()
	per, _ := strconv.Atoi(q.Get("per_page"))
	if per <= 0 {
		per = 30
	}
	per = min(per, 100)
	page, _ := strconv.Atoi(q.Get("page"))
	if page <= 0 {
		page = 1
	}
	from := min((page-1)*per, len(items))
	to := min(from+per, len(items))
	if to < len(items) {
		next := *r.URL
		nq := next.Query()
		nq.Set("page", strconv.Itoa(page+1))
		nq.Set("per_page", strconv.Itoa(per))
		next.RawQuery = nq.Encode()
		w.Header().Set("Link", fmt.Sprintf(`<%s%s>; rel="next"`, s.URL, next.RequestURI()))
	}
	s.writeJSON(w, http.StatusOK, items[from:to])
}

func (s *Server) writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) restRaw() map[string]any {
	if s.d == nil {
		return nil
	}
	return s.d.restRaw
}

func ts(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func (s *Server) userJSON(u User) map[string]any {
	return build(s.restRaw(), "simple-user", map[string]any{
		"login": u.Login, "id": u.ID, "node_id": fmt.Sprintf("U_%d", u.ID), "type": u.Type, "site_admin": false,
		"url": s.URL + "/users/" + u.Login, "html_url": HTMLBase + "/" + u.Login, "gravatar_id": "",
	})
}

func (s *Server) installationJSON(id int64, account User, at time.Time) map[string]any {
	return build(s.restRaw(), "installation", map[string]any{
		"id": id, "app_id": mustInt(s.o.AppID), "app_slug": s.o.AppSlug, "target_id": account.ID, "target_type": account.Type,
		"account": s.userJSON(account), "single_file_name": nil, "repository_selection": "all", "events": []any{"issues", "issue_comment", "push"},
		"permissions": map[string]any{"issues": "write", "metadata": "read"}, "suspended_by": nil, "suspended_at": nil,
		"access_tokens_url": fmt.Sprintf("%s/app/installations/%d/access_tokens", s.URL, id),
		"html_url":          fmt.Sprintf("%s/settings/installations/%d", HTMLBase, id),
		"created_at":        ts(at), "updated_at": ts(at),
	})
}

func mustInt(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}

func (s *Server) repoJSON(rp *repo, schema string) map[string]any {
	full := rp.owner.Login + "/" + rp.name
	return build(s.restRaw(), schema, map[string]any{
		"id": rp.id, "node_id": fmt.Sprintf("R_%d", rp.id), "name": rp.name, "full_name": full, "owner": s.userJSON(rp.owner),
		"private": false, "html_url": HTMLBase + "/" + full, "url": s.URL + "/repos/" + full,
	})
}

func (s *Server) issueJSON(rp *repo, is *Issue) map[string]any {
	api := fmt.Sprintf("%s/repos/%s/%s/issues/%d", s.URL, rp.owner.Login, rp.name, is.Number)
	var closedAt any
	if is.State == "closed" {
		closedAt = ts(s.o.Now())
	}
	var reason any
	if is.StateReason != "" {
		reason = is.StateReason
	}
	return build(s.restRaw(), "issue", map[string]any{
		"id": is.ID, "node_id": fmt.Sprintf("I_%d", is.ID), "number": is.Number, "title": is.Title, "body": is.Body,
		"state": is.State, "state_reason": reason, "user": s.userJSON(is.User), "labels": []any{}, "assignee": nil, "milestone": nil,
		"locked": false, "comments": len(is.comments), "closed_at": closedAt, "created_at": ts(is.Created), "updated_at": ts(s.o.Now()),
		"url": api, "repository_url": s.URL + "/repos/" + rp.owner.Login + "/" + rp.name, "labels_url": api + "/labels{/name}",
		"comments_url": api + "/comments", "events_url": api + "/events",
		"html_url": fmt.Sprintf("%s/%s/%s/issues/%d", HTMLBase, rp.owner.Login, rp.name, is.Number), "author_association": "NONE",
	})
}

func (s *Server) commentJSON(rp *repo, is *Issue, c comment) map[string]any {
	return build(s.restRaw(), "issue-comment", map[string]any{
		"id": c.id, "node_id": fmt.Sprintf("IC_%d", c.id), "body": c.body, "user": s.userJSON(c.user),
		"url":        fmt.Sprintf("%s/repos/%s/%s/issues/comments/%d", s.URL, rp.owner.Login, rp.name, c.id),
		"html_url":   fmt.Sprintf("%s/%s/%s/issues/%d#issuecomment-%d", HTMLBase, rp.owner.Login, rp.name, is.Number, c.id),
		"issue_url":  fmt.Sprintf("%s/repos/%s/%s/issues/%d", s.URL, rp.owner.Login, rp.name, is.Number),
		"created_at": ts(c.created), "updated_at": ts(c.created), "author_association": "NONE",
	})
}

func (s *Server) reactionJSON(re reaction) map[string]any {
	return build(s.restRaw(), "reaction", map[string]any{
		"id": re.id, "node_id": fmt.Sprintf("REA_%d", re.id), "user": s.userJSON(re.user), "content": re.content, "created_at": ts(re.created),
	})
}

// Delivery is a webhook delivery as GitHub sends it.
type Delivery struct {
	Event  string
	Header http.Header
	Body   []byte
}

// Sign sets X-Hub-Signature-256 for the body with secret.
func (d *Delivery) Sign(secret string) {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(d.Body)
	d.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
}

// delivery builds a signed delivery of event whose payload is the
// documented schema for event and action with over merged in, and
// validates the payload.
func (s *Server) delivery(event, action string, installation int64, over map[string]any) Delivery {
	s.t.Helper()
	name := "webhook-" + strings.ReplaceAll(event, "_", "-")
	if action != "" {
		name += "-" + action
		over["action"] = action
	}
	var root map[string]any
	if s.d != nil {
		root = s.d.webhooksRaw
	}
	if installation != 0 {
		over["installation"] = map[string]any{"id": installation, "node_id": fmt.Sprintf("MDIz_%d", installation)}
	}
	payload := build(root, name, over)
	raw, err := json.Marshal(payload)
	if err != nil {
		s.t.Fatalf("githubfake: encoding %s: %v", name, err)
	}
	if s.d != nil {
		sch, err := s.d.webhookSchema(name)
		if err != nil {
			s.t.Fatalf("githubfake: %v", err)
		}
		var v any
		_ = json.Unmarshal(raw, &v)
		if err := sch.Validate(v); err != nil {
			s.problem("the %s payload does not fit GitHub's description: %v", name, err)
		}
	}
	var id [16]byte
	_, _ = rand.Read(id[:])
	d := Delivery{Event: event, Body: raw, Header: http.Header{}}
	d.Header.Set("Content-Type", "application/json")
	d.Header.Set("User-Agent", "GitHub-Hookshot/fake")
	d.Header.Set("X-GitHub-Event", event)
	d.Header.Set("X-GitHub-Delivery", fmt.Sprintf("%x-%x-%x-%x-%x", id[0:4], id[4:6], id[6:8], id[8:10], id[10:]))
	d.Header.Set("X-GitHub-Hook-ID", "1")
	d.Header.Set("X-GitHub-Hook-Installation-Target-ID", s.o.AppID)
	d.Header.Set("X-GitHub-Hook-Installation-Target-Type", "integration")
	d.Sign(s.o.WebhookSecret)
	return d
}

func (s *Server) webhookUser(u User) map[string]any {
	return map[string]any{"login": u.Login, "id": u.ID, "node_id": fmt.Sprintf("U_%d", u.ID), "type": u.Type,
		"html_url": HTMLBase + "/" + u.Login, "url": s.URL + "/users/" + u.Login}
}

func (s *Server) webhookRepo(rp *repo) map[string]any {
	full := rp.owner.Login + "/" + rp.name
	return map[string]any{"id": rp.id, "node_id": fmt.Sprintf("R_%d", rp.id), "name": rp.name, "full_name": full,
		"owner": s.webhookUser(rp.owner), "html_url": HTMLBase + "/" + full, "url": s.URL + "/repos/" + full, "private": false}
}

func (s *Server) webhookIssue(rp *repo, is *Issue) map[string]any {
	api := fmt.Sprintf("%s/repos/%s/%s/issues/%d", s.URL, rp.owner.Login, rp.name, is.Number)
	return map[string]any{"id": is.ID, "node_id": fmt.Sprintf("I_%d", is.ID), "number": is.Number, "title": is.Title, "body": is.Body,
		"state": is.State, "user": s.webhookUser(is.User), "url": api,
		"html_url": fmt.Sprintf("%s/%s/%s/issues/%d", HTMLBase, rp.owner.Login, rp.name, is.Number)}
}

// Ping is the ping GitHub sends when the app's webhook is set up.
func (s *Server) Ping() Delivery {
	return s.delivery("ping", "", 0, map[string]any{"zen": "Keep it logically awesome.", "hook_id": 1,
		"hook": map[string]any{"type": "App", "id": 1, "app_id": mustInt(s.o.AppID), "active": true, "events": []any{"issues"}}})
}

// IssueCommentEvent is an issue_comment delivery (action created, edited
// or deleted) for comment id on an issue, sent by the comment's author.
func (s *Server) IssueCommentEvent(action string, installation int64, owner, name string, number int, commentID int64) Delivery {
	s.mu.Lock()
	is := s.issueLocked(owner, name, number)
	rp := s.repos[strings.ToLower(owner+"/"+name)]
	var c comment
	for _, x := range is.comments {
		if x.id == commentID {
			c = x
		}
	}
	over := map[string]any{
		"issue": s.webhookIssue(rp, is), "repository": s.webhookRepo(rp), "sender": s.webhookUser(c.user),
		"comment": map[string]any{"id": c.id, "node_id": fmt.Sprintf("IC_%d", c.id), "body": c.body, "user": s.webhookUser(c.user),
			"created_at": ts(c.created), "updated_at": ts(c.created)},
	}
	if action == "edited" {
		over["changes"] = map[string]any{"body": map[string]any{"from": c.body}}
	}
	s.mu.Unlock()
	return s.delivery("issue_comment", action, installation, over)
}

// IssuesEvent is an issues delivery (opened, closed, ...) sent by sender.
func (s *Server) IssuesEvent(action string, installation int64, owner, name string, number int, sender string) Delivery {
	s.mu.Lock()
	is := s.issueLocked(owner, name, number)
	rp := s.repos[strings.ToLower(owner+"/"+name)]
	over := map[string]any{"issue": s.webhookIssue(rp, is), "repository": s.webhookRepo(rp), "sender": s.webhookUser(s.users[sender])}
	s.mu.Unlock()
	return s.delivery("issues", action, installation, over)
}

// PushEvent is a push delivery, which has no action, by pusher.
func (s *Server) PushEvent(installation int64, owner, name, pusher string) Delivery {
	s.mu.Lock()
	rp := s.repos[strings.ToLower(owner+"/"+name)]
	u := s.users[pusher]
	over := map[string]any{"ref": "refs/heads/main", "before": strings.Repeat("a", 40), "after": strings.Repeat("b", 40),
		"repository": s.webhookRepo(rp), "sender": s.webhookUser(u), "pusher": map[string]any{"name": u.Login, "email": nil},
		"created": false, "deleted": false, "forced": false, "base_ref": nil, "compare": HTMLBase + "/compare", "commits": []any{}, "head_commit": nil}
	s.mu.Unlock()
	return s.delivery("push", "", installation, over)
}

// Send posts a delivery to url and returns the status and body.
func Send(t testing.TB, url string, d Delivery) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(d.Body))
	if err != nil {
		t.Fatalf("building the delivery: %v", err)
	}
	req.Header = d.Header.Clone()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("sending the delivery: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body
}
