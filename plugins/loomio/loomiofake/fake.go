// Package loomiofake is a fake Loomio for tests, written from Loomio's
// source (see shared/reference/loomio-api.md): an httptest.Server with the
// bot API at /api/b2 (groups, memberships, discussions, polls, chatbots).
//
// It answers as Loomio does:
//   - the caller is the user whose API key is in "Authorization: Bearer", or
//     in the body's api_key; a key in the query string is ignored, so the
//     call is refused with 403 {"error": "You are not authorized to access
//     this page."}, as is a missing or unknown key;
//   - a record the user may not see is 403 {"error": "Not authorized to …"},
//     an unknown one 404 {"error": 404}, a parameter Loomio does not permit
//     400 {"error": 400}, invalid input 422 {"errors": {field: [messages]}};
//   - a create reads its attributes from the nested resource hash ({"poll":
//     {…}}) when there is one, else from the flat parameters of a form; a flat
//     JSON body is wrapped by Rails with the model's columns only, so it loses
//     group_id and options;
//   - a poll's closing_at is rounded down to the hour, every human member of
//     its group gets a stance unless specified_voters_only, and its results
//     (score, voter_scores, voter_ids, voter_count per option; option names
//     of proposals as i18n keys such as poll_proposal_options.agree) are
//     left out while hide_results is until_closed and it is open;
//   - /api/b1 is gone (404).
//
// Helpers add users and groups, cast votes, close polls, move the clock,
// make the API fail or stall, and send webhooks as Loomio's chatbots do:
// JSON with only rendered text (text, icon_url, username, and per format
// content, markdown or a MessageCard), unsigned.
//
// Like Loomio, the fake closes a poll whose closing time has passed (as its
// periodic job does) when the poll is next read; HoldOpen delays that.
package loomiofake

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/metagov/metagov-go/internal/platformfake"
)

// User is a Loomio user; APIKey is the key on its API access page.
type User struct {
	ID       int64
	Name     string
	Username string
	Email    string
	Bot      bool
	APIKey   string
}

// Group is a Loomio group with its members.
type Group struct {
	ID      int64
	Key     string
	Handle  string
	Name    string
	Members []Membership
}

// Membership makes a user a member, or an admin, of a group.
type Membership struct {
	UserID int64
	Admin  bool
}

// Chatbot is a webhook registered on a group.
type Chatbot struct {
	ID               int64
	GroupID          int64
	Name             string
	Kind             string
	WebhookKind      string
	Server           string
	EventKinds       []string
	NotificationOnly bool
}

// Request is a call the fake received, for assertions on encodings.
type Request struct {
	Method        string
	Path          string
	RawQuery      string
	Authorization string
	ContentType   string
	Body          []byte
}

// Server is a running fake Loomio.
type Server struct {
	// URL is the server_url to configure; the API is URL + "/api/b2/".
	URL string

	srv          *httptest.Server
	mu           sync.Mutex
	now          func() time.Time
	users        map[int64]*User
	groups       []*Group
	polls        map[string]*pollData // by key
	order        []string             // poll keys in creation order
	discussions  []*discussion
	chatbots     []*Chatbot
	nextID       int64
	holdOpen     bool
	allowPrivate bool
	requests     []Request

	// Faults gives the server Fail (every API call answers a status and a
	// body) and Stall (every API call hangs).
	platformfake.Faults
}

// New starts a fake Loomio with no users or groups; it stops when the test
// ends.
func New(t testing.TB) *Server {
	s := &Server{now: time.Now, users: map[int64]*User{}, polls: map[string]*pollData{}, nextID: 5000}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/b2/groups", s.api(s.listGroups))
	mux.HandleFunc("GET /api/b2/groups/{id}", s.api(s.showGroup))
	mux.HandleFunc("GET /api/b2/memberships", s.api(s.listMemberships))
	mux.HandleFunc("POST /api/b2/discussions", s.api(s.createDiscussion))
	mux.HandleFunc("GET /api/b2/discussions/{id}", s.api(s.showDiscussion))
	mux.HandleFunc("GET /api/b2/polls", s.api(s.listPolls))
	mux.HandleFunc("POST /api/b2/polls", s.api(s.createPoll))
	mux.HandleFunc("GET /api/b2/polls/{id}", s.api(s.showPoll))
	mux.HandleFunc("PATCH /api/b2/polls/{id}", s.api(s.updatePoll))
	mux.HandleFunc("DELETE /api/b2/polls/{id}", s.api(s.discardPoll))
	mux.HandleFunc("GET /api/b2/chatbots", s.api(s.listChatbots))
	mux.HandleFunc("POST /api/b2/chatbots", s.api(s.createChatbot))
	mux.HandleFunc("PATCH /api/b2/chatbots/{id}", s.api(s.updateChatbot))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.record(r, nil)
		http.NotFound(w, r) // /api/b1 and anything else Loomio does not route
	})
	s.srv = httptest.NewServer(mux)
	s.URL = s.srv.URL
	t.Cleanup(func() {
		s.Release()
		s.srv.Close()
	})
	return s
}

// AddUser adds a user; a user with an APIKey can call the API.
func (s *Server) AddUser(u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[u.ID] = &u
}

// AddGroup adds a group with its members, who must have been added.
func (s *Server) AddGroup(g Group) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.groups = append(s.groups, &g)
}

// SetHandle changes a group's handle, as a group admin can on Loomio (the
// group's id and key stay); "" removes it.
func (s *Server) SetHandle(groupID int64, handle string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, g := range s.groups {
		if g.ID == groupID {
			g.Handle = handle
		}
	}
}

// SetNow sets the fake's clock, which decides when polls lapse.
func (s *Server) SetNow(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = now
}

// HoldOpen keeps polls open after their closing time, as when Loomio's
// closing job has not run yet.
func (s *Server) HoldOpen(hold bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.holdOpen = hold
}

// AllowPrivateServers lets chatbots point at loopback and private
// addresses, which Loomio refuses.
func (s *Server) AllowPrivateServers(allow bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.allowPrivate = allow
}

// Requests returns the API calls received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Chatbots returns the chatbots registered so far.
func (s *Server) Chatbots() []Chatbot {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Chatbot, 0, len(s.chatbots))
	for _, b := range s.chatbots {
		out = append(out, *b)
	}
	return out
}

// PollURL is where a poll is shown, as Loomio links it.
func (s *Server) PollURL(key string) string { return s.URL + "/p/" + key }

// PollKeys returns the keys of the polls created so far, oldest first.
func (s *Server) PollKeys() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.order...)
}

// PollParams returns what a poll was created from: the attributes the
// controller read (the resource parameters) and the raw parameters.
func (s *Server) PollParams(key string) (resource, raw map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p, ok := s.polls[key]; ok {
		return p.resource, p.raw
	}
	return nil, nil
}

// PollVoters returns the ids of the users who hold a stance (may vote).
func (s *Server) PollVoters(key string) []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.polls[key]
	if !ok {
		return nil
	}
	out := []int64{}
	for _, st := range p.stances {
		out = append(out, st.userID)
	}
	return out
}

// Vote records userID's stance on a poll: a score of 1 for each option
// chosen (by the name the poll was created with), replacing any earlier
// stance. A user with no stance gets one if they are a member of the group
// and the poll is open to every member.
func (s *Server) Vote(key string, userID int64, options ...string) error {
	scores := map[string]int{}
	for _, o := range options {
		scores[o] = 1
	}
	return s.VoteScores(key, userID, scores)
}

// VoteScores records a stance that gives each named option a score, as
// score and dot-vote polls do.
func (s *Server) VoteScores(key string, userID int64, scores map[string]int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.polls[key]
	if !ok {
		return fmt.Errorf("no poll %s", key)
	}
	s.closeIfLapsed(p)
	if p.closedAt != nil {
		return fmt.Errorf("poll %s is closed", key)
	}
	st := p.stance(userID)
	if st == nil {
		if p.specifiedVotersOnly || !p.group.isMember(userID) {
			return fmt.Errorf("user %d may not vote on poll %s", userID, key)
		}
		st = &stance{userID: userID}
		p.stances = append(p.stances, st)
	}
	choices := map[int64]int{}
	for name, score := range scores {
		o := p.option(name)
		if o == nil {
			return fmt.Errorf("poll %s has no option %q", key, name)
		}
		choices[o.id] = score
	}
	st.choices = choices
	st.cast = true
	p.lastVoter = userID
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

// ClosingAt is the closing time Loomio kept for a poll.
func (s *Server) ClosingAt(key string) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p, ok := s.polls[key]; ok {
		return p.closingAt
	}
	return time.Time{}
}
