package plugintest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/metagov/metagov-go/internal/app"
	"github.com/metagov/metagov-go/internal/apptest"
	"github.com/metagov/metagov-go/plugin"
)

// community is the slug of the community the kit creates.
const community = "plugintest"

// run is one gateway run of the kit.
type run struct {
	t    testing.TB
	info plugin.Info
	gw   *apptest.Server
	hdr  []string
}

// exerciseGateway runs the checks through a real gateway.
func exerciseGateway(t testing.TB, info plugin.Info, s Suite) {
	t.Helper()
	timeout := s.PlatformTimeout
	if timeout == 0 {
		timeout = 5 * time.Second
	}
	gw := apptest.Start(t, apptest.SQLite(t), app.Config{Plugins: []plugin.Info{info}, PlatformTimeout: timeout})
	r := &run{t: t, info: info, gw: gw, hdr: []string{"X-Metagov-Community", community}}
	if resp := gw.Do("PUT", "/api/internal/community/"+community, map[string]any{"readable_name": "Conformance"}); resp.Status != http.StatusCreated {
		t.Fatalf("plugintest: creating the community: %d %s", resp.Status, resp.Body)
		return
	}
	config := s.Config
	if config == nil {
		config = map[string]any{}
	}
	enabled := gw.Do("POST", "/api/internal/plugin/"+info.Name, config, r.hdr...)
	if enabled.Status != http.StatusCreated {
		t.Fatalf("plugintest: %s: enabling the plugin with Suite.Config: %d %s", info.Name, enabled.Status, enabled.Body)
		return
	}
	var instance struct {
		ID int64 `json:"id"`
	}
	if err := json.Unmarshal(enabled.Body, &instance); err != nil || instance.ID == 0 {
		t.Fatalf("plugintest: %s: enabling the plugin answered no instance id: %s", info.Name, enabled.Body)
		return
	}

	for _, c := range s.Actions {
		if c.ProcessID == 0 {
			r.call(c, 0)
		}
	}
	r.invalidInputs(s)
	ids := make([]int64, len(s.Processes))
	for i, st := range s.Processes {
		ids[i] = r.start(st)
	}
	for _, c := range s.Actions {
		if c.ProcessID == 0 {
			continue
		}
		if c.ProcessID > len(ids) || ids[c.ProcessID-1] == 0 {
			t.Errorf("plugintest: %s: action %s: ProcessID %d names no started process", info.Name, c.Action, c.ProcessID)
			continue
		}
		r.call(c, ids[c.ProcessID-1])
	}
	for i, st := range s.Processes {
		if ids[i] != 0 && !st.KeepOpen {
			r.close(st.Process, ids[i])
		}
	}
	r.webhooks(s)
	r.disable(instance.ID)
}

// disable removes the instance, with force since a process may have been
// kept open: the removal must succeed, and a plugin.Disabler must complete
// (a 200 carries the warnings of one that failed or timed out).
func (r *run) disable(id int64) {
	r.t.Helper()
	what := fmt.Sprintf("DELETE /api/internal/plugin/%s/%d?force=true", r.info.Name, id)
	resp := r.gw.Do("DELETE", fmt.Sprintf("/api/internal/plugin/%s/%d?force=true", r.info.Name, id), nil, r.hdr...)
	if resp.Status == http.StatusOK {
		r.errorf("%s: the plugin's Disable did not complete on the plugin's own fixtures (it failed, or took longer than the gateway allows); it said: %s", what, resp.Body)
		return
	}
	if !r.checkAnswer(what, resp, http.StatusNoContent, "") {
		return
	}
	got := r.gw.Do("GET", "/api/internal/community/"+community, nil)
	var c struct {
		Plugins []json.RawMessage `json:"plugins"`
	}
	if err := json.Unmarshal(got.Body, &c); err != nil || len(c.Plugins) > 0 {
		r.errorf("%s: the instance is still listed: %s", what, got.Body)
	}
}

func (r *run) errorf(format string, args ...any) {
	r.t.Helper()
	r.t.Errorf("plugintest: "+r.info.Name+": "+format, args...)
}

// checkAnswer checks an answer's status, and for an error its JSON shape
// and field. It reports whether the status was the one wanted.
func (r *run) checkAnswer(what string, resp apptest.Response, want int, wantField string) bool {
	r.t.Helper()
	if resp.Status == http.StatusInternalServerError {
		r.errorf("%s answered 500, an internal error: the plugin returned an error of no SDK error type (*plugin.InputError, plugin.ErrNotFound, *plugin.PlatformError), a result that does not match its schema, or broke a rule the gateway enforces (such as a Close that does not complete); the gateway's log says which (go test -v): %s", what, resp.Body)
		return false
	}
	if resp.Status != want {
		r.errorf("%s answered %d, want %d: %s", what, resp.Status, want, resp.Body)
		return false
	}
	if resp.Status < 400 {
		return true
	}
	var body struct {
		Detail string `json:"detail"`
		Code   string `json:"code"`
		Field  string `json:"field"`
	}
	if err := json.Unmarshal(resp.Body, &body); err != nil || body.Detail == "" || body.Code == "" {
		r.errorf("%s answered %d without the gateway's JSON error {detail, code}: %s", what, resp.Status, resp.Body)
		return false
	}
	if wantField != "" && body.Field != wantField {
		r.errorf("%s answered %d with field %q, want %q: %s", what, resp.Status, body.Field, wantField, resp.Body)
		return false
	}
	return true
}

// action finds an action by name.
func (r *run) action(name string) (plugin.Action, bool) {
	for _, a := range r.info.Actions {
		if a.Name == name {
			return a, true
		}
	}
	return plugin.Action{}, false
}

// call runs one fixture call; processID, when not 0, goes into the
// parameters as "process_id".
func (r *run) call(c Call, processID int64) {
	r.t.Helper()
	what := "action " + c.Action
	a, ok := r.action(c.Action)
	if !ok {
		r.errorf("%s: no such action", what)
		return
	}
	params := c.Params
	if processID != 0 {
		m := map[string]any{}
		if raw, err := json.Marshal(params); err == nil && string(raw) != "null" {
			if err := json.Unmarshal(raw, &m); err != nil {
				r.errorf("%s: Params must encode to an object with ProcessID: %v", what, err)
				return
			}
		}
		m["process_id"] = processID
		params = m
	}
	want := c.WantStatus
	if want == 0 {
		want = http.StatusOK
	}
	resp := r.gw.Do("POST", "/api/internal/action/"+r.info.Name+"."+c.Action, map[string]any{"parameters": params}, r.hdr...)
	if !r.checkAnswer(what, resp, want, c.WantField) || resp.Status != http.StatusOK {
		return
	}
	r.validate(what+" result", a.Output, resp.Body)
}

// validate checks a JSON document against a schema.
func (r *run) validate(what string, schema plugin.Schema, doc []byte) {
	r.t.Helper()
	compiled, _, err := compileSchema(r.info.Name+"."+what, schema)
	if err != nil || compiled == nil {
		return // reported by the static checks
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		r.errorf("%s is not JSON: %v: %s", what, err, doc)
		return
	}
	if err := compiled.Validate(v); err != nil {
		r.errorf("%s does not match its schema: %v: %s", what, err, doc)
	}
}

// wrongValue is a JSON value whose type the schema node does not allow,
// or nil when it allows every type.
func wrongValue(node any) any {
	m, _ := node.(map[string]any)
	types := jsonTypes([]map[string]any{m})
	if len(types) == 0 {
		return nil
	}
	candidates := []struct {
		jsonType string
		value    any
	}{
		{"boolean", true},
		{"object", map[string]any{"plugintest": []any{}}},
		{"array", []any{map[string]any{}}},
		{"string", "plugintest"},
		{"number", 0.5}, // no integer either
	}
	for _, c := range candidates {
		if !slices.Contains(types, c.jsonType) {
			return c.value
		}
	}
	return nil
}

// probe picks a declared top-level property and a value of the wrong type
// for it.
func probe(schema plugin.Schema, skip ...string) (string, any, bool) {
	var doc map[string]any
	if json.Unmarshal(schema, &doc) != nil {
		return "", nil, false
	}
	props, _ := doc["properties"].(map[string]any)
	names := make([]string, 0, len(props))
	for k := range props {
		if !slices.Contains(skip, k) {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		if v := wrongValue(props[name]); v != nil {
			return name, v, true
		}
	}
	return "", nil, false
}

// invalidInputs sends every action and process a parameter of the wrong
// type: the answer must be 400 naming it. The other parameters come from a
// fixture of the action or process where there is one; without one, the
// answer may name another parameter (a missing required one), but must
// still be a 400 with a field.
func (r *run) invalidInputs(s Suite) {
	r.t.Helper()
	base := func(v any) map[string]any {
		m := map[string]any{}
		if raw, err := json.Marshal(v); err == nil {
			_ = json.Unmarshal(raw, &m)
		}
		if m == nil {
			m = map[string]any{}
		}
		return m
	}
	for _, a := range r.info.Actions {
		var skip []string
		if a.RunProcess != nil {
			skip = []string{"process_id"}
		}
		name, v, ok := probe(a.Input, skip...)
		if !ok {
			continue
		}
		params, wantField := map[string]any{}, ""
		for _, c := range s.Actions {
			if c.Action == a.Name && c.WantStatus == 0 && c.ProcessID == 0 {
				params, wantField = base(c.Params), "/"+escape(name)
				break
			}
		}
		params[name] = v
		what := fmt.Sprintf("action %s with %q of the wrong type", a.Name, name)
		resp := r.gw.Do("POST", "/api/internal/action/"+r.info.Name+"."+a.Name, map[string]any{"parameters": params}, r.hdr...)
		r.checkInvalid(what, resp, wantField)
	}
	for _, p := range r.info.Processes {
		name, v, ok := probe(p.Input)
		if !ok {
			continue
		}
		input, wantField := map[string]any{}, ""
		for _, st := range s.Processes {
			if st.Process == p.Name && st.WantStatus == 0 {
				input, wantField = base(st.Input), "/"+escape(name)
				break
			}
		}
		input[name] = v
		what := fmt.Sprintf("process %s started with %q of the wrong type", p.Name, name)
		resp := r.gw.Do("POST", "/api/internal/process/"+r.info.Name+"."+p.Name, input, r.hdr...)
		r.checkInvalid(what, resp, wantField)
	}
}

// checkInvalid checks the answer to invalid input: 400 with a field, that
// field if wantField is set.
func (r *run) checkInvalid(what string, resp apptest.Response, wantField string) {
	r.t.Helper()
	if !r.checkAnswer(what, resp, http.StatusBadRequest, wantField) || wantField != "" {
		return
	}
	var body struct {
		Field string `json:"field"`
	}
	if json.Unmarshal(resp.Body, &body) != nil || body.Field == "" {
		r.errorf("%s answered 400 without a field naming the culprit: %s", what, resp.Body)
	}
}

// processRecord is the part of a process record the kit reads.
type processRecord struct {
	ID      int64           `json:"id"`
	Status  string          `json:"status"`
	Outcome json.RawMessage `json:"outcome"`
}

// processType finds a process type by name.
func (r *run) processType(name string) (plugin.ProcessType, bool) {
	for _, p := range r.info.Processes {
		if p.Name == name {
			return p, true
		}
	}
	return plugin.ProcessType{}, false
}

// checkRecord checks a process record: pending or completed, outcome valid.
func (r *run) checkRecord(what string, pt plugin.ProcessType, body []byte, allowed ...string) (processRecord, bool) {
	r.t.Helper()
	var rec processRecord
	if err := json.Unmarshal(body, &rec); err != nil {
		r.errorf("%s: the answer is no process record: %v: %s", what, err, body)
		return rec, false
	}
	if !slices.Contains(allowed, rec.Status) {
		r.errorf("%s: the process is %q, want %s: a handler must leave a process pending or completed", what, rec.Status, strings.Join(allowed, " or "))
		return rec, false
	}
	if len(rec.Outcome) > 0 && string(rec.Outcome) != "null" {
		r.validate(what+": the outcome", pt.Outcome, rec.Outcome)
	}
	return rec, true
}

// start starts one fixture process and returns its id (0 when it did not
// start).
func (r *run) start(st Start) int64 {
	r.t.Helper()
	what := "process " + st.Process
	pt, ok := r.processType(st.Process)
	if !ok {
		r.errorf("%s: no such process", what)
		return 0
	}
	want := st.WantStatus
	if want == 0 {
		want = http.StatusAccepted
	}
	input := st.Input
	if input == nil {
		input = map[string]any{}
	}
	resp := r.gw.Do("POST", "/api/internal/process/"+r.info.Name+"."+st.Process, input, r.hdr...)
	if !r.checkAnswer(what+" start", resp, want, st.WantField) || resp.Status != http.StatusAccepted {
		return 0
	}
	rec, ok := r.checkRecord(what+" start", pt, resp.Body, "pending", "completed")
	if !ok {
		return 0
	}
	got := r.gw.Do("GET", fmt.Sprintf("/api/internal/process/%s.%s/%d", r.info.Name, st.Process, rec.ID), nil, r.hdr...)
	if r.checkAnswer(what+" read", got, http.StatusOK, "") {
		r.checkRecord(what+" read", pt, got.Body, "pending", "completed")
	}
	return rec.ID
}

// close closes a started process with DELETE: it must complete if the
// handler can close processes, else the answer is 405.
func (r *run) close(name string, id int64) {
	r.t.Helper()
	what := "process " + name + " close"
	pt, _ := r.processType(name)
	path := fmt.Sprintf("/api/internal/process/%s.%s/%d", r.info.Name, name, id)
	cur := r.gw.Do("GET", path, nil, r.hdr...)
	var rec processRecord
	if json.Unmarshal(cur.Body, &rec) != nil || rec.Status == "completed" {
		return
	}
	_, closer := pt.New(r.info.New()).(plugin.ProcessCloser)
	resp := r.gw.Do("DELETE", path, nil, r.hdr...)
	if !closer {
		r.checkAnswer(what+" (its handler is no ProcessCloser)", resp, http.StatusMethodNotAllowed, "")
		return
	}
	if r.checkAnswer(what, resp, http.StatusOK, "") {
		r.checkRecord(what, pt, resp.Body, "completed")
	}
}

// event is the part of a stored event the kit reads.
type event struct {
	ID   int64           `json:"id"`
	Type string          `json:"event_type"`
	Data json.RawMessage `json:"data"`
}

// events lists the events recorded so far.
func (r *run) events() []event {
	r.t.Helper()
	resp := r.gw.Do("GET", "/api/internal/events?after=0&limit=1000", nil)
	var page struct {
		Events []event `json:"events"`
	}
	if resp.Status != http.StatusOK || json.Unmarshal(resp.Body, &page) != nil {
		r.errorf("listing events: %d %s", resp.Status, resp.Body)
	}
	return page.Events
}

// hookPath is the instance's webhook path.
func (r *run) hookPath() string {
	r.t.Helper()
	resp := r.gw.Do("GET", "/api/internal/community/"+community+"/hooks", nil)
	var hooks struct {
		Hooks []string `json:"hooks"`
	}
	if resp.Status != http.StatusOK || json.Unmarshal(resp.Body, &hooks) != nil {
		r.errorf("listing webhook paths: %d %s", resp.Status, resp.Body)
		return ""
	}
	for _, h := range hooks.Hooks {
		if strings.Contains(h, "/"+r.info.Name) {
			return h
		}
	}
	r.errorf("the community lists no webhook path for the plugin: %s", resp.Body)
	return ""
}

// post sends a webhook.
func (r *run) post(path string, body []byte, h http.Header) apptest.Response {
	r.t.Helper()
	var headers []string
	for k, vs := range h {
		for _, v := range vs {
			headers = append(headers, k, v)
		}
	}
	return r.gw.Do("POST", path, body, headers...)
}

// webhooks checks that the plugin's verifiers refuse unsigned, forged and
// replayed requests: the instance's (WebhookVerifier) at the community's
// hook path, and the platform router's (Info.Platform) at
// /api/hooks/<plugin>.
func (r *run) webhooks(s Suite) {
	r.t.Helper()
	missing := func(w *Webhook) bool { return w == nil || w.Sign == nil || len(w.Body) == 0 }
	if _, verifies := r.info.New().(plugin.WebhookVerifier); verifies {
		if missing(s.Webhook) {
			r.errorf("the plugin verifies webhooks: give Suite.Webhook (a body and a Sign function) so the kit can check that it refuses unsigned, forged and replayed requests")
		} else if path := r.hookPath(); path != "" {
			r.checkWebhook("webhook", path, s.Webhook)
		}
	}
	if r.info.Platform != nil {
		if missing(s.PlatformWebhook) {
			r.errorf("the plugin routes platform-wide webhooks (Info.Platform): give Suite.PlatformWebhook (a body for the configured account and a Sign function) so the kit can check that /api/hooks/%s refuses unsigned, forged and replayed requests", r.info.Name)
		} else {
			r.checkWebhook("platform webhook", "/api/hooks/"+r.info.Name, s.PlatformWebhook)
		}
	}
}

// checkWebhook sends w to path unsigned, forged, signed and replayed; what
// names the path in findings.
func (r *run) checkWebhook(what, path string, w *Webhook) {
	r.t.Helper()
	merge := func(signed http.Header) http.Header {
		h := w.Header.Clone()
		if h == nil {
			h = http.Header{}
		}
		for k, vs := range signed {
			h[http.CanonicalHeaderKey(k)] = vs
		}
		if h.Get("Content-Type") == "" {
			h.Set("Content-Type", "application/json")
		}
		return h
	}
	before := len(r.events())
	count := func(how string, want int) bool {
		r.t.Helper()
		if got := len(r.events()) - before; got != want {
			r.errorf("%s %s: %d events after it, want %d", what, how, got, want)
			return false
		}
		return true
	}

	unsigned := r.post(path, w.Body, merge(nil))
	r.checkAnswer(what+" without a signature", unsigned, http.StatusUnauthorized, "")
	if !count("without a signature", 0) {
		return
	}
	// A forgery: the platform's own signature with the body changed by one
	// byte after signing.
	forgedBody := append(bytes.Clone(w.Body), ' ')
	forged := r.post(path, forgedBody, merge(w.Sign(w.Body)))
	r.checkAnswer(what+" whose body was changed after signing", forged, http.StatusUnauthorized, "")
	if !count("with a forged signature", 0) {
		return
	}

	signed := merge(w.Sign(w.Body))
	first := r.post(path, w.Body, signed)
	if first.Status < 200 || first.Status > 299 {
		r.errorf("signed %s answered %d, want 2xx (does Sign sign as the plugin verifies, with the secret in Suite.Config or the settings?): %s", what, first.Status, first.Body)
		return
	}
	evs := r.events()
	made := len(evs) - before
	if made == 0 {
		r.errorf("signed %s made no event: give a body the plugin turns into one (for the configured account), so a replay can be told apart", what)
		return
	}
	for _, ev := range evs[before:] {
		for _, et := range r.info.Events {
			if et.Type == ev.Type {
				r.validate("event "+ev.Type+" data", et.Schema, ev.Data)
			}
		}
	}
	replay := r.post(path, w.Body, signed)
	switch w.Replay {
	case ReplayRefused:
		r.checkAnswer(what+" replayed", replay, http.StatusUnauthorized, "")
	default:
		if replay.Status < 200 || replay.Status > 299 {
			r.errorf("%s replayed answered %d, want 2xx with no event (Webhook.Replay is ReplayDropped): %s", what, replay.Status, replay.Body)
		}
	}
	count("replayed", made)
}
