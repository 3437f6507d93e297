// Package discoursefake is a fake Discourse server for tests: the endpoints
// the discourse plugin calls, with Discourse's authentication (Api-Key and
// Api-Username headers), its error bodies ({"errors": [...], "error_type":
// ...}), posts, topics, users and polls kept in memory, and signed webhooks
// sent the way Discourse sends them.
//
// Every request to an endpoint that Discourse's OpenAPI description covers
// is validated against it (kin-openapi), and answered 400 if it does not
// fit; every answer of such an endpoint is checked against the documented
// response. Problems are reported as test errors when the test ends. The
// poll plugin's PUT /polls/toggle_status, and the recover endpoints, are not
// in the description; they follow Discourse's source. Where the description
// is absent (a clone without ../shared, see internal/platformdocs), the fake
// serves the same answers without validation and says so in the test log.
package discoursefake

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/metagov/metagov-go/internal/platformdocs"
	"github.com/metagov/metagov-go/internal/platformfake"
)

// Options configure a fake forum. Zero values get test defaults.
type Options struct {
	// Title is the forum's title in /about.json.
	Title string
	// APIKey is the one valid admin key.
	APIKey string
	// APIUsername is the user the key may act as.
	APIUsername string
	// WebhookSecret signs the webhooks the fake sends.
	WebhookSecret string
}

// Request is a request the fake received.
type Request struct {
	Method string
	Path   string
	Header http.Header
	Body   []byte
}

// Form decodes a form-encoded body.
func (r Request) Form() map[string][]string {
	req := &http.Request{Method: http.MethodPost, Header: r.Header, Body: io.NopCloser(bytes.NewReader(r.Body))}
	_ = req.ParseForm()
	return req.PostForm
}

// JSON decodes a JSON body into a generic object.
func (r Request) JSON() map[string]any {
	var m map[string]any
	_ = json.Unmarshal(r.Body, &m)
	return m
}

// Server is a running fake forum; URL is its base URL, which is also the
// X-Discourse-Instance of its webhooks.
type Server struct {
	URL  string
	opts Options
	t    testing.TB
	srv  *httptest.Server

	mu       sync.Mutex
	users    map[int64]*User
	topics   map[int64]*Topic
	posts    map[int64]*Post
	nextID   int64
	requests []Request
	problems []string

	// Faults gives the server Fail (every authorised request answers a
	// status with Discourse's error body carrying the message) and Stall.
	platformfake.Faults
}

// New starts a fake forum that lives until the test ends. It has the
// system user (id -1, an admin) and the API user if that is another name.
func New(t testing.TB, opts Options) *Server {
	t.Helper()
	if opts.Title == "" {
		opts.Title = "Metagov Test Forum"
	}
	if opts.APIKey == "" {
		opts.APIKey = "test-api-key"
	}
	if opts.APIUsername == "" {
		opts.APIUsername = "system"
	}
	if opts.WebhookSecret == "" {
		opts.WebhookSecret = "test-webhook-secret"
	}
	if doc, err := loadSpec(); err != nil {
		t.Fatal(err)
	} else if doc == nil {
		t.Log(platformdocs.Missing("discoursefake", specRel))
	}
	s := &Server{opts: opts, t: t, users: map[int64]*User{}, topics: map[int64]*Topic{}, posts: map[int64]*Post{}, nextID: 100}
	s.users[-1] = &User{ID: -1, Username: "system", Name: "system", Admin: true}
	if opts.APIUsername != "system" {
		s.AddUser(User{Username: opts.APIUsername, Name: opts.APIUsername, Admin: true})
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	t.Cleanup(func() {
		s.Release()
		s.srv.Close()
		for _, p := range s.Problems() {
			t.Errorf("discoursefake: %s", p)
		}
	})
	return s
}

// Validating reports whether the fake checks requests and its answers
// against Discourse's published description (see internal/platformdocs).
func (s *Server) Validating() bool {
	doc, _ := loadSpec()
	return doc != nil
}

// Options returns the fake's settings, for building the plugin config.
func (s *Server) Options() Options { return s.opts }

// AddUser adds a user and returns its id (assigned when u.ID is zero).
func (s *Server) AddUser(u User) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u.ID == 0 {
		s.nextID++
		u.ID = s.nextID
	}
	if u.Name == "" {
		u.Name = u.Username
	}
	s.users[u.ID] = &u
	return u.ID
}

// SetUserFields changes a user's custom fields, as the user would in their
// profile.
func (s *Server) SetUserFields(id int64, fields map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[id].UserFields = fields
}

// Post returns a copy of a post, with its poll.
func (s *Server) Post(id int64) (Post, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.posts[id]
	if !ok {
		return Post{}, false
	}
	cp := *p
	if p.Poll != nil {
		poll := *p.Poll
		cp.Poll = &poll
	}
	return cp, true
}

// Topic returns a copy of a topic.
func (s *Server) Topic(id int64) (Topic, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.topics[id]
	if !ok {
		return Topic{}, false
	}
	return *t, true
}

// CreateTopic creates a topic with its first post as username, as a person
// would in the browser, and returns the post.
func (s *Server) CreateTopic(username, title, raw string, categoryID *int64, tags ...string) Post {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.userByName(username)
	t := s.newTopic(u, title, categoryID, "regular", "")
	t.Tags = tags
	return *s.newPost(u, t, raw, false)
}

// CreatePost replies in a topic as username and returns the post.
func (s *Server) CreatePost(username string, topicID int64, raw string) Post {
	s.mu.Lock()
	defer s.mu.Unlock()
	return *s.newPost(s.userByName(username), s.topics[topicID], raw, false)
}

// Vote adds votes to an option of a post's poll, as voters would; option is
// its markdown source or its html.
func (s *Server) Vote(postID int64, option string, votes int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, o := range s.posts[postID].Poll.Options {
		if o.Source == option || o.HTML == option {
			o.Votes += votes
			return
		}
	}
	s.t.Errorf("discoursefake: post %d has no poll option %q", postID, option)
}

// ClosePoll closes a post's poll, as its author or the close time would.
func (s *Server) ClosePoll(postID int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.posts[postID].Poll.Status = "closed"
}

// Requests returns every request received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// LastRequest returns the last request with this method and path.
func (s *Server) LastRequest(method, path string) (Request, bool) {
	reqs := s.Requests()
	for i := len(reqs) - 1; i >= 0; i-- {
		if reqs[i].Method == method && reqs[i].Path == path {
			return reqs[i], true
		}
	}
	return Request{}, false
}

// Problems returns the requests that did not fit Discourse's description
// and the fake's own answers that did not.
func (s *Server) Problems() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.problems...)
}

func (s *Server) problem(format string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.problems = append(s.problems, format)
}

// userByName finds a user; the caller holds mu.
func (s *Server) userByName(name string) *User {
	for _, u := range s.users {
		if strings.EqualFold(u.Username, name) {
			return u
		}
	}
	s.t.Errorf("discoursefake: no user %q", name)
	return s.users[-1]
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func joinComma(v []string) string { return strings.Join(v, ",") }

// takeProblems returns the problems so far and forgets them, for the fake's
// own tests of invalid requests.
func (s *Server) takeProblems() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.problems
	s.problems = nil
	return p
}
