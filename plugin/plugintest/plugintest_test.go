package plugintest_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/plugin"
	"github.com/metagov/metagov-go/plugin/plugintest"
)

// recorder is a testing.TB that records the kit's findings instead of
// failing the test, so a test can check what the kit reports. Fatal ends
// the goroutine running Exercise, as testing.T's does.
type recorder struct {
	testing.TB
	mu       sync.Mutex
	findings []string
	fatal    bool
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.findings = append(r.findings, fmt.Sprintf(format, args...))
}

func (r *recorder) Error(args ...any) { r.Errorf("%s", fmt.Sprint(args...)) }

func (r *recorder) Fatalf(format string, args ...any) {
	r.Errorf(format, args...)
	r.mu.Lock()
	r.fatal = true
	r.mu.Unlock()
	runtime.Goexit()
}

func (r *recorder) Fatal(args ...any) { r.Fatalf("%s", fmt.Sprint(args...)) }
func (r *recorder) Fail()             { r.Errorf("Fail called") }
func (r *recorder) FailNow()          { r.Fatalf("FailNow called") }
func (r *recorder) Failed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.findings) > 0
}

// exercise runs the kit on s and returns its findings.
func exercise(t *testing.T, s plugintest.Suite) []string {
	t.Helper()
	rec := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		plugintest.Exercise(rec, s)
	}()
	<-done
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for _, f := range rec.findings {
		t.Log("finding:", f)
	}
	return rec.findings
}

// requireFinding checks that some finding contains every fragment.
func requireFinding(t *testing.T, findings []string, fragments ...string) {
	t.Helper()
	for _, f := range findings {
		all := true
		for _, frag := range fragments {
			all = all && strings.Contains(f, frag)
		}
		if all {
			return
		}
	}
	t.Errorf("no finding contains all of %q; findings:\n%s", fragments, strings.Join(findings, "\n"))
}

// The toy plugin: one action, one closable process, signed webhooks that
// make an event and are de-duplicated by id. Variants break one promise
// each.

const toySecret = "toy-secret"

var toyConfig = plugin.Schema(`{
	"type": "object",
	"properties": {
		"secret": {"type": "string", "writeOnly": true},
		"server_url": {"type": "string", "format": "uri", "x-metagov-destination": true}
	},
	"required": ["secret"]
}`)

type toyConfigValues struct {
	Secret    string `json:"secret"`
	ServerURL string `json:"server_url"`
}

type toy struct {
	secret   string
	verify   bool // VerifyWebhook checks the signature
	dedup    bool // ReceiveWebhook drops ids seen before
	badError bool // the action fails with a plain error
	// badDisable makes Disable fail, as on a platform that refuses.
	badDisable bool
}

// Disable undoes nothing, or fails for the badDisable variant.
func (x *toy) Disable(context.Context, *plugin.Call) error {
	if x.badDisable {
		return &plugin.PlatformError{Platform: "toy", Status: http.StatusForbidden, Message: "not yours to delete"}
	}
	return nil
}

func (x *toy) Provision(_ context.Context, env plugin.Env) error {
	var c toyConfigValues
	if err := env.DecodeConfig(&c); err != nil {
		return err
	}
	x.secret = c.Secret
	return nil
}

func sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}

func (x *toy) VerifyWebhook(_ context.Context, req *plugin.WebhookRequest) error {
	if !x.verify {
		return nil
	}
	got := req.Header.Get("X-Toy-Signature")
	if got == "" || !hmac.Equal([]byte(got), []byte(sign(x.secret, req.Body))) {
		return fmt.Errorf("bad toy signature: %w", plugin.ErrUnauthorized)
	}
	return nil
}

func (x *toy) ReceiveWebhook(ctx context.Context, c *plugin.Call, req *plugin.WebhookRequest) (*plugin.WebhookResponse, error) {
	id := req.Header.Get("X-Toy-Id")
	if x.dedup {
		var seen bool
		found, err := c.State().Get(ctx, "seen/"+id, &seen)
		if err != nil {
			return nil, err
		}
		if found {
			return nil, nil
		}
		if err := c.State().Set("seen/"+id, true); err != nil {
			return nil, err
		}
	}
	return nil, c.Emit(plugin.Event{Type: "poked", Data: map[string]any{"id": id}})
}

type addIn struct {
	A int64 `json:"a"`
	B int64 `json:"b"`
}

type addOut struct {
	Sum int64 `json:"sum"`
}

func (x *toy) add(_ context.Context, _ *plugin.Call, in addIn) (addOut, error) {
	if x.badError {
		return addOut{}, errors.New("a plain error")
	}
	if in.A < 0 {
		return addOut{}, &plugin.InputError{Field: "/a", Message: "a must not be negative"}
	}
	return addOut{Sum: in.A + in.B}, nil
}

var addInput = plugin.Schema(`{"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}}, "required": ["a", "b"]}`)
var addOutput = plugin.Schema(`{"type": "object", "properties": {"sum": {"type": "integer"}}, "required": ["sum"]}`)

type pollIn struct {
	Question string `json:"question"`
}

var pollInput = plugin.Schema(`{"type": "object", "properties": {"question": {"type": "string"}}, "required": ["question"]}`)
var pollOutcome = plugin.Schema(`{"type": "object", "properties": {"answer": {"type": "string"}}}`)

// poll is the toy process; completes says whether Close completes it.
type poll struct{ completes bool }

func (poll) Start(_ context.Context, _ *plugin.Call, p *plugin.Process) error {
	var in pollIn
	if err := p.DecodeInput(&in); err != nil {
		return err
	}
	p.SetStatus(plugin.StatusPending)
	return nil
}

func (h poll) Close(_ context.Context, _ *plugin.Call, p *plugin.Process) error {
	if !h.completes {
		return nil
	}
	if err := p.SetOutcome(map[string]string{"answer": "yes"}); err != nil {
		return err
	}
	p.Complete()
	return nil
}

// variant changes the toy plugin.
type variant struct {
	name       string
	config     plugin.Schema
	addInput   plugin.Schema
	addOutput  plugin.Schema
	inputType  reflect.Type
	configType reflect.Type
	noVerify   bool
	noDedup    bool
	badError   bool
	badClose   bool
	badDisable bool
	outputBind plugin.RunFunc
}

var registerOnce sync.Map

// toyPlugin registers the variant (once) and returns its name.
func toyPlugin(v variant) string {
	name := "toy-" + v.name
	if _, done := registerOnce.LoadOrStore(name, true); done {
		return name
	}
	info := plugin.Info{
		Name:   name,
		Config: toyConfig,
		New: func() plugin.Instance {
			return &toy{verify: !v.noVerify, dedup: !v.noDedup, badError: v.badError, badDisable: v.badDisable}
		},
		Actions: []plugin.Action{{
			Name: "add", Input: addInput, Output: addOutput, Run: plugin.Bind((*toy).add),
		}},
		Processes: []plugin.ProcessType{{
			Name: "poll", Input: pollInput, InputType: reflect.TypeFor[pollIn](), Outcome: pollOutcome,
			New: func(plugin.Instance) plugin.ProcessHandler { return poll{completes: !v.badClose} },
		}},
		Events: []plugin.EventType{{Type: "poked", Schema: plugin.Schema(`{"type": "object", "properties": {"id": {"type": "string"}}}`)}},
	}
	if v.config != nil {
		info.Config = v.config
	}
	if v.addInput != nil {
		info.Actions[0].Input = v.addInput
	}
	if v.addOutput != nil {
		info.Actions[0].Output = v.addOutput
	}
	if v.outputBind != nil {
		info.Actions[0].Run = v.outputBind
	}
	if v.inputType != nil {
		info.Processes[0].InputType = v.inputType
	}
	if v.config == nil {
		info.ConfigType = reflect.TypeFor[toyConfigValues]()
	}
	if v.configType != nil {
		info.ConfigType = v.configType
	}
	plugin.Register(info)
	return name
}

// toySuite is the suite of a toy variant.
func toySuite(name string) plugintest.Suite {
	n := 0
	var mu sync.Mutex
	return plugintest.Suite{
		Plugin: name,
		Config: map[string]any{"secret": toySecret, "server_url": "https://toy.example"},
		Actions: []plugintest.Call{
			{Action: "add", Params: map[string]any{"a": 1, "b": 2}},
			{Action: "add", Params: map[string]any{"a": -1, "b": 2}, WantStatus: http.StatusBadRequest, WantField: "/a"},
		},
		Processes: []plugintest.Start{{Process: "poll", Input: map[string]any{"question": "tea?"}}},
		Webhook: &plugintest.Webhook{
			Body: []byte(`{"poke": true}`),
			Sign: func(body []byte) http.Header {
				mu.Lock()
				n++
				id := fmt.Sprint(n)
				mu.Unlock()
				return http.Header{"X-Toy-Signature": {sign(toySecret, body)}, "X-Toy-Id": {id}}
			},
		},
	}
}

func TestConformingToyPasses(t *testing.T) {
	t.Parallel()
	require.Empty(t, exercise(t, toySuite(toyPlugin(variant{name: "good"}))))
}

func TestSchemaDriftIsFlagged(t *testing.T) {
	t.Parallel()
	name := toyPlugin(variant{
		name: "drift",
		// "b" renamed in the schema only, "a" a string there.
		addInput: plugin.Schema(`{"type": "object", "properties": {"a": {"type": "string"}, "bee": {"type": "integer"}}}`),
		// "sum" required, but the Go type writes "total", omitted when 0.
		outputBind: plugin.Bind(func(*toy, context.Context, *plugin.Call, addIn) (struct {
			Total int64 `json:"total,omitempty"`
		}, error) {
			return struct {
				Total int64 `json:"total,omitempty"`
			}{}, nil
		}),
		inputType: reflect.TypeFor[struct {
			Question int `json:"Question"`
		}](),
		configType: reflect.TypeFor[struct {
			Secret    []byte `json:"secret"`
			ServerURL string `json:"server"`
		}](),
	})
	s := toySuite(name)
	findings := exercise(t, s)
	requireFinding(t, findings, "action add input", "/a", "JSON string", "int64")
	requireFinding(t, findings, "action add input", `property "bee"`, "no field")
	requireFinding(t, findings, "action add input", "plugintest_test.addIn.B", "not in the schema")
	requireFinding(t, findings, "action add output", `property "sum"`, "never writes it")
	requireFinding(t, findings, "action add output", `"total"`, "does not document it")
	requireFinding(t, findings, "process poll input", `property "question"`, "no field")
	requireFinding(t, findings, "process poll input", `"Question"`, "not in the schema")
	requireFinding(t, findings, "config", `property "server_url"`, "no field")
	requireFinding(t, findings, "config", `"server"`, "not in the schema")
	// The fixture no longer matches the schema.
	requireFinding(t, findings, "action add answered 400, want 200")
}

func TestResultNotMatchingItsSchemaIsFlagged(t *testing.T) {
	t.Parallel()
	// The result {} lacks the required "sum": the gateway answers 500.
	name := toyPlugin(variant{name: "badoutput", outputBind: plugin.Bind(func(*toy, context.Context, *plugin.Call, addIn) (map[string]int, error) {
		return map[string]int{}, nil
	})})
	requireFinding(t, exercise(t, toySuite(name)), "action add answered 500")
}

func TestMissingInputTypeIsFlagged(t *testing.T) {
	t.Parallel()
	name := "toy-notype"
	if _, done := registerOnce.LoadOrStore(name, true); !done { // -count=N runs it again
		plugin.Register(plugin.Info{
			Name: name, New: func() plugin.Instance { return &toy{} },
			Actions: []plugin.Action{{
				Name: "raw", Input: addInput,
				Run: func(context.Context, plugin.Instance, *plugin.Call, json.RawMessage) (any, error) {
					return map[string]any{}, nil
				},
			}},
			Processes: []plugin.ProcessType{{Name: "poll", Input: pollInput, New: func(plugin.Instance) plugin.ProcessHandler { return poll{} }}},
		})
	}
	findings := exercise(t, plugintest.Suite{Plugin: name})
	requireFinding(t, findings, "action raw", "cannot tell the Go type")
	requireFinding(t, findings, "process poll", "set InputType")
}

func TestBrokenSchemaIsFlagged(t *testing.T) {
	t.Parallel()
	name := toyPlugin(variant{name: "uncompilable", addInput: plugin.Schema(`{"type": "object", "properties": {"a": {"type": "integr"}}}`)})
	requireFinding(t, exercise(t, toySuite(name)), "action add input", "does not compile")
}

func TestSecretsAndDestinationsAreFlagged(t *testing.T) {
	t.Parallel()
	name := toyPlugin(variant{name: "secrets", config: plugin.Schema(`{
		"type": "object",
		"properties": {
			"secret": {"type": "string", "writeOnly": true},
			"api_token": {"type": "string"},
			"token_limit": {"type": "integer"},
			"server_url": {"type": "string", "format": "uri"},
			"homepage": {"type": "string", "format": "uri", "x-metagov-destination": false}
		}
	}`)})
	s := toySuite(name)
	s.NotSecrets = []string{"/token_limit"}
	findings := exercise(t, s)
	requireFinding(t, findings, "/api_token", "named like a secret", "writeOnly")
	requireFinding(t, findings, "/server_url", plugin.DestinationKeyword)
	for _, f := range findings {
		require.NotContains(t, f, "/token_limit", "listed in NotSecrets")
		require.NotContains(t, f, "/homepage", "declared not a destination")
	}
}

func TestPlainErrorIsFlagged(t *testing.T) {
	t.Parallel()
	name := toyPlugin(variant{name: "plainerror", badError: true})
	findings := exercise(t, toySuite(name))
	requireFinding(t, findings, "action add answered 500", "SDK error type")
}

func TestCloseThatDoesNotCompleteIsFlagged(t *testing.T) {
	t.Parallel()
	name := toyPlugin(variant{name: "badclose", badClose: true})
	requireFinding(t, exercise(t, toySuite(name)), "process poll close")
}

func TestDisableThatFailsIsFlagged(t *testing.T) {
	t.Parallel()
	name := toyPlugin(variant{name: "baddisable", badDisable: true})
	requireFinding(t, exercise(t, toySuite(name)), "Disable did not complete", "not yours to delete")
}

func TestVerifierThatAcceptsAnythingIsFlagged(t *testing.T) {
	t.Parallel()
	name := toyPlugin(variant{name: "noverify", noVerify: true})
	findings := exercise(t, toySuite(name))
	requireFinding(t, findings, "webhook without a signature answered 200, want 401")
}

func TestReplayThatMakesAnEventIsFlagged(t *testing.T) {
	t.Parallel()
	name := toyPlugin(variant{name: "nodedup", noDedup: true})
	findings := exercise(t, toySuite(name))
	requireFinding(t, findings, "webhook replayed: 2 events after it, want 1")

	s := toySuite(name)
	s.Webhook.Replay = plugintest.ReplayRefused
	requireFinding(t, exercise(t, s), "webhook replayed answered 200, want 401")
}

func TestVerifierNeedsAWebhookFixture(t *testing.T) {
	t.Parallel()
	s := toySuite(toyPlugin(variant{name: "nofixture"}))
	s.Webhook = nil
	requireFinding(t, exercise(t, s), "give Suite.Webhook")
}

func TestWrongFixtureExpectationIsFlagged(t *testing.T) {
	t.Parallel()
	s := toySuite(toyPlugin(variant{name: "fixture"}))
	s.Actions[1].WantField = "/b"
	requireFinding(t, exercise(t, s), `with field "/a", want "/b"`)
}

func TestUnknownPluginIsFatal(t *testing.T) {
	t.Parallel()
	requireFinding(t, exercise(t, plugintest.Suite{Plugin: "no-such-plugin"}), "no plugin", "registered")
}

// routedToy receives platform-wide webhooks only: it has no verifier of
// its own, so its router must verify.
type routedToy struct{}

func (routedToy) ReceiveWebhook(ctx context.Context, c *plugin.Call, req *plugin.WebhookRequest) (*plugin.WebhookResponse, error) {
	return (&toy{dedup: true}).ReceiveWebhook(ctx, c, req)
}

// toyRouter routes every webhook to the account "acct", checking the
// signature when verify is set.
type toyRouter struct{ verify bool }

func (r toyRouter) RouteWebhook(_ context.Context, req *plugin.WebhookRequest) (plugin.Route, error) {
	if r.verify && !hmac.Equal([]byte(req.Header.Get("X-Toy-Signature")), []byte(sign(toySecret, req.Body))) {
		return plugin.Route{}, fmt.Errorf("bad toy signature: %w", plugin.ErrUnauthorized)
	}
	return plugin.Route{PlatformID: "acct"}, nil
}

// routedToyPlugin registers a plugin with a platform router.
func routedToyPlugin(name string, verify bool) string {
	if _, done := registerOnce.LoadOrStore(name, true); done {
		return name
	}
	plugin.Register(plugin.Info{
		Name:          name,
		Config:        plugin.Schema(`{"type": "object", "properties": {"account": {"type": "string"}}, "required": ["account"]}`),
		PlatformIDKey: "account",
		New:           func() plugin.Instance { return routedToy{} },
		Platform:      toyRouter{verify: verify},
	})
	return name
}

func routedSuite(name string) plugintest.Suite {
	s := toySuite(name)
	s.Config = map[string]any{"account": "acct"}
	s.Actions, s.Processes, s.PlatformWebhook, s.Webhook = nil, nil, s.Webhook, nil
	return s
}

func TestPlatformRouterIsChecked(t *testing.T) {
	t.Parallel()
	require.Empty(t, exercise(t, routedSuite(routedToyPlugin("toy-routed", true))))

	findings := exercise(t, routedSuite(routedToyPlugin("toy-routed-noverify", false)))
	requireFinding(t, findings, "platform webhook without a signature answered 200, want 401")

	s := routedSuite("toy-routed")
	s.PlatformWebhook = nil
	requireFinding(t, exercise(t, s), "give Suite.PlatformWebhook")
}
