package platformfake_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/metagov/metagov-go/internal/platformfake"
)

// server answers "ok" unless a fault answers first.
func server(t *testing.T) (*platformfake.Faults, *httptest.Server) {
	t.Helper()
	f := &platformfake.Faults{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f.Inject(w, r, func(w http.ResponseWriter, status int, body string) { http.Error(w, body, status) }) {
			return
		}
		_, _ = w.Write([]byte("ok"))
	}))
	t.Cleanup(func() { f.Release(); srv.Close() })
	return f, srv
}

func get(ctx context.Context, t *testing.T, url string) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return http.DefaultClient.Do(req)
}

func TestFailAnswersInThePlatformsShapeUntilCleared(t *testing.T) {
	f, srv := server(t)
	f.Fail(http.StatusServiceUnavailable, "down for maintenance")
	res, err := get(context.Background(), t, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503", res.StatusCode)
	}
	f.Fail(0, "")
	res, err = get(context.Background(), t, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status %d after Fail(0), want 200", res.StatusCode)
	}
}

// A stalled request gets no answer of the fake's: once released, the
// handler returns without writing, so the client sees an empty body, never
// the fake's "ok". Stall(false) answers normally again.
func TestStallAnswersNothingUntilCleared(t *testing.T) {
	f, srv := server(t)
	f.Stall(true)
	f.Release() // a stall then ends at once, without an answer
	if body := read(t, srv.URL); body != "" {
		t.Fatalf("a stalled request was answered %q", body)
	}
	f.Release() // a second Release does nothing
	f.Stall(false)
	if body := read(t, srv.URL); body != "ok" {
		t.Fatalf("body %q after Stall(false), want ok", body)
	}
}

// read GETs url and returns its body.
func read(t *testing.T, url string) string {
	t.Helper()
	res, err := get(context.Background(), t, url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
