// Package sourcecredfake is a fake SourceCred instance for tests: an
// httptest.Server that publishes output/accounts.json under a base path, as
// GitHub Pages serves an instance repository, in the shape `sourcecred
// analysis` writes. It can also pretend the file was never generated (404),
// fail with any status, or stall until the caller gives up.
package sourcecredfake

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/metagov/metagov-go/internal/platformfake"
)

// BasePath is where the instance lives on the fake host, so that the plugin
// is tested with a server_url that has a path, like a GitHub Pages site.
const BasePath = "/sourcecred-instance"

// Account is one contributor as the fake publishes it.
type Account struct {
	Name      string
	Aliases   []string // node addresses; see DiscordAlias
	TotalCred float64
}

// DiscordAlias is the alias address SourceCred's Discord plugin gives a
// member: NUL-separated parts, the user id second to last.
func DiscordAlias(userID string) string {
	return "N\x00sourcecred\x00discord\x00MEMBER\x00user\x00" + userID + "\x00"
}

// Server is a running fake instance.
type Server struct {
	// URL is the instance's server_url (host and BasePath).
	URL string

	// Faults gives the server Fail (every request answers a status and a
	// body) and Stall (every request hangs).
	platformfake.Faults

	srv     *httptest.Server
	mu      sync.Mutex
	acc     []Account
	missing bool
	hits    int
}

// New starts a fake instance with no accounts; it stops when the test ends.
func New(t testing.TB) *Server {
	s := &Server{}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+BasePath+"/output/accounts.json", s.serveAccounts)
	s.srv = httptest.NewServer(mux)
	s.URL = s.srv.URL + BasePath
	t.Cleanup(func() {
		s.Release()
		s.srv.Close()
	})
	return s
}

// SetAccounts replaces the published accounts.
func (s *Server) SetAccounts(accounts ...Account) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.acc = append([]Account(nil), accounts...)
}

// SetMissing makes accounts.json answer 404, as an instance built without
// the analysis step does.
func (s *Server) SetMissing(missing bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.missing = missing
}

// Hits is how many requests for accounts.json arrived.
func (s *Server) Hits() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits
}

func (s *Server) serveAccounts(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.hits++
	missing := s.missing
	accounts := append([]Account(nil), s.acc...)
	s.mu.Unlock()
	if s.Inject(w, r, func(w http.ResponseWriter, status int, body string) { http.Error(w, body, status) }) {
		return
	}
	if missing {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(accountsDocument(accounts))
}

// accountsDocument renders accounts in the accounts.json layout: each
// account with its identity and ledger data, its cred per interval and its
// total cred.
func accountsDocument(accounts []Account) map[string]any {
	out := make([]map[string]any, 0, len(accounts))
	for i, a := range accounts {
		id := "identity-" + a.Name
		aliases := make([]map[string]any, 0, len(a.Aliases))
		for _, addr := range a.Aliases {
			aliases = append(aliases, map[string]any{"address": addr, "description": "alias of " + a.Name})
		}
		out = append(out, map[string]any{
			"account": map[string]any{
				"identity": map[string]any{
					"id":      id,
					"subtype": "USER",
					"name":    a.Name,
					"address": "N\x00sourcecred\x00core\x00IDENTITY\x00" + id + "\x00",
					"aliases": aliases,
				},
				"active":  true,
				"balance": "0",
				"paid":    "0",
			},
			"cred":          []float64{a.TotalCred / 2, a.TotalCred / 2},
			"grainReceived": "0",
			"totalCred":     a.TotalCred,
			"index":         i,
		})
	}
	return map[string]any{
		"accounts":         out,
		"unclaimedAliases": []any{},
		"intervals":        []map[string]any{{"startTimeMs": 0, "endTimeMs": 604800000}, {"startTimeMs": 604800000, "endTimeMs": 1209600000}},
	}
}
