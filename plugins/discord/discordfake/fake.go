// Package discordfake is a fake Discord for tests: the HTTP API v10 routes
// the discord plugin uses (guild commands, guilds, channel messages, the
// OAuth2 token exchange and the current user's guilds), with Discord's
// error JSON ({code, message, errors}), Bot and Bearer authentication and
// injectable failures; and Discord's side of the interactions endpoint: it
// signs interactions with an Ed25519 key pair, as Discord does, and checks
// the answers.
//
// Every request the plugin sends, and every interaction response it
// answers, is validated against Discord's published OpenAPI description
// (shared/platforms/discord/openapi.json, found through
// internal/platformdocs); a request that does not fit is answered with
// Discord's 400 Invalid Form Body and recorded as a problem, which fails
// the test. When the description is absent the fake runs without that
// check and says so in the test log. The token exchange is not in the
// description and is faked from Discord's OAuth2 documentation.
package discordfake

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/metagov/metagov-go/internal/platformdocs"
)

// The fake application and its guild. Ids exceed 2^53, as real snowflakes
// do, so that any float64 on the way shows.
const (
	ClientID     = "1098765432109876543"
	ClientSecret = "fake-client-secret"
	BotToken     = "fake-bot-token"
	GuildID      = "1123456789012345679"
	GuildName    = "Fake Guild"
	General      = "1123456789012345681" // a channel of the guild
	Admin        = "1134567890123456789" // a member who installs the app
	Member       = "1134567890123456791" // another member
	Outsider     = "1134567890123456793"
	OtherGuildID = "1123456789012345699" // a guild the members also belong to
)

// keySeed makes the fake application's key pair the same in every run.
var keySeed = sha256.Sum256([]byte("discordfake application key"))

// PrivateKey signs the fake's interactions; PublicKey is the application's
// public key, hex, for DISCORD_PUBLIC_KEY.
var (
	PrivateKey = ed25519.NewKeyFromSeed(keySeed[:])
	PublicKey  = hex.EncodeToString(PrivateKey.Public().(ed25519.PublicKey))
)

// Request is one request the fake received.
type Request struct {
	Method string
	Path   string
	Header http.Header
	Body   []byte
}

// JSON decodes the body.
func (r Request) JSON() map[string]any {
	var m map[string]any
	_ = json.Unmarshal(r.Body, &m)
	return m
}

// Message is a posted message.
type Message struct {
	ID         string
	ChannelID  string
	Content    string
	Components []any
}

// Fake is a running fake Discord.
type Fake struct {
	URL string // the base URL, for METAGOV_DISCORD_API_URL (the plugin appends /v10)

	t         testing.TB
	mu        sync.Mutex
	requests  []Request
	problems  []string
	messages  map[string]*Message
	commands  map[string]map[string]any
	codes     map[string]string // authorization code → install type ("app" or "user")
	failNext  []failure
	validates bool
}

type failure struct {
	status int
	body   string
	header http.Header
}

// New starts a fake, closed with the test; at the end the test fails if a
// request or answer did not fit Discord's description.
func New(t testing.TB) *Fake {
	t.Helper()
	doc, err := loadSpec()
	if err != nil {
		t.Fatal(err)
	}
	if doc == nil {
		t.Log(platformdocs.Missing("discordfake", specRel))
	}
	f := &Fake{t: t, messages: map[string]*Message{}, commands: map[string]map[string]any{},
		codes: map[string]string{}, validates: doc != nil}
	srv := httptest.NewServer(http.HandlerFunc(f.serve))
	f.URL = srv.URL + "/api"
	t.Cleanup(func() {
		srv.Close()
		for _, p := range f.Problems() {
			t.Errorf("discordfake: %s", p)
		}
	})
	return f
}

// Validating reports whether requests are checked against the description.
func (f *Fake) Validating() bool { return f.validates }

// Requests lists the requests received so far.
func (f *Fake) Requests() []Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Request(nil), f.requests...)
}

// Last is the last request with method and path, if any.
func (f *Fake) Last(method, path string) (Request, bool) {
	rs := f.Requests()
	for i := len(rs) - 1; i >= 0; i-- {
		if rs[i].Method == method && rs[i].Path == path {
			return rs[i], true
		}
	}
	return Request{}, false
}

// Problems are the requests and answers that did not fit the description.
func (f *Fake) Problems() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.problems...)
}

// TakeProblems returns the problems and forgets them, for a test that sends
// a bad answer on purpose.
func (f *Fake) TakeProblems() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := f.problems
	f.problems = nil
	return p
}

func (f *Fake) problem(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.problems = append(f.problems, fmt.Sprintf(format, args...))
}

// FailNext answers the next API request with status and Discord's error
// JSON body (retry_after for a 429).
func (f *Fake) FailNext(status int, body string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	h := http.Header{}
	if status == http.StatusTooManyRequests {
		h.Set("Retry-After", "2")
	}
	f.failNext = append(f.failNext, failure{status: status, body: body, header: h})
}

// StallNext leaves the next API request unanswered until its caller gives
// up.
func (f *Fake) StallNext() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failNext = append(f.failNext, failure{})
}

// Message is the message with id, if posted.
func (f *Fake) Message(id string) (Message, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	m, ok := f.messages[id]
	if !ok {
		return Message{}, false
	}
	return *m, true
}

// Command is the guild command with id, if created.
func (f *Fake) Command(id string) (map[string]any, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.commands[id]
	return c, ok
}

// Code issues an authorization code for an install of type ("app": the bot
// added to GuildID by Admin; "user": Member logging in).
func (f *Fake) Code(installType string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	code := "code-" + strconv.Itoa(len(f.codes)+1)
	f.codes[code] = installType
	return code
}

// lastID numbers the ids of every fake in the test binary, so that two
// fakes never make the same snowflake (the gateway remembers interactions
// by id, process-wide, as ids are unique on Discord).
var lastID atomic.Int64

func init() { lastID.Store(1200000000000000001) }

func (f *Fake) id() string {
	return strconv.FormatInt(lastID.Add(1), 10)
}

// route is one API route of the fake.
type route struct {
	method  string
	pattern *regexp.Regexp
	spec    string // its path in the description, or "" (not described)
	auth    string // "Bot" or "Bearer"
	handle  func(f *Fake, c *call) (int, any)
}

type call struct {
	r      *http.Request
	body   []byte
	params map[string]string
	token  string
}

var routes = []route{
	{http.MethodPost, regexp.MustCompile(`^/v10/applications/(?P<application_id>\d+)/guilds/(?P<guild_id>\d+)/commands$`),
		"/applications/{application_id}/guilds/{guild_id}/commands", "Bot", (*Fake).createCommand},
	{http.MethodPatch, regexp.MustCompile(`^/v10/applications/(?P<application_id>\d+)/guilds/(?P<guild_id>\d+)/commands/(?P<command_id>\d+)$`),
		"/applications/{application_id}/guilds/{guild_id}/commands/{command_id}", "Bot", (*Fake).updateCommand},
	{http.MethodGet, regexp.MustCompile(`^/v10/guilds/(?P<guild_id>\d+)$`), "/guilds/{guild_id}", "Bot", (*Fake).getGuild},
	{http.MethodPost, regexp.MustCompile(`^/v10/channels/(?P<channel_id>\d+)/messages$`),
		"/channels/{channel_id}/messages", "Bot", (*Fake).createMessage},
	{http.MethodPatch, regexp.MustCompile(`^/v10/channels/(?P<channel_id>\d+)/messages/(?P<message_id>\d+)$`),
		"/channels/{channel_id}/messages/{message_id}", "Bot", (*Fake).editMessage},
	{http.MethodGet, regexp.MustCompile(`^/v10/users/@me$`), "/users/@me", "Bearer", (*Fake).me},
	{http.MethodGet, regexp.MustCompile(`^/v10/users/@me/guilds$`), "/users/@me/guilds", "Bearer", (*Fake).myGuilds},
	{http.MethodPost, regexp.MustCompile(`^/v10/oauth2/token$`), "", "", (*Fake).token},
}

// apiError is Discord's error JSON.
func apiError(code int, message string) map[string]any {
	return map[string]any{"code": code, "message": message}
}

func (f *Fake) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	path := r.URL.Path
	if len(path) > 4 && path[:4] == "/api" {
		path = path[4:]
	}
	f.mu.Lock()
	f.requests = append(f.requests, Request{Method: r.Method, Path: path, Header: r.Header.Clone(), Body: body})
	var fail *failure
	if len(f.failNext) > 0 {
		fail = &f.failNext[0]
		f.failNext = f.failNext[1:]
	}
	f.mu.Unlock()
	if fail != nil && fail.status == 0 {
		<-r.Context().Done() // a stall: no answer until the caller gives up
		return
	}
	if fail != nil {
		for k, v := range fail.header {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(fail.status)
		_, _ = io.WriteString(w, fail.body)
		return
	}
	if r.Method == http.MethodGet && path == "/oauth2/authorize" {
		f.authorize(w, r)
		return
	}
	rt, params := match(r.Method, path)
	if rt == nil {
		writeJSON(w, http.StatusNotFound, apiError(0, "404: Not Found"))
		return
	}
	c := &call{r: r, body: body, params: params}
	switch rt.auth {
	case "Bot":
		if r.Header.Get("Authorization") != "Bot "+BotToken {
			writeJSON(w, http.StatusUnauthorized, apiError(0, "401: Unauthorized"))
			return
		}
	case "Bearer":
		tok, ok := cutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || (tok != "user-token-app" && tok != "user-token-user") {
			writeJSON(w, http.StatusUnauthorized, apiError(0, "401: Unauthorized"))
			return
		}
		c.token = tok
	}
	if doc, _ := loadSpec(); doc != nil && rt.spec != "" {
		if err := validate(doc, r.Method, rt.spec, params, r.Header, body); err != nil {
			f.problem("%s %s does not fit Discord's description: %v", r.Method, path, err)
			out := apiError(50035, "Invalid Form Body")
			out["errors"] = map[string]any{"_errors": []any{map[string]any{"code": "INVALID", "message": err.Error()}}}
			writeJSON(w, http.StatusBadRequest, out)
			return
		}
	}
	status, out := rt.handle(f, c)
	writeJSON(w, status, out)
}

func cutPrefix(s, p string) (string, bool) {
	if len(s) >= len(p) && s[:len(p)] == p {
		return s[len(p):], true
	}
	return s, false
}

func match(method, path string) (*route, map[string]string) {
	for i := range routes {
		rt := &routes[i]
		if rt.method != method {
			continue
		}
		m := rt.pattern.FindStringSubmatch(path)
		if m == nil {
			continue
		}
		params := map[string]string{}
		for j, name := range rt.pattern.SubexpNames() {
			if name != "" {
				params[name] = m[j]
			}
		}
		return rt, params
	}
	return nil, nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	if status == http.StatusNoContent {
		w.WriteHeader(status)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// authorize is Discord's consent page, already agreed to: it redirects to
// redirect_uri with a code (an app install when the scope holds bot) and
// the state.
func (f *Fake) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("client_id") != ClientID || q.Get("response_type") != "code" || q.Get("redirect_uri") == "" {
		http.Error(w, "invalid OAuth2 request", http.StatusBadRequest)
		return
	}
	typ := "user"
	for _, s := range strings.Fields(q.Get("scope")) {
		if s == "bot" {
			typ = "app"
			if q.Get("permissions") == "" {
				f.problem("a bot install without permissions")
			} else if _, err := strconv.ParseUint(q.Get("permissions"), 10, 64); err != nil {
				f.problem("permissions is not a number: %q", q.Get("permissions"))
			}
		}
	}
	back, err := url.Parse(q.Get("redirect_uri"))
	if err != nil {
		http.Error(w, "bad redirect_uri", http.StatusBadRequest)
		return
	}
	bq := back.Query()
	bq.Set("code", f.Code(typ))
	bq.Set("state", q.Get("state"))
	if typ == "app" {
		bq.Set("guild_id", GuildID)
		bq.Set("permissions", q.Get("permissions"))
	}
	back.RawQuery = bq.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}
