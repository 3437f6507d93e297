// Package twitterfake is a fake of the X API v2 for tests, built from X's
// API reference (https://docs.x.com/x-api): the endpoints the twitter
// plugin calls, with OAuth 1.0a user-context signatures checked (HMAC-SHA1
// over the method, URL and parameters, RFC 5849; nonces used once),
// answers in X's shapes ({"data": …}, "meta" with newest_id and next_token)
// and its errors as problem details:
//
//   - POST /2/tweets {"text"}: 201 {"data": {"id", "text",
//     "edit_history_tweet_ids"}}; the same text twice is 403 "You are not
//     allowed to create a Tweet with duplicate content.".
//   - POST /2/dm_conversations/with/{participant_id}/messages {"text"}:
//     201 {"data": {"dm_conversation_id", "dm_event_id"}}; an id that is
//     not a known user is 400 invalid-request; a user who takes no messages
//     403.
//   - GET /2/users/by/username/{username}: 200 {"data": {"id", "name",
//     "username"}}, or 200 {"errors": [resource-not-found]} for an unknown
//     user; an invalid username 400.
//   - GET /2/users/me, GET /2/users/{id}/tweets (since_id, max_results 5 to
//     100, pagination_token, tweet.fields; newest first).
//   - A bad signature is 401 {"title": "Unauthorized", …}. Every answer
//     carries x-rate-limit-limit, -remaining and -reset; over the limit is
//     429 {"title": "Too Many Requests", …}.
package twitterfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/metagov/metagov-go/internal/platformfake"
)

// Credentials are the app's and the account's OAuth 1.0a credentials.
type Credentials struct {
	ConsumerKey, ConsumerSecret, AccessToken, AccessTokenSecret string
}

// User is an account on the fake.
type User struct {
	ID, Name, Username string
	// NoDMs refuses direct messages.
	NoDMs bool
}

// Post is a post as the fake stores it.
type Post struct {
	ID, Text, AuthorID, CreatedAt string
}

// DM is a direct message sent through the fake.
type DM struct {
	To, Text string
}

// Server is a running fake X API.
type Server struct {
	// URL is the api_url to configure.
	URL string

	srv      *httptest.Server
	mu       sync.Mutex
	creds    Credentials
	me       User
	users    map[string]User // by username, lower case
	posts    []Post          // oldest first
	dms      []DM
	nonces   map[string]bool
	nextID   uint64
	now      func() time.Time
	limit    int // requests per window on the timeline; 0: unlimited
	used     int
	reset    time.Time
	requests map[string]int // by route pattern
	// Faults gives the server Fail (every request answers a status and a
	// body) and Stall (every request hangs until its client gives up).
	platformfake.Faults
}

// New starts a fake X API whose authenticated account is me; it stops when
// the test ends.
func New(t testing.TB, creds Credentials, me User) *Server {
	s := &Server{creds: creds, me: me, users: map[string]User{strings.ToLower(me.Username): me},
		nonces: map[string]bool{}, nextID: 1850000000000000000, now: time.Now,
		requests: map[string]int{}}
	mux := http.NewServeMux()
	handle := func(pattern string, h func(http.ResponseWriter, *http.Request)) {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) { s.serve(w, r, pattern, h) })
	}
	handle("POST /2/tweets", s.createTweet)
	handle("POST /2/dm_conversations/with/{participant_id}/messages", s.createDM)
	handle("GET /2/users/by/username/{username}", s.userByUsername)
	handle("GET /2/users/me", s.usersMe)
	handle("GET /2/users/{id}/tweets", s.timeline)
	s.srv = httptest.NewServer(mux)
	s.URL = s.srv.URL
	t.Cleanup(func() {
		s.Release()
		s.srv.Close()
	})
	return s
}

// AddUser adds an account.
func (s *Server) AddUser(u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[strings.ToLower(u.Username)] = u
}

// Publish adds posts by the authenticated account to its timeline, as if
// posted elsewhere, and returns them.
func (s *Server) Publish(texts ...string) []Post {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Post
	for _, text := range texts {
		out = append(out, s.addPost(text))
	}
	return out
}

func (s *Server) addPost(text string) Post {
	s.nextID += 7
	p := Post{ID: strconv.FormatUint(s.nextID, 10), Text: text, AuthorID: s.me.ID, CreatedAt: s.now().UTC().Format("2006-01-02T15:04:05.000Z")}
	s.posts = append(s.posts, p)
	return p
}

// Posts returns the timeline, oldest first.
func (s *Server) Posts() []Post {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Post(nil), s.posts...)
}

// DMs returns the direct messages sent.
func (s *Server) DMs() []DM {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]DM(nil), s.dms...)
}

// SetTimelineLimit allows limit timeline requests until reset (0: no
// limit), as X's 15-minute windows do.
func (s *Server) SetTimelineLimit(limit int, reset time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limit, s.used, s.reset = limit, 0, reset
}

// Requests counts the requests that reached a route pattern, such as
// "GET /2/users/{id}/tweets", signed or not.
func (s *Server) Requests(pattern string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[pattern]
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func problem(w http.ResponseWriter, status int, title, detail string) {
	writeJSON(w, status, map[string]any{"title": title, "detail": detail, "type": "about:blank", "status": status})
}

func invalidRequest(w http.ResponseWriter, param, value, msg string) {
	writeJSON(w, http.StatusBadRequest, map[string]any{
		"errors": []any{map[string]any{"parameters": map[string]any{param: []string{value}}, "message": msg}},
		"title":  "Invalid Request", "detail": "One or more parameters to your request was invalid.",
		"type": "https://api.twitter.com/2/problems/invalid-request"})
}

// serve runs the checks every endpoint shares, then h with s.mu held.
func (s *Server) serve(w http.ResponseWriter, r *http.Request, pattern string, h func(http.ResponseWriter, *http.Request)) {
	s.mu.Lock()
	s.requests[pattern]++
	s.mu.Unlock()
	if s.Inject(w, r, platformfake.Raw) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if why := s.verify(r, s.now()); why != "" {
		w.Header().Set("X-Fake-Reason", why)
		problem(w, http.StatusUnauthorized, "Unauthorized", "Unauthorized")
		return
	}
	if pattern == "GET /2/users/{id}/tweets" && s.limit > 0 {
		if s.now().After(s.reset) {
			s.used = 0
			s.reset = s.now().Add(15 * time.Minute)
		}
		w.Header().Set("x-rate-limit-limit", strconv.Itoa(s.limit))
		w.Header().Set("x-rate-limit-reset", strconv.FormatInt(s.reset.Unix(), 10))
		if s.used >= s.limit {
			w.Header().Set("x-rate-limit-remaining", "0")
			problem(w, http.StatusTooManyRequests, "Too Many Requests", "Too Many Requests")
			return
		}
		s.used++
		w.Header().Set("x-rate-limit-remaining", strconv.Itoa(s.limit-s.used))
	}
	h(w, r)
}

type textBody struct {
	Text *string `json:"text"`
}

func decodeText(w http.ResponseWriter, r *http.Request) (string, bool) {
	var b textBody
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") || json.NewDecoder(r.Body).Decode(&b) != nil || b.Text == nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{
			"errors": []any{map[string]any{"message": "Requests with bodies must have content-type of application/json."}},
			"title":  "Invalid Request", "detail": "One or more parameters to your request was invalid.",
			"type": "https://api.twitter.com/2/problems/invalid-request"})
		return "", false
	}
	return *b.Text, true
}

func (s *Server) createTweet(w http.ResponseWriter, r *http.Request) {
	text, ok := decodeText(w, r)
	if !ok {
		return
	}
	for _, p := range s.posts {
		if p.Text == text {
			problem(w, http.StatusForbidden, "Forbidden", "You are not allowed to create a Tweet with duplicate content.")
			return
		}
	}
	p := s.addPost(text)
	writeJSON(w, http.StatusCreated, map[string]any{"data": map[string]any{"id": p.ID, "text": p.Text, "edit_history_tweet_ids": []string{p.ID}}})
}

func (s *Server) createDM(w http.ResponseWriter, r *http.Request) {
	pid := r.PathValue("participant_id")
	var to *User
	for _, u := range s.users {
		if u.ID == pid {
			to = &u
		}
	}
	if to == nil {
		invalidRequest(w, "participant_id", pid, fmt.Sprintf("The `participant_id` query parameter value [%s] is not valid", pid))
		return
	}
	text, ok := decodeText(w, r)
	if !ok {
		return
	}
	if to.NoDMs {
		problem(w, http.StatusForbidden, "Forbidden", "You cannot send messages to this user.")
		return
	}
	s.dms = append(s.dms, DM{To: pid, Text: text})
	s.nextID += 3
	writeJSON(w, http.StatusCreated, map[string]any{"data": map[string]any{
		"dm_conversation_id": s.me.ID + "-" + pid, "dm_event_id": strconv.FormatUint(s.nextID, 10)}})
}

var usernamePattern = regexp.MustCompile(`^[A-Za-z0-9_]{1,15}$`)

func (s *Server) userByUsername(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("username")
	if !usernamePattern.MatchString(name) {
		invalidRequest(w, "username", name, fmt.Sprintf("The `username` query parameter value [%s] does not match ^[A-Za-z0-9_]{1,15}$", name))
		return
	}
	u, ok := s.users[strings.ToLower(name)]
	if !ok {
		writeJSON(w, http.StatusOK, map[string]any{"errors": []any{map[string]any{
			"value": name, "detail": fmt.Sprintf("Could not find user with username: [%s].", name), "title": "Not Found Error",
			"resource_type": "user", "parameter": "username", "resource_id": name,
			"type": "https://api.twitter.com/2/problems/resource-not-found"}}})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": map[string]any{"id": u.ID, "name": u.Name, "username": u.Username}})
}

func (s *Server) usersMe(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"data": map[string]any{"id": s.me.ID, "name": s.me.Name, "username": s.me.Username}})
}

// timeline serves the account's posts newer than since_id, newest first,
// max_results a page, the next page's token being the index to start at.
func (s *Server) timeline(w http.ResponseWriter, r *http.Request) {
	if r.PathValue("id") != s.me.ID {
		writeJSON(w, http.StatusOK, map[string]any{"meta": map[string]any{"result_count": 0}})
		return
	}
	q := r.URL.Query()
	max := 10
	if v := q.Get("max_results"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 5 || n > 100 {
			invalidRequest(w, "max_results", v, fmt.Sprintf("The `max_results` query parameter value [%s] is not between 5 and 100", v))
			return
		}
		max = n
	}
	since, _ := strconv.ParseUint(q.Get("since_id"), 10, 64)
	var newer []Post
	for i := len(s.posts) - 1; i >= 0; i-- {
		id, _ := strconv.ParseUint(s.posts[i].ID, 10, 64)
		if id > since {
			newer = append(newer, s.posts[i])
		}
	}
	sort.SliceStable(newer, func(i, j int) bool {
		return len(newer[i].ID) > len(newer[j].ID) || (len(newer[i].ID) == len(newer[j].ID) && newer[i].ID > newer[j].ID)
	})
	start := 0
	if tok := q.Get("pagination_token"); tok != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(tok, "page-"))
		if err != nil || n < 0 || n > len(newer) {
			invalidRequest(w, "pagination_token", tok, "The `pagination_token` query parameter value is not valid")
			return
		}
		start = n
	}
	end := min(start+max, len(newer))
	page := newer[start:end]
	meta := map[string]any{"result_count": len(page)}
	if len(page) == 0 {
		writeJSON(w, http.StatusOK, map[string]any{"meta": meta})
		return
	}
	meta["newest_id"], meta["oldest_id"] = page[0].ID, page[len(page)-1].ID
	if end < len(newer) {
		meta["next_token"] = "page-" + strconv.Itoa(end)
	}
	data := make([]map[string]any, len(page))
	for i, p := range page {
		data[i] = map[string]any{"id": p.ID, "text": p.Text, "edit_history_tweet_ids": []string{p.ID}}
		if strings.Contains(q.Get("tweet.fields"), "author_id") {
			data[i]["author_id"] = p.AuthorID
		}
		if strings.Contains(q.Get("tweet.fields"), "created_at") {
			data[i]["created_at"] = p.CreatedAt
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": data, "meta": meta})
}
