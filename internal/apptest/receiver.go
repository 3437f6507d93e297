package apptest

import (
	"encoding/json"
	"fmt"
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
// timeout, and returns them all. Counting suits events, each delivered
// once; a process's callbacks are coalesced (a queued one is replaced by a
// newer record), so a test that made several changes waits for the record
// it needs with WaitUntil instead.
func (r *Receiver) WaitFor(t testing.TB, n int, timeout time.Duration) []Received {
	t.Helper()
	return r.waitUntil(t, timeout, func(all []Received) bool { return len(all) >= n },
		func(got int) string { return fmt.Sprintf("received %d requests within %s, want %d", got, timeout, n) })
}

// WaitUntil waits until cond holds for what was received so far, failing
// the test after timeout, and returns it all. cond runs on the caller's
// goroutine, each time something arrives (and every 20 ms).
func (r *Receiver) WaitUntil(t testing.TB, timeout time.Duration, cond func([]Received) bool) []Received {
	t.Helper()
	return r.waitUntil(t, timeout, cond,
		func(got int) string {
			return fmt.Sprintf("received %d requests within %s, none as awaited", got, timeout)
		})
}

func (r *Receiver) waitUntil(t testing.TB, timeout time.Duration, cond func([]Received) bool, failure func(got int) string) []Received {
	t.Helper()
	deadline := time.After(timeout)
	for {
		if all := r.All(); cond(all) {
			return all
		}
		select {
		case <-r.notify:
		case <-time.After(20 * time.Millisecond):
		case <-deadline:
			t.Fatal(failure(len(r.All())))
		}
	}
}

// LatestByPath decodes the JSON bodies received and returns the one with
// the highest "sequence" for each path (a process's callbacks carry their
// record's sequence). A body that is not a JSON object is skipped.
func LatestByPath(got []Received) map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, g := range got {
		var body map[string]any
		if json.Unmarshal(g.Body, &body) != nil {
			continue
		}
		seq, _ := body["sequence"].(float64)
		if prev, ok := out[g.Path]; ok {
			if p, _ := prev["sequence"].(float64); p > seq {
				continue
			}
		}
		out[g.Path] = body
	}
	return out
}
