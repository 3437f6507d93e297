// Package slackfake is a fake Slack for tests: the Web API at <URL>/api,
// checked against Slack's published description (shared/platforms/slack),
// the OAuth authorize page at <URL>/oauth/v2/authorize, interaction
// response_urls at <URL>/response/<n>, and helpers that send the gateway
// Events API and Interactivity requests signed as Slack signs them.
//
// It answers as Slack does: HTTP 200 with {"ok": true, …} or {"ok": false,
// "error": "<code>"}; a request without a token is not_authed and one with
// an unknown token invalid_auth (the token comes from "Authorization: Bearer"
// or a token argument); a method the description does not document is
// unknown_method; and a method made to rate-limit answers 429 with
// Retry-After. Every argument the plugin sends must be one the description
// documents for that method (else the test fails: Slack would ignore it,
// hiding a bug), a missing required argument or a malformed boolean or
// integer is invalid_arguments, and every error code the fake answers must
// be documented for the method (or be one of the few Slack documents for
// all methods). Blocks are checked against Block Kit's documented limits
// (50 blocks, 3,000 characters of section text, 75 of button text, 100
// select options …) and refused with invalid_blocks.
//
// Without the description beside the repository (see
// internal/platformdocs), the fake answers the same but checks nothing
// against it, and says so in the test log.
package slackfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Fixed identities of the fake workspace.
const (
	TeamID        = "T0FAKE001"
	TeamName      = "Fake Workspace"
	AppID         = "A0FAKEAPP"
	BotUserID     = "U0BOT0001"
	BotToken      = "xoxb-fake-bot-token"
	ClientID      = "1111.2222"
	ClientSecret  = "fake-client-secret"
	SigningSecret = "fake-signing-secret-8f2d"
	// Admin and Member are people of the workspace; Admin is an admin.
	Admin       = "U0ADMIN01"
	AdminToken  = "xoxp-fake-admin-token"
	Member      = "U0MEMBER1"
	MemberToken = "xoxp-fake-member-token"
	Outsider    = "U0OUTSIDE"
	// General is a public channel the bot is in; Random one it is not in.
	General = "C0GENERAL"
	Random  = "C0RANDOM0"
)

// User is a person (or the bot) of the workspace.
type User struct {
	ID      string
	Name    string
	IsAdmin bool
	IsBot   bool
}

// Channel is a conversation: a channel, a DM or a group DM.
type Channel struct {
	ID      string
	Name    string
	IsMPIM  bool
	IsIM    bool
	Members map[string]bool
}

// Message is a message the app posted.
type Message struct {
	Channel string
	TS      string
	User    string
	Text    string
	Blocks  json.RawMessage
}

// Ephemeral is a message only one user sees.
type Ephemeral struct {
	Channel, User, Text string
}

// Call is a Web API call the fake answered, for assertions.
type Call struct {
	Method string
	Args   map[string]string
	Token  string
	Error  string // the error code answered, or ""
}

// Response is what the app POSTed to an interaction's response_url.
type Response struct {
	Body map[string]any
}

// Grant is what oauth.v2.access answers for a code.
type Grant struct {
	// UserID authorised the install; UserToken is their user token.
	UserID, UserToken string
	TeamID, TeamName  string
	BotToken          string
	BotUserID         string
	Scope, UserScope  string
}

// Fake is a running fake Slack.
type Fake struct {
	// URL is the base URL; the Web API is at URL+"/api".
	URL string

	t   testing.TB
	srv *httptest.Server

	mu         sync.Mutex
	now        func() time.Time
	users      map[string]*User
	tokens     map[string]string // token → user id
	channels   map[string]*Channel
	messages   map[string]*Message // channel + "/" + ts
	ephemerals []Ephemeral
	responses  []Response
	calls      []Call
	fail       map[string][]string // method → error codes to answer next
	limit      map[string]int      // method → Retry-After seconds of the next answer
	grants     map[string]Grant    // OAuth code → grant
	authorizer string              // user who approves the next authorize
	nextTS     int64
	nextID     int
}

// New starts a fake Slack with the fixed workspace (the bot, Admin, Member,
// the channels General and Random) until the test ends.
func New(t testing.TB) *Fake {
	t.Helper()
	spec, missing, err := loadSpec()
	if err != nil {
		t.Fatalf("slackfake: %v", err)
	}
	if spec == nil {
		t.Log(missing)
	}
	f := &Fake{
		t:        t,
		now:      time.Now,
		users:    map[string]*User{},
		tokens:   map[string]string{BotToken: BotUserID, AdminToken: Admin, MemberToken: Member},
		channels: map[string]*Channel{},
		messages: map[string]*Message{},
		fail:     map[string][]string{},
		limit:    map[string]int{},
		grants:   map[string]Grant{},
		nextTS:   1700000000,
	}
	for _, u := range []*User{
		{ID: BotUserID, Name: "metagov", IsBot: true},
		{ID: Admin, Name: "ada", IsAdmin: true},
		{ID: Member, Name: "mo"},
		{ID: Outsider, Name: "oz"},
	} {
		f.users[u.ID] = u
	}
	f.channels[General] = &Channel{ID: General, Name: "general", Members: map[string]bool{BotUserID: true, Admin: true, Member: true, Outsider: true}}
	f.channels[Random] = &Channel{ID: Random, Name: "random", Members: map[string]bool{Admin: true, Member: true, Outsider: true}}
	mux := http.NewServeMux()
	mux.HandleFunc("/api/{method}", func(w http.ResponseWriter, r *http.Request) { f.serveAPI(w, r, spec) })
	mux.HandleFunc("GET /oauth/v2/authorize", f.serveAuthorize)
	mux.HandleFunc("POST /response/{n}", f.serveResponse)
	f.srv = httptest.NewServer(mux)
	f.URL = f.srv.URL
	t.Cleanup(f.srv.Close)
	return f
}

// APIURL is the Web API's base URL, for METAGOV_SLACK_API_URL.
func (f *Fake) APIURL() string { return f.URL + "/api" }

// SetClock replaces the clock that stamps signed requests.
func (f *Fake) SetClock(now func() time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = now
}

// FailNext makes the next call of method answer {"ok": false, "error": code}.
func (f *Fake) FailNext(method, code string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail[method] = append(f.fail[method], code)
}

// RateLimitNext makes the next call of method answer 429 with Retry-After.
func (f *Fake) RateLimitNext(method string, retryAfter int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.limit[method] = retryAfter
}

// Calls returns the Web API calls answered so far.
func (f *Fake) Calls() []Call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Call(nil), f.calls...)
}

// CallsOf returns the calls of one method.
func (f *Fake) CallsOf(method string) []Call {
	var out []Call
	for _, c := range f.Calls() {
		if c.Method == method {
			out = append(out, c)
		}
	}
	return out
}

// Message returns the message at channel and ts.
func (f *Fake) Message(channel, ts string) (Message, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	m, ok := f.messages[channel+"/"+ts]
	if !ok {
		return Message{}, false
	}
	return *m, true
}

// Ephemerals returns the ephemeral messages posted so far.
func (f *Fake) Ephemerals() []Ephemeral {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Ephemeral(nil), f.ephemerals...)
}

// Responses returns what was POSTed to response_urls so far.
func (f *Fake) Responses() []Response {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Response(nil), f.responses...)
}

// IsMember reports whether user is in channel.
func (f *Fake) IsMember(channel, user string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	ch, ok := f.channels[channel]
	return ok && ch.Members[user]
}

// Channel returns a conversation.
func (f *Fake) Channel(id string) (Channel, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ch, ok := f.channels[id]
	if !ok {
		return Channel{}, false
	}
	return *ch, true
}

// ts returns a new message timestamp.
func (f *Fake) ts() string {
	f.nextTS++
	return strconv.FormatInt(f.nextTS, 10) + ".000100"
}

// id returns a new id with prefix.
func (f *Fake) id(prefix string) string {
	f.nextID++
	return fmt.Sprintf("%s%08d", prefix, f.nextID)
}

// serveResponse records a POST to an interaction's response_url and, as
// Slack does, replaces the original message when asked.
func (f *Fake) serveResponse(w http.ResponseWriter, r *http.Request) {
	var body map[string]any
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		f.t.Errorf("slackfake: response_url POST with Content-Type %q, want application/json", r.Header.Get("Content-Type"))
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		f.t.Errorf("slackfake: response_url POST is not JSON: %v", err)
		http.Error(w, "invalid_payload", http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.responses = append(f.responses, Response{Body: body})
	n := r.PathValue("n")
	if replace, _ := body["replace_original"].(bool); replace {
		for _, m := range f.messages {
			if m.TS == n {
				raw, _ := json.Marshal(body["blocks"])
				m.Blocks = raw
			}
		}
	}
	w.Write([]byte("ok"))
}
