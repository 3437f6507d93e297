package httpapi_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/metagov/metagov-go/internal/app"
	"github.com/metagov/metagov-go/internal/apptest"
)

// fuzzServer starts a gateway with a community for fuzzing request bodies.
func fuzzServer(f *testing.F) http.Handler {
	f.Helper()
	s := apptest.Start(f, apptest.SQLite(f), app.Config{})
	r := s.Do("PUT", "/api/internal/community/"+community, map[string]any{"plugins": []map[string]any{
		{"name": "testkit", "config": map[string]any{"webhook_slug": "s3cr3tslug"}},
		{"name": "randomness", "config": map[string]any{"default_low": 1, "default_high": 10}},
	}})
	if r.Status != http.StatusCreated {
		f.Fatalf("creating community: %d %s", r.Status, r.Body)
	}
	return s.App.Handler()
}

// serve sends one request and fails on any 5xx: no body, however
// malformed, may make the gateway fail or panic.
func serve(t *testing.T, h http.Handler, method, path string, body []byte) {
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	req.Header.Set("X-Metagov-Community", community)
	req.RemoteAddr = "127.0.0.1:4000"
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code >= 500 {
		t.Fatalf("%s %s with %q answered %d: %s", method, path, body, rec.Code, rec.Body)
	}
}

func FuzzCommunityBody(f *testing.F) {
	h := fuzzServer(f)
	for _, seed := range []string{
		`{"readable_name": "x", "plugins": [{"name": "randomness", "config": {"default_low": 1, "default_high": 2}}]}`,
		`{"plugins": [{"name": "testkit", "config": {"token": "********"}}]}`,
		`{"plugins": [{"name": "nope"}]}`, `{"plugins": null}`, `{"plugins": [null]}`, `[]`, `null`, `{`, ``,
		`{"readable_name": 5}`, `{"plugins": [{"name": "randomness", "config": [1]}]}`,
		`{"plugins": [{"name": "randomness", "config": {"default_low": 1e3000000, "default_high": 2}}]}`,
		`{"readable_name": "\u0000"}`, `{"plugins": [], "pluginſ": null}`, `{"readable_name": "a", "readable_name": "b"}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		serve(t, h, "PUT", "/api/internal/community/fuzz", body)
		serve(t, h, "POST", "/api/internal/community", body)
	})
}

func FuzzActionBody(f *testing.F) {
	h := fuzzServer(f)
	for _, seed := range []string{
		`{"parameters": {"low": 1, "high": 5}}`, `{"parameters": {"low": "x"}}`, `{"parameters": null}`,
		`{"parameters": [1, 2]}`, `{"parameters": {"low": 1e400}}`, `{"parameters": {"low": -9223372036854775808, "high": 9223372036854775807}}`,
		`{"parameters": {"value": "\u0000"}}`, `{}`, `[`, `"x"`, ``,
		`{"options": ["a"], "delay": 60, "optionſ": []}`, `{"options": ["a"], "delay": 153722867280912}`,
		`{"parameters": {"low": 1e1000000}}`, `{"parameters": {"lucky_number": -0.0}}`, `{"parameters": {"low": 1, "loW": 2}}{}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		serve(t, h, "POST", "/api/internal/action/randomness.random-int", body)
		serve(t, h, "POST", "/api/internal/action/randomness.set-lucky-number", body)
		serve(t, h, "POST", "/api/internal/action/testkit.echo", body)
		serve(t, h, "POST", "/api/internal/process/randomness.delayed-stochastic-vote", body)
	})
}
