// Package plugintest is the conformance kit for Metagov plugins: one call,
// [Exercise], that a plugin's test makes to check everything the SDK
// promises, statically and through a real gateway. Modelled on River's
// riverdrivertest.Exercise, it lets a new plugin be born conformant:
//
//	func TestConformance(t *testing.T) {
//		plugintest.Exercise(t, plugintest.Suite{
//			Plugin: "randomness",
//			Config: map[string]any{"default_low": 1, "default_high": 7},
//			Actions: []plugintest.Call{
//				{Action: "random-int", Params: map[string]any{"low": 1, "high": 3}},
//				{Action: "random-int", Params: map[string]any{"low": 3, "high": 3}, WantStatus: 400, WantField: "/high"},
//			},
//			Processes: []plugintest.Start{{Process: "delayed-stochastic-vote", Input: map[string]any{"options": []string{"a"}, "delay": 60}}},
//		})
//	}
//
// What it checks:
//
//   - Every schema (config, action input and output, process input and
//     outcome, event data) compiles as the gateway compiles it.
//   - Every action's and process's input schema agrees with the Go type its
//     parameters are decoded into: each property has a field of the same
//     JSON name (case-sensitive, as [plugin.Unmarshal] matches), each field
//     has a property, and every JSON type the schema allows can be decoded
//     into the field. The type of an action made with [plugin.Bind] is known
//     (Bind records it); a RunProcess action and a process type declare
//     theirs in InputType; the config schema is compared with
//     Info.ConfigType when it is set. An action's output type is checked the other way
//     round: every field is a property, every property a field, the JSON the
//     field writes is allowed, and a required property is never omitempty.
//   - Config properties named like secrets (key, token, secret, password,
//     passphrase, credential) are "writeOnly" (Suite.NotSecrets lists
//     those that are not), and in a config with secrets every URL-like
//     property (format uri, or a name ending in url, uri or host) says
//     whether it is a destination ([plugin.DestinationKeyword], true or
//     false).
//   - Through the gateway's HTTP API, on a fresh SQLite database: the config
//     enables the plugin; every fixture call answers its expected status (a
//     result that does not match its output schema is a 500), every error is
//     the gateway's JSON error, and an expected 4xx names WantField; every
//     action and process with declared properties answers a parameter of the
//     wrong JSON type with 400 naming it, not 500; every fixture process is
//     pending or completed once started, its outcome matches its schema, and
//     DELETE completes it if its handler implements [plugin.ProcessCloser]
//     (405 otherwise). Last, DELETE on the instance (with force) succeeds,
//     and a [plugin.Disabler]'s Disable completes: a failure or a timeout,
//     which the gateway would report as a warning, is a finding.
//   - A plugin that verifies webhooks ([plugin.WebhookVerifier]) must come
//     with Suite.Webhook: an unsigned request and one whose body was changed
//     after signing are 401 and make no event; a signed one is accepted and
//     makes an event matching its declared schema; the same request again is
//     refused or dropped without a second event, as Webhook.Replay says. A
//     plugin with a platform router (Info.Platform) must come with
//     Suite.PlatformWebhook, checked the same way at /api/hooks/<plugin>.
//
// Every finding is reported with t.Errorf, so one run lists them all.
//
// For unit tests of a plugin's own code, outside the gateway, [NewCall]
// ([NewCallOver] over a map of state) and [NewProcess] build the
// *plugin.Call and *plugin.Process the gateway would hand an invocation,
// and [Changes] and [ProcessChangesOf] read back what the invocation
// changed (package plugin exports none of this: only the gateway needs it).
//
// The kit runs the real gateway (internal/apptest). Go lets a package
// import the internal packages of its own module, and lets code outside the
// module import a public package that does, so plugins in other modules
// can use the kit as well. The gateway runs on SQLite only: the kit checks
// plugins, and the gateway's own suites run every API on PostgreSQL too.
package plugintest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/metagov/metagov-go/internal/pluginrt"
	"github.com/metagov/metagov-go/plugin"
)

// Suite is what a plugin's test gives the kit.
type Suite struct {
	// Plugin is the registered plugin's name.
	Plugin string
	// Config enables the plugin: any value encoding to its config object.
	// Nil enables it with an empty config.
	Config any
	// Actions are example calls, run in order on one instance.
	Actions []Call
	// Processes are example process starts, run in order after Actions.
	Processes []Start
	// Webhook signs requests as the platform does. Required when the
	// plugin verifies webhooks (its instance is a WebhookVerifier); sent
	// to the instance's path, /api/hooks/<community>/<plugin>[/<slug>].
	Webhook *Webhook
	// PlatformWebhook is the same for platform-wide webhooks, sent to
	// /api/hooks/<plugin>. Required when the plugin has an Info.Platform
	// router; its Body must name the configured account and, where the
	// plugin drops replays by an id in the body, be another delivery than
	// Webhook's.
	PlatformWebhook *Webhook
	// NotSecrets are config properties, as JSON pointers ("/token_limit"),
	// that are named like secrets but are not, so need not be writeOnly.
	NotSecrets []string
	// PlatformTimeout bounds the plugin's platform calls. Default: 5 s.
	PlatformTimeout time.Duration
}

// Call is one example action call.
type Call struct {
	Action string
	// Params is the "parameters" object: any value encoding to it.
	Params any
	// WantStatus is the expected HTTP status; 0 means 200.
	WantStatus int
	// WantField is the JSON pointer an error answer must name in "field".
	WantField string
	// ProcessID, set to the index+1 of a Start in Suite.Processes, fills
	// Params' "process_id" with that process's id (for RunProcess actions);
	// such calls run after the processes start.
	ProcessID int
}

// Start is one example process start.
type Start struct {
	Process string
	// Input is the start body (without callback_url).
	Input any
	// WantStatus is the expected HTTP status; 0 means 202.
	WantStatus int
	// WantField is the JSON pointer an error answer must name in "field".
	WantField string
	// KeepOpen leaves the process running (for calls that need it): the
	// kit then does not close it.
	KeepOpen bool
}

// Replay is what a plugin does with a webhook it has verified before.
type Replay int

const (
	// ReplayDropped means the replay is answered 2xx and makes no event.
	ReplayDropped Replay = iota
	// ReplayRefused means the replay is refused (401).
	ReplayRefused
)

// Webhook describes a webhook the platform sends.
type Webhook struct {
	// Body is a delivery that makes at least one event.
	Body []byte
	// Header holds the unsigned headers the platform sends with it (such
	// as the event name); Sign's headers are added to them.
	Header http.Header
	// Sign returns the headers that sign body, as the platform computes
	// them with the secret in Suite.Config. It is called once per request
	// the kit signs; a replay resends the same headers.
	Sign func(body []byte) http.Header
	// Replay is what the plugin does with the same signed request twice.
	Replay Replay
}

// Exercise runs the conformance checks on a plugin. It reports findings
// with t.Errorf and stops with t.Fatalf only when it cannot go on (an
// unknown plugin, a gateway that does not start).
func Exercise(t testing.TB, s Suite) {
	t.Helper()
	info, ok := pluginrt.Lookup(s.Plugin)
	if !ok {
		t.Fatalf("plugintest: no plugin %q is registered (import its package)", s.Plugin)
		return
	}
	staticOK := checkStatic(t, info, s)
	if !staticOK {
		// A schema that does not compile stops the gateway from starting.
		return
	}
	exerciseGateway(t, info, s)
	for _, a := range info.Actions {
		covered := false
		for _, c := range s.Actions {
			covered = covered || (c.Action == a.Name && c.WantStatus == 0)
		}
		if !covered && a.Output != nil {
			t.Logf("plugintest: %s: action %s has no fixture that succeeds, so its results were not checked against its output schema", info.Name, a.Name)
		}
	}
}

// checkStatic runs the checks that need no gateway, and reports false when
// a schema does not compile.
func checkStatic(t testing.TB, info plugin.Info, s Suite) bool {
	t.Helper()
	ok := true
	compile := func(what string, raw json.RawMessage) any {
		t.Helper()
		_, doc, err := compileSchema(info.Name+"."+what, raw)
		if err != nil {
			t.Errorf("plugintest: %s: the schema of %s %v", info.Name, what, err)
			ok = false
			return nil
		}
		return doc
	}
	report := func(what string, problems []string) {
		t.Helper()
		for _, p := range problems {
			t.Errorf("plugintest: %s: %s: %s", info.Name, what, p)
		}
	}

	configDoc := compile("config", info.Config)
	if configDoc != nil {
		report("config", checkSecrets(configDoc, s.NotSecrets))
		if info.ConfigType != nil {
			report("config", compareSchemaType(configDoc, info.ConfigType, decoding))
		}
	}
	for _, a := range info.Actions {
		what := "action " + a.Name
		inDoc := compile(what+" input", a.Input)
		outDoc := compile(what+" output", a.Output)
		in, out, bound := pluginrt.BoundTypes(a.Run)
		if a.InputType != nil {
			in = a.InputType
		}
		var ignore []string
		if a.RunProcess != nil {
			ignore = []string{"process_id"} // the gateway reads it
		}
		switch {
		case inDoc == nil:
		case in == nil:
			t.Errorf("plugintest: %s: %s: the kit cannot tell the Go type of its parameters: make Run with plugin.Bind or set InputType", info.Name, what)
		default:
			report(what+" input", compareSchemaType(inDoc, in, decoding, ignore...))
		}
		if bound && outDoc != nil {
			report(what+" output", compareSchemaType(outDoc, out, encoding_))
		}
	}
	for _, p := range info.Processes {
		what := "process " + p.Name
		inDoc := compile(what+" input", p.Input)
		compile(what+" outcome", p.Outcome)
		switch {
		case inDoc == nil:
		case p.InputType == nil:
			t.Errorf("plugintest: %s: %s: set InputType to the Go type Start decodes the input into, so the kit can compare it with the schema", info.Name, what)
		default:
			report(what+" input", compareSchemaType(inDoc, p.InputType, decoding))
		}
	}
	for _, e := range info.Events {
		compile("event "+e.Type, e.Schema)
	}
	return ok
}

// secretWords name a secret in a property name; describing words say the
// property is about a secret but is not one (a token_url, a key_id).
var (
	secretWords     = map[string]bool{"key": true, "apikey": true, "token": true, "secret": true, "password": true, "passphrase": true, "credential": true, "credentials": true, "passwd": true}
	describingWords = map[string]bool{"url": true, "uri": true, "endpoint": true, "host": true, "header": true, "field": true, "id": true, "name": true, "username": true, "type": true, "slug": true, "prefix": true, "expiry": true, "expires": true}
)

// words splits a property name at '_', '-', '.' and lower-to-upper case
// changes, lowercased.
func words(name string) []string {
	var out []string
	var cur []rune
	prevLower := false
	flush := func() {
		if len(cur) > 0 {
			out = append(out, strings.ToLower(string(cur)))
			cur = cur[:0]
		}
	}
	for _, r := range name {
		switch {
		case r == '_' || r == '-' || r == '.' || r == ' ':
			flush()
			prevLower = false
			continue
		case r >= 'A' && r <= 'Z' && prevLower:
			flush()
		}
		cur = append(cur, r)
		prevLower = r >= 'a' && r <= 'z'
	}
	flush()
	return out
}

// secretLike reports whether a property name names a secret.
func secretLike(name string) bool {
	ws := words(name)
	secret := false
	for _, w := range ws {
		if describingWords[w] {
			return false
		}
		if secretWords[w] {
			secret = true
		}
	}
	return secret
}

// urlLike reports whether a property holds an address.
func urlLike(name string, s map[string]any) bool {
	lower := strings.ToLower(name)
	format, _ := s["format"].(string)
	return strings.HasSuffix(lower, "url") || strings.HasSuffix(lower, "uri") || strings.HasSuffix(lower, "host") ||
		strings.HasPrefix(format, "uri") || strings.HasPrefix(format, "iri") || format == "hostname"
}

// checkSecrets checks the config schema's secrets and destinations.
func checkSecrets(doc any, notSecrets []string) []string {
	var problems []string
	exempt := map[string]bool{}
	for _, p := range notSecrets {
		exempt[p] = true
	}
	hasSecret := false
	var urlish []string
	var walk func(node any, path, name string)
	walk = func(node any, path, name string) {
		m, _ := node.(map[string]any)
		if m == nil {
			return
		}
		writeOnly, _ := m["writeOnly"].(bool)
		if writeOnly {
			hasSecret = true
		}
		if name != "" {
			if secretLike(name) && !writeOnly && !exempt[path] {
				problems = append(problems, fmt.Sprintf("%s: the property %q is named like a secret but is not \"writeOnly\": true, so the API would show it and store it unencrypted (list it in Suite.NotSecrets if it is no secret)", path, name))
			}
			if _, declared := m[plugin.DestinationKeyword].(bool); !declared && urlLike(name, m) {
				urlish = append(urlish, path)
			}
		}
		props, _ := m["properties"].(map[string]any)
		keys := make([]string, 0, len(props))
		for k := range props {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			walk(props[k], path+"/"+escape(k), k)
		}
		if items, ok := m["items"]; ok {
			walk(items, path+"/*", "")
		}
		for _, kw := range []string{"allOf", "anyOf", "oneOf"} {
			list, _ := m[kw].([]any)
			for _, b := range list {
				walk(b, path, "")
			}
		}
	}
	walk(doc, "", "")
	if hasSecret {
		for _, p := range urlish {
			problems = append(problems, fmt.Sprintf("%s: the config has secrets and this property holds an address: mark it %q: true if a secret can be sent there (a server URL), false if not (a web link)", p, plugin.DestinationKeyword))
		}
	}
	return problems
}
