// Package tscfake is a fake TSC server for tests: an httptest.Server that
// serves users, contracts, executions and agreements as JSON at
// /api/<kind>/<id>, as the original Metagov plugin read them (the server
// publishes no API description). An unknown id is a 404 with a JSON error;
// the server can also fail with any status or stall until the caller gives
// up.
package tscfake

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/metagov/metagov-go/internal/platformfake"
)

// Kinds are the object kinds the server publishes.
var Kinds = []string{"user", "contract", "execution", "agreement"}

// Server is a running fake server.
type Server struct {
	// URL is the server_url to configure.
	URL string

	srv     *httptest.Server
	mu      sync.Mutex
	objects map[string]map[string]any // kind → id → object
	paths   []string
	// Faults gives the server Fail (every request answers a status and a
	// body) and Stall (every request hangs until its client gives up).
	platformfake.Faults
}

// New starts a fake server with no objects; it stops when the test ends.
func New(t testing.TB) *Server {
	s := &Server{objects: map[string]map[string]any{}}
	mux := http.NewServeMux()
	for _, k := range Kinds {
		mux.HandleFunc("GET /api/"+k+"/{id}", func(w http.ResponseWriter, r *http.Request) { s.serve(w, r, k) })
	}
	s.srv = httptest.NewServer(mux)
	s.URL = s.srv.URL
	t.Cleanup(func() {
		s.Release()
		s.srv.Close()
	})
	return s
}

// Put publishes obj as kind/id.
func (s *Server) Put(kind, id string, obj any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.objects[kind] == nil {
		s.objects[kind] = map[string]any{}
	}
	s.objects[kind][id] = obj
}

// Paths lists the escaped paths requested, in order.
func (s *Server) Paths() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.paths...)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request, kind string) {
	s.mu.Lock()
	s.paths = append(s.paths, r.URL.EscapedPath())
	obj, found := s.objects[kind][r.PathValue("id")]
	s.mu.Unlock()
	if s.Inject(w, r, platformfake.Raw) {
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if !found {
		w.WriteHeader(http.StatusNotFound)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": kind + " not found"})
		return
	}
	_ = json.NewEncoder(w).Encode(obj)
}
