package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/metagov/metagov-go/plugin"
	"github.com/metagov/metagov-go/plugin/plugintest"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/stretchr/testify/require"
)

// provision builds an instance through the registry, as the gateway does.
func provision(t *testing.T, config string) *Webhook {
	t.Helper()
	info, ok := plugintest.Lookup("webhook")
	require.True(t, ok)
	inst := info.New()
	env := plugin.Env{Community: "test", Config: json.RawMessage(config), Now: func() time.Time { return testNow }}
	require.NoError(t, inst.(plugin.Provisioner).Provision(context.Background(), env))
	return inst.(*Webhook)
}

// testState is committed instance state as the gateway keeps it: values
// and, for those set with SetUntil, when they expire.
type testState struct {
	values  map[string]json.RawMessage
	expires map[string]time.Time
}

func newTestState() *testState {
	return &testState{values: map[string]json.RawMessage{}, expires: map[string]time.Time{}}
}

// receive runs ReceiveWebhook at now over the committed state, commits its
// changes into state, and returns what it changed. Expired values read as
// absent, as the gateway reads them.
func receive(t *testing.T, w *Webhook, state *testState, now time.Time,
	header http.Header, body string) (plugintest.CallChanges, error) {
	t.Helper()
	load := func(_ context.Context, key string) (json.RawMessage, bool, error) {
		if until, ok := state.expires[key]; ok && !until.After(now) {
			return nil, false, nil
		}
		v, ok := state.values[key]
		return v, ok, nil
	}
	c := plugintest.NewCall(load, func() time.Time { return now })
	req := &plugin.WebhookRequest{Method: http.MethodPost, Header: header, Body: []byte(body), ReceivedAt: now}
	_, err := w.ReceiveWebhook(context.Background(), c, req)
	if err == nil {
		changes := plugintest.Changes(c)
		for k, v := range changes.State {
			state.values[k] = v
			delete(state.expires, k)
			if until, ok := changes.Expires[k]; ok {
				state.expires[k] = until
			}
		}
	}
	return plugintest.Changes(c), err
}

func TestReceiveWebhook(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		config   string
		header   http.Header
		body     string
		wantType string
	}{
		{name: "top-level field", config: `{"secret":"s","event_type_field":"type"}`, body: `{"type":"push"}`, wantType: "push"},
		{name: "nested field", config: `{"secret":"s","event_type_field":"a.b"}`, body: `{"a":{"b":"deep"}}`, wantType: "deep"},
		{name: "field missing", config: `{"secret":"s","event_type_field":"a.b"}`, body: `{"a":{}}`, wantType: "webhook"},
		{name: "field through a non-object", config: `{"secret":"s","event_type_field":"a.b"}`, body: `{"a":"b"}`, wantType: "webhook"},
		{name: "field not a string", config: `{"secret":"s"}`, body: `{"type":7}`, wantType: "webhook"},
		{name: "field empty", config: `{"secret":"s","default_event_type":"other"}`, body: `{"type":""}`, wantType: "other"},
		{name: "large number kept exactly", config: `{"secret":"s"}`, body: `{"type":"n","n":12345678901234567891}`, wantType: "n"},
		{name: "array body", config: `{"secret":"s"}`, body: `[1,2]`, wantType: "webhook"},
		{name: "header", config: `{"secret":"s","event_type_header":"X-GitHub-Event"}`,
			header: http.Header{"X-Github-Event": {"issues"}}, body: `{"type":"ignored"}`, wantType: "issues"},
		{name: "header absent", config: `{"secret":"s","event_type_header":"X-GitHub-Event"}`,
			body: `{"type":"ignored"}`, wantType: "webhook"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := provision(t, tt.config)
			changes, err := receive(t, w, newTestState(), testNow, tt.header, tt.body)
			require.NoError(t, err)
			require.Len(t, changes.Events, 1)
			require.Equal(t, tt.wantType, changes.Events[0].Type)
			require.Equal(t, tt.body, string(changes.Events[0].Data))
			require.Nil(t, changes.Events[0].Initiator)
			require.Empty(t, changes.State, "only Standard Webhooks deliveries are remembered")
		})
	}
}

func TestReceiveWebhookReplay(t *testing.T) {
	t.Parallel()
	w := provision(t, `{"secret":"s","tolerance_seconds":60}`)
	state := newTestState()
	header := func(id string) http.Header {
		return standardHeader(id, strconv.FormatInt(testNow.Unix(), 10), "v1,unchecked-here")
	}
	steps := []struct {
		name      string
		id        string
		after     time.Duration // since testNow
		wantEvent bool
	}{
		{name: "first delivery", id: "msg_1", wantEvent: true},
		{name: "immediate replay", id: "msg_1", after: time.Second},
		{name: "another id", id: "msg_2", after: 2 * time.Second, wantEvent: true},
		{name: "replay at twice the tolerance", id: "msg_1", after: 120 * time.Second},
		{name: "id forgotten after twice the tolerance", id: "msg_1", after: 121 * time.Second, wantEvent: true},
		{name: "third id", id: "msg_3", after: 123 * time.Second, wantEvent: true},
	}
	for _, s := range steps {
		at := testNow.Add(s.after)
		changes, err := receive(t, w, state, at, header(s.id), `{"type":"x"}`)
		require.NoError(t, err, s.name)
		if !s.wantEvent {
			require.Empty(t, changes.Events, s.name)
			require.Empty(t, changes.State, s.name)
			continue
		}
		require.Len(t, changes.Events, 1, s.name)
		// One small key per id, kept until a replay could no longer pass
		// verification.
		require.Len(t, changes.State, 1, s.name)
		for key, value := range changes.State {
			require.True(t, strings.HasPrefix(key, seenPrefix), key)
			require.JSONEq(t, strconv.FormatInt(at.Unix(), 10), string(value), s.name)
			require.Equal(t, at.Add(121*time.Second), changes.Expires[key], s.name)
		}
	}
}

// TestReceiveWebhookLongID: an id of any length is remembered under a key of
// fixed length.
func TestReceiveWebhookLongID(t *testing.T) {
	t.Parallel()
	w := provision(t, `{"secret":"s"}`)
	id := strings.Repeat("x", 100_000)
	header := standardHeader(id, strconv.FormatInt(testNow.Unix(), 10), "v1,unchecked-here")
	state := newTestState()
	changes, err := receive(t, w, state, testNow, header, `{}`)
	require.NoError(t, err)
	require.Len(t, changes.Events, 1)
	for key := range changes.State {
		require.Len(t, key, len(seenPrefix)+43)
	}
	changes, err = receive(t, w, state, testNow.Add(time.Second), header, `{}`)
	require.NoError(t, err)
	require.Empty(t, changes.Events, "replay")
}

func TestReceiveWebhookNotJSON(t *testing.T) {
	t.Parallel()
	w := provision(t, `{"secret":"s"}`)
	for _, body := range []string{``, `type=push`, `{"type":"push"} trailing`} {
		changes, err := receive(t, w, newTestState(), testNow, http.Header{}, body)
		var inputErr *plugin.InputError
		require.ErrorAs(t, err, &inputErr, body)
		require.Contains(t, inputErr.Message, "body is not JSON", body)
		require.Empty(t, changes.Events, body)
	}
}

// TestConfigSchema compiles the schema as draft 2020-12, as the gateway
// does, and checks that its defaults are the ones Provision applies.
func TestConfigSchema(t *testing.T) {
	t.Parallel()
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(configSchema))
	require.NoError(t, err)
	require.NoError(t, c.AddResource("config.json", doc))
	schema, err := c.Compile("config.json")
	require.NoError(t, err)
	for config, valid := range map[string]bool{
		`{"secret":"s","webhook_slug":"abcDEF_-12"}`: true,
		`{}`:                                    false,
		`{"secret":""}`:                         false,
		`{"secret":"s","webhook_slug":"short"}`: false,
		`{"secret":"s","tolerance_seconds":0}`:  false,
		`{"secret":"s","unknown":1}`:            false,
	} {
		inst, err := jsonschema.UnmarshalJSON(bytes.NewReader([]byte(config)))
		require.NoError(t, err)
		require.Equal(t, valid, schema.Validate(inst) == nil, config)
	}

	var parsed struct {
		Properties map[string]struct {
			Default any `json:"default"`
		} `json:"properties"`
	}
	require.NoError(t, json.Unmarshal(configSchema, &parsed))
	defaults := map[string]any{}
	for name, p := range parsed.Properties {
		if p.Default != nil {
			defaults[name] = p.Default
		}
	}
	require.Equal(t, map[string]any{
		"signature_header":   defaultSignatureHeader,
		"event_type_field":   defaultEventTypeField,
		"default_event_type": defaultEventType,
		"tolerance_seconds":  float64(defaultToleranceSeconds),
	}, defaults)
	w := provision(t, `{"secret":"s"}`)
	require.Equal(t, Config{Secret: "s", SignatureHeader: defaultSignatureHeader, EventTypeField: defaultEventTypeField,
		DefaultEventType: defaultEventType, ToleranceSeconds: defaultToleranceSeconds}, w.cfg)
}
