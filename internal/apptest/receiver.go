package apptest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// Received is one request a Receiver got.
type Received struct {
	Path   string
	Header http.Header
	Body   []byte
}

// Receiver is a driver's endpoint for callbacks and events: it records what
// it receives and answers with the status its Respond function chooses.
type Receiver struct {
	URL string
	// Respond chooses the status of the n-th request (0-based); nil
	// answers 200.
	Respond func(n int) int
	// Headers, when set, adds headers to the n-th answer.
	Headers func(n int) http.Header
	// Delay, when set, is how long to wait before answering the n-th
	// request, to make the sender time out.
	Delay func(n int) time.Duration

	mu       sync.Mutex
	received []Received
	notify   chan struct{}
}

// NewReceiver starts a receiver that lives until the test ends.
func NewReceiver(t testing.TB) *Receiver {
	r := &Receiver{notify: make(chan struct{}, 1)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		n := len(r.received)
		r.received = append(r.received, Received{Path: req.URL.Path, Header: req.Header.Clone(), Body: body})
		respond, headers, delay := r.Respond, r.Headers, r.Delay
		r.mu.Unlock()
		if delay != nil {
			time.Sleep(delay(n))
		}
		select {
		case r.notify <- struct{}{}:
		default:
		}
		status := http.StatusOK
		if respond != nil {
			status = respond(n)
		}
		if headers != nil {
			for k, v := range headers(n) {
				w.Header()[k] = v
			}
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(srv.Close)
	r.URL = srv.URL
	return r
}

// All returns what was received so far.
func (r *Receiver) All() []Received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Received(nil), r.received...)
}

// WaitFor waits until at least n requests arrived, failing the test after
// timeout, and returns them all.
func (r *Receiver) WaitFor(t testing.TB, n int, timeout time.Duration) []Received {
	t.Helper()
	deadline := time.After(timeout)
	for {
		if all := r.All(); len(all) >= n {
			return all
		}
		select {
		case <-r.notify:
		case <-time.After(20 * time.Millisecond):
		case <-deadline:
			t.Fatalf("received %d requests within %s, want %d", len(r.All()), timeout, n)
		}
	}
}
