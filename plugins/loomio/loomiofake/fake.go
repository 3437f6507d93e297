// Package loomiofake is a fake Loomio for tests: an httptest.Server with the
// group API at /api/b1 (memberships, discussions, polls) as Loomio's API
// help documents it, checking the api_key of every call and answering as
// Loomio does (403 {"exception": "CanCan::AccessDenied …"} for a wrong key,
// 404 {"exception": "ActiveRecord::RecordNotFound …"}, 422 {"errors": …}
// for invalid input). Helpers add votes, close polls, move the clock, make
// the API fail or stall, and send Loomio-style webhooks to the gateway.
//
// Like Loomio, the fake closes a poll whose closing time has passed (as its
// periodic job does); HoldOpen delays that.
package loomiofake

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"
)

// Group is a Loomio group reachable with one API key.
type Group struct {
	ID      int64
	Key     string
	Handle  string
	Name    string
	Members []Member
}

// Member is a user of a group.
type Member struct {
	ID       int64
	Name     string
	Username string
}

// Request is a call the fake received, for assertions on encodings.
type Request struct {
	Method      string
	Path        string
	ContentType string
	Params      url.Values // query and body merged, as Rails does
}

// Server is a running fake Loomio.
type Server struct {
	// URL is the server_url to configure; the API is URL + "/api/b1/".
	URL string

	srv      *httptest.Server
	mu       sync.Mutex
	now      func() time.Time
	groups   map[string]*Group // by API key
	polls    map[string]*pollData
	order    []string // poll keys in creation order
	nextID   int64
	failCode int
	failBody string
	stall    bool
	holdOpen bool
	requests []Request
	release  chan struct{}
}

// New starts a fake Loomio with no groups; it stops when the test ends.
func New(t testing.TB) *Server {
	s := &Server{now: time.Now, groups: map[string]*Group{}, polls: map[string]*pollData{}, nextID: 1000, release: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/b1/memberships", s.api(s.memberships))
	mux.HandleFunc("POST /api/b1/discussions", s.api(s.createDiscussion))
	mux.HandleFunc("POST /api/b1/polls", s.api(s.createPoll))
	mux.HandleFunc("GET /api/b1/polls/{key}", s.api(s.showPoll))
	s.srv = httptest.NewServer(mux)
	s.URL = s.srv.URL
	t.Cleanup(func() {
		close(s.release)
		s.srv.Close()
	})
	return s
}

// AddGroup makes g reachable with apiKey.
func (s *Server) AddGroup(apiKey string, g Group) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.groups[apiKey] = &g
}

// SetNow sets the fake's clock, which decides when polls lapse.
func (s *Server) SetNow(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = now
}

// Fail makes every API call answer status with body; status 0 stops it.
func (s *Server) Fail(status int, body string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failCode, s.failBody = status, body
}

// Stall makes every API call hang until the caller gives up or the test
// ends; false answers normally again.
func (s *Server) Stall(stall bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stall = stall
}

// HoldOpen keeps polls open after their closing time, as when Loomio's
// closing job has not run yet.
func (s *Server) HoldOpen(hold bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.holdOpen = hold
}

// Requests returns the API calls received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// PollURL is where a poll is shown, as Loomio links it.
func (s *Server) PollURL(key string) string { return s.URL + "/p/" + key }

// PollKeys returns the keys of the polls created so far, oldest first.
func (s *Server) PollKeys() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.order...)
}

// PollForm returns the parameters a poll was created with.
func (s *Server) PollForm(key string) url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p, ok := s.polls[key]; ok {
		return p.params
	}
	return nil
}

// Vote records userID's stance on a poll: a score of 1 for each option
// chosen, replacing any earlier stance of theirs.
func (s *Server) Vote(key string, userID int64, options ...string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.polls[key]
	if !ok {
		return fmt.Errorf("no poll %s", key)
	}
	if p.closedAt != nil {
		return fmt.Errorf("poll %s is closed", key)
	}
	chosen := map[string]bool{}
	for _, name := range options {
		if p.option(name) == nil {
			return fmt.Errorf("poll %s has no option %q", key, name)
		}
		chosen[name] = true
	}
	voter := fmt.Sprint(userID)
	for _, o := range p.options {
		delete(o.scores, voter)
		if chosen[o.name] {
			o.scores[voter] = 1
		}
	}
	p.voters[voter] = true
	return nil
}

// ClosePoll closes a poll now, as its author would.
func (s *Server) ClosePoll(key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.polls[key]
	if !ok {
		return fmt.Errorf("no poll %s", key)
	}
	now := s.now().UTC()
	p.closedAt = &now
	return nil
}

// Closed reports whether a poll is closed.
func (s *Server) Closed(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.polls[key]
	return ok && p.closedAt != nil
}
