package httpfuzz_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/internal/app"
	"github.com/metagov/metagov-go/internal/apptest"
	"github.com/metagov/metagov-go/internal/core"
	_ "github.com/metagov/metagov-go/plugins/discourse"
	"github.com/metagov/metagov-go/plugins/discourse/discoursefake"
	_ "github.com/metagov/metagov-go/plugins/loomio"
	_ "github.com/metagov/metagov-go/plugins/mailgun"
	_ "github.com/metagov/metagov-go/plugins/opencollective"
	ocfake "github.com/metagov/metagov-go/plugins/opencollective/opencollectivefake"
	_ "github.com/metagov/metagov-go/plugins/randomness"
	_ "github.com/metagov/metagov-go/plugins/revshare"
	_ "github.com/metagov/metagov-go/plugins/slack"
	_ "github.com/metagov/metagov-go/plugins/sourcecred"
	"github.com/metagov/metagov-go/plugins/sourcecred/sourcecredfake"
	_ "github.com/metagov/metagov-go/plugins/tsc"
	_ "github.com/metagov/metagov-go/plugins/vote"
	_ "github.com/metagov/metagov-go/plugins/webhook"
	"github.com/metagov/metagov-go/test/httpfuzz"
)

// The run is short by default so that go test ./... stays fast; the long
// run is, for example:
//
//	go test ./test/httpfuzz -run TestHTTPFuzz -httpfuzz.n=20000 -httpfuzz.report=/tmp/fuzz.json -v
var (
	requests = flag.Int("httpfuzz.n", 300, "requests per database")
	seed     = flag.Uint64("httpfuzz.seed", 1, "seed of the mutations")
	workers  = flag.Int("httpfuzz.workers", 4, "concurrent clients")
	report   = flag.String("httpfuzz.report", "", "write the JSON report(s) to this file")
)

const (
	community     = "fuzz-community"
	discourseSlug = "fuzzdiscourse01"
	ocSlug        = "fuzzcollective01"
	hookSlug      = "fuzzhook01"
	hookSecret    = "fuzz-shared-secret"
	signatureHd   = "X-Hub-Signature-256"
)

// panicCounter counts the gateway's error logs: a handler that panicked is
// recovered into a 500 and logged, and so is every other 500.
type panicCounter struct {
	mu       sync.Mutex
	panics   int
	failures map[string]int // error text → count
}

func (p *panicCounter) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.panics
}

func (p *panicCounter) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelError }
func (p *panicCounter) WithAttrs([]slog.Attr) slog.Handler           { return p }
func (p *panicCounter) WithGroup(string) slog.Handler                { return p }
func (p *panicCounter) Handle(_ context.Context, r slog.Record) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if r.Message == "handler panicked" {
		p.panics++
	}
	var text strings.Builder
	text.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool {
		if a.Key != "stack" {
			fmt.Fprintf(&text, " %s=%v", a.Key, a.Value)
		}
		return true
	})
	s := text.String()
	if len(s) > 400 {
		s = s[:400]
	}
	p.failures[s]++
	return nil
}

// TestHTTPFuzz sends mutated requests to every route of the real gateway
// and requires that none is answered with 5xx and that no handler panics.
func TestHTTPFuzz(t *testing.T) {
	var reports = map[string]*httpfuzz.Report{}
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		logs := &panicCounter{failures: map[string]int{}}
		sc := sourcecredfake.New(t)
		sc.SetAccounts(sourcecredfake.Account{Name: "alice", TotalCred: 12.5})
		forum := discoursefake.New(t, discoursefake.Options{APIUsername: "metagov-bot"})
		forum.AddUser(discoursefake.User{Username: "alice", Name: "Alice"})
		p := platforms{sourcecred: sc.URL, forum: forum, oc: ocfake.New(t)}
		callbacks := apptest.NewReceiver(t)
		events := apptest.NewReceiver(t)
		s := apptest.Start(t, db, app.Config{Logger: slog.New(logs), EventReceiverURL: events.URL})
		ids := setUp(t, s, p, callbacks.URL)

		routes := gatewayRoutes(ids, p, callbacks.URL)
		requireEveryDocumentedRoute(t, s, routes)

		// Half the requests in protected mode (no API key exists), half
		// with keys: an admin key, a key limited to the community, none or
		// a wrong one.
		opts := httpfuzz.Options{
			BaseURL: s.URL, Routes: routes, N: *requests / 2, Seed: *seed, Workers: *workers,
			Refresh: func() { restore(s, p) }, RefreshEvery: 250,
			Expected: platformAnswer,
		}
		open := httpfuzz.Run(context.Background(), opts)
		admin, _, err := core.CreateAPIKey(context.Background(), s.App.Store(), "fuzz admin", nil)
		require.NoError(t, err)
		limited, _, err := core.CreateAPIKey(context.Background(), s.App.Store(), "fuzz limited", []string{community})
		require.NoError(t, err)
		opts.Refresh = func() { restore(s, p, "Authorization", "Bearer "+admin) }
		opts.Seed++
		opts.N = *requests - opts.N
		opts.Choose = map[string][]string{"Authorization": {"Bearer " + admin, "Bearer " + admin, "Bearer " + limited, "Bearer " + limited, "Bearer mgv_wrong", ""}}
		keyed := httpfuzz.Run(context.Background(), opts)

		for phase, rep := range map[string]*httpfuzz.Report{"protected mode": open, "with API keys": keyed} {
			t.Logf("%s, %s: %d requests in %s (%d mutations the client would not send)\n%s",
				db.Name, phase, rep.Total.Requests, rep.Duration.Round(1e6), rep.Unsendable, rep.Table())
			for _, f := range rep.Failures {
				t.Errorf("%s %s → %d %s\n  header: %v\n  body: %q\n  error: %s", f.Method, f.URL, f.Status, f.Response, f.Header, f.Body, f.Error)
			}
		}
		rep := merge(open, keyed)
		rep.Panics = logs.count()
		reports[db.Name] = rep
		t.Logf("%s, both phases: %d requests, %d 5xx (%d by design), %d without an answer, %d handler panics\n%s",
			db.Name, rep.Total.Requests, rep.Total.Status5xx, rep.Total.Expected5xx, rep.Total.NoAnswer, rep.Panics, rep.Table())
		logs.mu.Lock()
		defer logs.mu.Unlock()
		// Every error the gateway logged, for a person to read: errors in
		// background work (deliveries, timers) do not answer any request.
		for text, n := range logs.failures {
			if logs.panics > 0 || rep.Total.Status5xx > 0 {
				t.Errorf("gateway logged %d× %s", n, text)
			} else {
				t.Logf("gateway logged %d× %s", n, text)
			}
		}
		require.Zero(t, logs.panics, "handlers panicked")
		require.Zero(t, rep.Total.Status5xx, "5xx answers")
		require.Zero(t, rep.Total.NoAnswer, "requests without an answer")

		// The gateway still works afterwards.
		r := s.Do("GET", "/readyz", nil)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	})
	if *report != "" {
		raw, err := json.MarshalIndent(reports, "", "  ")
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(*report, raw, 0o644))
	}
}

// merge adds up two reports.
func merge(a, b *httpfuzz.Report) *httpfuzz.Report {
	out := &httpfuzz.Report{PerRoute: map[string]*httpfuzz.Stats{}, Duration: a.Duration + b.Duration,
		Unsendable: a.Unsendable + b.Unsendable, Failures: append(append([]httpfuzz.Failure(nil), a.Failures...), b.Failures...)}
	add := func(dst *httpfuzz.Stats, src *httpfuzz.Stats) {
		dst.Requests += src.Requests
		dst.Status5xx += src.Status5xx
		dst.Expected5xx += src.Expected5xx
		dst.NoAnswer += src.NoAnswer
		if dst.ByStatus == nil {
			dst.ByStatus = map[int]int{}
		}
		for k, v := range src.ByStatus {
			dst.ByStatus[k] += v
		}
	}
	for _, r := range []*httpfuzz.Report{a, b} {
		add(&out.Total, &r.Total)
		for k, st := range r.PerRoute {
			if out.PerRoute[k] == nil {
				out.PerRoute[k] = &httpfuzz.Stats{}
			}
			add(out.PerRoute[k], st)
		}
	}
	return out
}

// platformAnswer accepts the 502 and 504 the gateway answers when a
// plugin's platform cannot be reached: the egress policy refused the
// address (the fuzzer sends configs naming the cloud metadata address), or
// a mutated server_url names a host that does not resolve. They are the
// API's documented answers for a platform failure, counted apart.
func platformAnswer(status int, body []byte) bool {
	var e struct {
		Code string `json:"code"`
	}
	if json.Unmarshal(body, &e) != nil {
		return false
	}
	switch status {
	case http.StatusBadGateway:
		return e.Code == "egress_refused" || e.Code == "platform_error"
	case http.StatusGatewayTimeout:
		return e.Code == "platform_timeout"
	}
	return false
}

// platforms are the fakes the platform plugins are enabled against.
type platforms struct {
	sourcecred string // server_url of the SourceCred fake
	forum      *discoursefake.Server
	oc         *ocfake.Fake
}

// fixture is what the fuzzer's routes refer to.
type fixture struct {
	processes  []map[string]string // {"id": "<plugin>.<process>", "pid": "<id>"}
	pollID     string
	deliveries []string
	instances  []map[string]string // {"name": "<plugin>", "id": "<instance id>"}
}

func configs(p platforms) []map[string]any {
	o := p.forum.Options()
	return []map[string]any{
		{"name": "randomness", "config": map[string]any{"default_low": 1, "default_high": 10}},
		{"name": "vote", "config": map[string]any{}},
		{"name": "webhook", "config": map[string]any{"secret": hookSecret, "webhook_slug": hookSlug}},
		{"name": "sourcecred", "config": map[string]any{"server_url": p.sourcecred}},
		{"name": "discourse", "config": map[string]any{"server_url": p.forum.URL + "/", "api_key": o.APIKey,
			"api_username": o.APIUsername, "webhook_secret": o.WebhookSecret, "webhook_slug": discourseSlug}},
		{"name": "opencollective", "config": map[string]any{"collective_slug": ocfake.CollectiveSlug, "api_key": ocfake.PersonalToken,
			"webhook_slug": ocSlug, "server_url": p.oc.URL, "web_url": "https://oc.example"}},
	}
}

// restore puts the community back as setUp made it, after the fuzzer
// deleted or changed it; failures are the fuzzer's doing and ignored.
func restore(s *apptest.Server, p platforms, header ...string) {
	s.Do("PUT", "/api/internal/community/"+community, map[string]any{"readable_name": "Fuzz", "plugins": configs(p)}, header...)
}

func setUp(t *testing.T, s *apptest.Server, p platforms, callbackURL string) fixture {
	t.Helper()
	r := s.Do("PUT", "/api/internal/community/"+community, map[string]any{"readable_name": "Fuzz", "plugins": configs(p)})
	require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
	r = s.Do("PUT", "/api/internal/community/other", map[string]any{"readable_name": "Other"})
	require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
	h := []string{"X-Metagov-Community", community}
	var f fixture
	for range 3 {
		r = s.Do("POST", "/api/internal/process/randomness.delayed-stochastic-vote",
			map[string]any{"options": []string{"a", "b"}, "delay": 60, "callback_url": callbackURL}, h...)
		require.Equal(t, http.StatusAccepted, r.Status, string(r.Body))
		f.processes = append(f.processes, processRef(r.Header.Get("Location")))
		r = s.Do("POST", "/api/internal/process/vote.poll", map[string]any{"method": "single-choice", "options": []string{"a", "b"},
			"duration_minutes": 60, "callback_url": callbackURL}, h...)
		require.Equal(t, http.StatusAccepted, r.Status, string(r.Body))
		ref := processRef(r.Header.Get("Location"))
		f.processes = append(f.processes, ref)
		f.pollID = ref["pid"]
	}
	// Deliveries of both kinds: a closed process's callback and the events
	// of verified webhooks.
	r = s.Do("DELETE", "/api/internal/process/"+f.processes[0]["id"]+"/"+f.processes[0]["pid"], nil)
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	for i := range 3 {
		body := []byte(fmt.Sprintf(`{"type": "push", "n": %d}`, i))
		hdr := http.Header{}
		sign(hdr, body)
		r = s.Do("POST", "/api/hooks/"+community+"/webhook/"+hookSlug, string(body), signatureHd, hdr.Get(signatureHd))
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	}
	// Identities for the identity routes to link accounts to.
	r = s.Do("POST", "/api/internal/identity/create_id", map[string]any{"community_slug": community, "count": 3})
	require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
	r = s.Do("GET", "/api/internal/community/"+community, nil)
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	var c struct {
		Plugins []struct {
			ID   json.Number `json:"id"`
			Name string      `json:"name"`
		} `json:"plugins"`
	}
	require.NoError(t, json.Unmarshal(r.Body, &c))
	for _, p := range c.Plugins {
		f.instances = append(f.instances, map[string]string{"name": p.Name, "id": p.ID.String()})
	}
	r = s.Do("GET", "/api/internal/deliveries", nil)
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	var list struct {
		Deliveries []struct {
			ID json.Number `json:"id"`
		} `json:"deliveries"`
	}
	require.NoError(t, json.Unmarshal(r.Body, &list))
	for _, d := range list.Deliveries {
		f.deliveries = append(f.deliveries, d.ID.String())
	}
	return f
}

// processRef splits a process Location into the route's parameters.
func processRef(location string) map[string]string {
	ref := strings.TrimPrefix(location, "/api/internal/process/")
	i := strings.LastIndexByte(ref, '/')
	return map[string]string{"id": ref[:i], "pid": ref[i+1:]}
}

func sign(h http.Header, body []byte) {
	mac := hmac.New(sha256.New, []byte(hookSecret))
	mac.Write(body)
	h.Set(signatureHd, "sha256="+hex.EncodeToString(mac.Sum(nil)))
}

// gatewayRoutes is every route of internal/httpapi/routes.go with what a
// well-formed request to it looks like.
func gatewayRoutes(f fixture, p platforms, callbackURL string) []httpfuzz.Route {
	sourcecredURL := p.sourcecred
	h := http.Header{"X-Metagov-Community": {community}}
	slugs := []string{community, "other", "fuzz-scratch", "fuzz-scratch-2"}
	plugins := []string{"randomness", "vote", "webhook", "sourcecred", "loomio", "discourse", "opencollective"}
	cb := fmt.Sprintf("%q", callbackURL)
	configBodies := []string{
		`{"default_low": 1, "default_high": 10}`, `{}`, `{"secret": "` + hookSecret + `", "webhook_slug": "` + hookSlug + `"}`,
		`{"server_url": "` + sourcecredURL + `"}`, `{"server_url": "http://169.254.169.254/latest/meta-data/", "api_key": "x"}`,
		`{"default_low": 5, "default_high": 1}`,
	}
	communityBodies := []string{
		`{"readable_name": "Fuzz", "plugins": [{"name": "randomness", "config": {"default_low": 1, "default_high": 10}}, {"name": "vote", "config": {}}, {"name": "webhook", "config": {"secret": "` + hookSecret + `", "webhook_slug": "` + hookSlug + `"}}, {"name": "sourcecred", "config": {"server_url": "` + sourcecredURL + `"}}]}`,
		`{"readable_name": "Renamed"}`, `{"plugins": []}`, `{"slug": "fuzz-scratch", "readable_name": "x"}`,
		`{"name": "fuzz-scratch", "plugins": [{"name": "vote"}]}`,
	}
	poll := f.pollID
	actionRoutes := []struct {
		id     string
		bodies []string
	}{
		{"randomness.random-int", []string{`{"parameters": {"low": 1, "high": 5}}`, `{"parameters": {}}`, `{}`}},
		{"randomness.set-lucky-number", []string{`{"parameters": {"lucky_number": 7}}`}},
		{"vote.cast", []string{`{"parameters": {"process_id": ` + poll + `, "voter": "alice", "ballot": "a"}}`,
			`{"parameters": {"process_id": ` + poll + `, "voter": "bob", "ballot": "b"}}`}},
		{"vote.export", []string{`{"parameters": {"process_id": ` + poll + `}}`}},
		{"sourcecred.user-cred", []string{`{"parameters": {"username": "alice"}}`, `{"parameters": {"id": "123"}}`}},
		{"sourcecred.total-cred", []string{`{"parameters": {}}`}},
		{"loomio.list-members", []string{`{"parameters": {}}`}},
		{"discourse.create-topic", []string{`{"parameters": {"raw": "Hello there, a first post", "title": "A topic of some length", "category": 1}}`}},
		{"discourse.create-post", []string{`{"parameters": {"raw": "A reply of some length", "topic_id": 100}}`}},
		{"discourse.create-message", []string{`{"parameters": {"raw": "A private message", "target_usernames": ["alice"], "title": "A message title"}}`}},
		{"discourse.delete-post", []string{`{"parameters": {"id": 101}}`}},
		{"discourse.lock-post", []string{`{"parameters": {"id": 101, "locked": true}}`}},
		{"opencollective.list-members", []string{`{"parameters": {}}`}},
		{"opencollective.create-conversation", []string{`{"parameters": {"raw": "<p>Hi</p>", "title": "Budget", "tags": ["a"]}}`}},
		{"opencollective.create-comment", []string{`{"parameters": {"raw": "<p>Yes</p>", "expense_id": 1}}`}},
	}
	processStarts := []struct {
		id     string
		bodies []string
	}{
		{"randomness.delayed-stochastic-vote", []string{`{"options": ["a", "b"], "delay": 60, "callback_url": ` + cb + `}`, `{"options": ["a"], "delay": 0}`}},
		{"vote.poll", []string{
			`{"method": "single-choice", "options": ["a", "b"], "duration_minutes": 60, "callback_url": ` + cb + `}`,
			`{"method": "score", "options": ["a", "b"], "score_min": 0, "score_max": 5, "duration_minutes": 60}`,
			`{"method": "consent", "eligible": ["a", "b"], "close_early": true, "closing_at": "2030-01-01T00:00:00Z", "quorum": {"count": 1, "share": 0.5}, "threshold": {"share": 0.5, "strict": true}}`,
			`{"method": "quadratic", "options": ["a", "b"], "credits": 9, "duration_minutes": 5, "closing_soon_minutes": 1, "weights": {"a": 2}}`,
			`{"method": "weighted", "options": ["a", "b", "c"], "points": 10, "duration_minutes": 5, "tie_seed": "x", "anonymous": true}`,
			`{"method": "ranked-choice", "options": ["a", "b", "c"], "duration_minutes": 5, "min_open_minutes": 1}`,
			`{"method": "approval", "options": ["a", "b", "c"], "duration_minutes": 5, "eligible": ["a"], "allow_change": false}`,
			`{"method": "condorcet-schulze", "options": ["a", "b", "c"], "duration_minutes": 5}`,
		}},
		{"loomio.poll", []string{`{"title": "t", "options": ["a"], "closing_at": "2030-01-01T00:00:00Z"}`}},
		{"discourse.poll", []string{`{"title": "Lunch today?", "options": ["yes", "no"], "closing_at": "2030-01-01T00:00:00Z", "callback_url": ` + cb + `}`,
			`{"title": "How many?", "poll_type": "number", "min": 1, "max": 10, "step": 1, "topic_id": 100, "public": true, "results": "on_vote"}`}},
		{"opencollective.vote", []string{`{"title": "Buy a kettle?", "details": "For the office", "callback_url": ` + cb + `}`}},
	}
	accountBodies := []string{
		`{"external_id": 1, "community_slug": "` + community + `", "platform_type": "slack", "platform_identifier": "U1", "community_platform_id": "T1", "custom_data": {"a": 1}, "link_type": "oauth", "link_quality": "confirmed"}`,
		`{"external_id": 2, "community_slug": "` + community + `", "platform_type": "discourse", "platform_identifier": "alice"}`,
	}
	hookBodies := []string{`{"type": "push", "data": {"x": 1}}`, `{"action": "created", "post": {"id": 1}}`, `[]`, `"x"`}
	pages := []string{"after=0&limit=10", "limit=1", "after=1", "community=" + community, ""}
	routes := []httpfuzz.Route{
		{Method: "GET", Pattern: "/"},
		{Method: "GET", Pattern: "/openapi.json"},
		{Method: "GET", Pattern: "/swagger.json"},
		{Method: "GET", Pattern: "/swagger"},
		{Method: "GET", Pattern: "/swagger/{file}", Params: map[string][]string{"file": {"", "index.html", "swagger-ui.css"}}},
		{Method: "GET", Pattern: "/redoc"},
		{Method: "GET", Pattern: "/redoc/{file}", Params: map[string][]string{"file": {""}}},
		{Method: "POST", Pattern: "/api/internal/community", Bodies: communityBodies},
		{Method: "GET", Pattern: "/api/internal/community/{slug}", Params: map[string][]string{"slug": slugs}},
		{Method: "PUT", Pattern: "/api/internal/community/{slug}", Params: map[string][]string{"slug": slugs}, Bodies: communityBodies},
		{Method: "DELETE", Pattern: "/api/internal/community/{slug}", Params: map[string][]string{"slug": {"fuzz-scratch", "fuzz-scratch-2", "other"}}},
		{Method: "GET", Pattern: "/api/internal/community/{slug}/hooks", Params: map[string][]string{"slug": slugs}},
		{Method: "GET", Pattern: "/api/internal/plugin-schemas"},
		{Method: "GET", Pattern: "/api/internal/plugin/{name}/metadata", Params: map[string][]string{"name": plugins}},
		{Method: "POST", Pattern: "/api/internal/plugin/{name}", Params: map[string][]string{"name": plugins}, Header: h, Bodies: configBodies},
		{Method: "DELETE", Pattern: "/api/internal/plugin/{name}/{id}", Combos: f.instances, Header: h},
		{Method: "GET", Pattern: "/api/internal/process/{id}/{pid}", Combos: f.processes, Queries: []string{"include=ballots", ""}},
		{Method: "DELETE", Pattern: "/api/internal/process/{id}/{pid}", Combos: f.processes},
		{Method: "GET", Pattern: "/api/internal/deliveries", Queries: append(pages, "status=failed", "process=1", "kind=event")},
		{Method: "GET", Pattern: "/api/internal/deliveries/{id}", Params: map[string][]string{"id": f.deliveries}},
		{Method: "POST", Pattern: "/api/internal/deliveries/{id}/redeliver", Params: map[string][]string{"id": f.deliveries}},
		{Method: "GET", Pattern: "/api/internal/events", Queries: pages},
		{Method: "GET", Pattern: "/api/internal/audit", Queries: pages},
		// Identity (the original's /api/internal/identity API).
		{Method: "POST", Pattern: "/api/internal/identity/create_id",
			Bodies: []string{`{"community_slug": "` + community + `", "count": 2}`, `{"community_slug": "` + community + `"}`}},
		{Method: "POST", Pattern: "/api/internal/identity/merge_ids",
			Bodies: []string{`{"community_slug": "` + community + `", "primary_instance_id": 1, "secondary_instance_id": 2}`}},
		{Method: "POST", Pattern: "/api/internal/identity/link_account", Bodies: accountBodies},
		{Method: "POST", Pattern: "/api/internal/identity/unlink_account", Bodies: accountBodies},
		{Method: "GET", Pattern: "/api/internal/identity/get_user", Queries: []string{"external_id=1", "external_id=2", "external_id=x"}},
		{Method: "GET", Pattern: "/api/internal/identity/get_users", Queries: []string{
			"community=" + community, "community=" + community + "&platform_type=slack", "community=" + community + "&external_id=1&external_id=2"}},
		{Method: "GET", Pattern: "/api/internal/identity/filter_users_by_account", Queries: []string{
			"community=" + community + "&platform_type=slack&platform_identifier=U1", "community=" + community + "&external_id=1&platform_type=slack"}},
		{Method: "GET", Pattern: "/api/internal/identity/get_linked_account", Queries: []string{
			"external_id=1&platform_type=slack", "external_id=1&platform_type=slack&community_platform_id=T1"}},
		// OAuth installs: the platform is not reachable, but every answer
		// before it must still be a 4xx or a redirect.
		{Method: "GET", Pattern: "/auth/{plugin}/authorize", Params: map[string][]string{"plugin": {"slack", "randomness", "nope"}},
			Queries: []string{"type=app&community=" + community + "&redirect_uri=http://127.0.0.1:9/done&state=abc", "type=user&community=" + community}},
		{Method: "GET", Pattern: "/auth/{plugin}/callback", Params: map[string][]string{"plugin": {"slack", "randomness"}},
			Queries: []string{"code=abc&state=abc", "error=access_denied&state=abc", "state="}},
		{Method: "POST", Pattern: "/api/internal/oauth/token", Bodies: []string{`{"ref": "abc"}`, `{}`}},
		{Method: "GET", Pattern: "/healthz"},
		{Method: "GET", Pattern: "/readyz"},
		{Method: "GET", Pattern: "/metrics"},
		{Method: "POST", Pattern: "/api/hooks/{plugin}", Params: map[string][]string{"plugin": plugins}, Bodies: hookBodies},
		{Method: "POST", Pattern: "/api/hooks/{community}/{plugin}", Params: map[string][]string{"community": slugs, "plugin": plugins}, Bodies: hookBodies},
		{Method: "POST", Pattern: "/api/hooks/{community}/{plugin}/{webhook_slug}",
			Params: map[string][]string{"community": {community}, "plugin": {"webhook"}, "webhook_slug": {hookSlug}},
			Bodies: hookBodies, Sign: sign, Header: http.Header{"X-Github-Event": {"push"}}},
		{Method: "POST", Pattern: "/api/hooks/{community}/{plugin}/{webhook_slug}",
			Params: map[string][]string{"community": {community}, "plugin": {"discourse"}, "webhook_slug": {discourseSlug}},
			Bodies: []string{`{"post": {"id": 101, "topic_id": 100, "username": "alice", "raw": "hi", "post_number": 2}}`,
				`{"topic": {"id": 100, "title": "A topic", "user_id": 1}}`, `{"user": {"id": 5, "username": "bob"}}`},
			Header: http.Header{"X-Discourse-Event-Type": {"post"}, "X-Discourse-Event": {"post_created"}, "X-Discourse-Event-Id": {"7"},
				"X-Discourse-Instance": {p.forum.URL}},
			Sign: func(h http.Header, body []byte) {
				mac := hmac.New(sha256.New, []byte(p.forum.Options().WebhookSecret))
				mac.Write(body)
				h.Set("X-Discourse-Event-Signature", "sha256="+hex.EncodeToString(mac.Sum(nil)))
			}},
		{Method: "POST", Pattern: "/api/hooks/{community}/{plugin}/{webhook_slug}",
			Params: map[string][]string{"community": {community}, "plugin": {"opencollective"}, "webhook_slug": {ocSlug}},
			Bodies: []string{`{"type": "collective.expense.created", "CollectiveId": 1, "data": {"expense": {"id": 1}}}`}},
	}
	for _, a := range actionRoutes {
		routes = append(routes, httpfuzz.Route{Method: "POST", Pattern: "/api/internal/action/{id}", Params: map[string][]string{"id": {a.id}}, Header: h, Bodies: a.bodies})
		// The public route serves sourcecred's actions; one private action
		// checks that it stays private.
		if strings.HasPrefix(a.id, "sourcecred.") || a.id == "randomness.random-int" {
			routes = append(routes, httpfuzz.Route{Method: "POST", Pattern: "/api/action/{id}", Params: map[string][]string{"id": {a.id}}, Header: h, Bodies: a.bodies})
		}
	}
	for _, p := range processStarts {
		for range 2 { // processes are the deepest code: send them twice as often
			routes = append(routes, httpfuzz.Route{Method: "POST", Pattern: "/api/internal/process/{id}", Params: map[string][]string{"id": {p.id}}, Header: h, Bodies: p.bodies})
		}
	}
	return routes
}

// requireEveryDocumentedRoute checks the route table against the OpenAPI
// document, so a route added later is fuzzed too (or this fails).
func requireEveryDocumentedRoute(t *testing.T, s *apptest.Server, routes []httpfuzz.Route) {
	t.Helper()
	r := s.Do("GET", "/openapi.json", nil)
	require.Equal(t, http.StatusOK, r.Status)
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	require.NoError(t, json.Unmarshal(r.Body, &doc))
	have := map[string]bool{}
	for _, rt := range routes {
		have[rt.Method+" "+rt.Pattern] = true
	}
	var missing []string
	for path, ops := range doc.Paths {
		for method := range ops {
			m := strings.ToUpper(method)
			if m == "PARAMETERS" {
				continue
			}
			// The document names process and action ids one path per
			// plugin; the fuzzer has them as {id}.
			if !have[m+" "+genericPath(path)] {
				missing = append(missing, m+" "+path)
			}
		}
	}
	sort.Strings(missing)
	require.Empty(t, missing, "routes in the OpenAPI document that the fuzzer does not send")
}

// genericPath maps a documented path onto the fuzzer's patterns.
func genericPath(p string) string {
	switch p {
	case "/swagger/":
		return "/swagger/{file}"
	case "/redoc/":
		return "/redoc/{file}"
	}
	if rest, ok := strings.CutPrefix(p, "/api/internal/plugin/"); ok && !strings.Contains(rest, "/") {
		return "/api/internal/plugin/{name}"
	}
	for _, prefix := range []string{"/api/internal/action/", "/api/action/", "/api/internal/process/"} {
		if rest, ok := strings.CutPrefix(p, prefix); ok {
			parts := strings.Split(rest, "/")
			parts[0] = "{id}"
			if len(parts) > 1 {
				parts[1] = "{pid}"
			}
			return prefix + strings.Join(parts, "/")
		}
	}
	return p
}
