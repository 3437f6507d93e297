package randomness

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/metagov/metagov-go/plugin"
	"github.com/metagov/metagov-go/plugin/plugintest"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/stretchr/testify/require"
)

// testBundle drives one instance through the SDK, as the gateway would.
type testBundle struct {
	info  plugin.Info
	inst  plugin.Instance
	state map[string]json.RawMessage // the committed instance state
	now   time.Time
}

func setup(t *testing.T, config string) *testBundle {
	t.Helper()
	info, ok := plugintest.Lookup("randomness")
	require.True(t, ok)
	inst := info.New()
	env := plugin.Env{Community: "test", Config: json.RawMessage(config)}
	require.NoError(t, inst.(plugin.Provisioner).Provision(context.Background(), env))
	return &testBundle{info: info, inst: inst, state: map[string]json.RawMessage{},
		now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (b *testBundle) call() *plugin.Call {
	load := func(_ context.Context, key string) (json.RawMessage, bool, error) {
		v, ok := b.state[key]
		return v, ok, nil
	}
	return plugintest.NewCall(load, func() time.Time { return b.now })
}

// run performs the named action with JSON parameters.
func (b *testBundle) run(t *testing.T, c *plugin.Call, name, params string) (any, error) {
	t.Helper()
	for _, a := range b.info.Actions {
		if a.Name == name {
			return a.Run(context.Background(), b.inst, c, json.RawMessage(params))
		}
	}
	t.Fatalf("no action %q", name)
	return nil, nil
}

func TestInitializeAndSetLuckyNumber(t *testing.T) {
	t.Parallel()
	b := setup(t, `{"default_low": 0, "default_high": 10}`)
	c := b.call()
	require.NoError(t, b.inst.(plugin.Initializer).Initialize(context.Background(), c))
	require.JSONEq(t, `4`, string(plugintest.Changes(c).State[luckyNumberKey]))
	b.state = plugintest.Changes(c).State

	c = b.call()
	out, err := b.run(t, c, "set-lucky-number", `{"lucky_number": 7}`)
	require.NoError(t, err)
	require.Equal(t, luckyNumber{LuckyNumber: 7}, out)
	require.JSONEq(t, `7`, string(plugintest.Changes(c).State[luckyNumberKey]))
	require.Empty(t, plugintest.Changes(c).Events)
}

func TestRandomInt(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		config    string
		params    string
		wantLow   int64 // the value must lie in [wantLow, wantHigh)
		wantHigh  int64
		wantError string // the InputError's message, if the call must fail
	}{
		{name: "config defaults", config: `{"default_low": 5, "default_high": 6}`, params: `{}`, wantLow: 5, wantHigh: 6},
		{name: "null parameters", config: `{"default_low": 5, "default_high": 6}`, params: `null`, wantLow: 5, wantHigh: 6},
		{name: "low given", config: `{"default_low": 0, "default_high": 11}`, params: `{"low": 10}`, wantLow: 10, wantHigh: 11},
		{name: "high given", config: `{"default_low": -3, "default_high": 100}`, params: `{"high": -2}`, wantLow: -3, wantHigh: -2},
		{name: "both given", config: `{"default_low": 0, "default_high": 1}`, params: `{"low": 40, "high": 42}`, wantLow: 40, wantHigh: 42},
		{name: "whole int64 range", config: `{"default_low": -9223372036854775808, "default_high": 9223372036854775807}`,
			params: `{}`, wantLow: math.MinInt64, wantHigh: math.MaxInt64},
		{name: "low equals high", config: `{"default_low": 0, "default_high": 10}`, params: `{"low": 3, "high": 3}`,
			wantError: "high (3) must be greater than low (3)"},
		{name: "low above high", config: `{"default_low": 0, "default_high": 10}`, params: `{"low": 11}`,
			wantError: "high (10) must be greater than low (11)"},
		{name: "empty config range", config: `{"default_low": 2, "default_high": 2}`, params: `{}`,
			wantError: "high (2) must be greater than low (2)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, tt.config)
			c := b.call()
			out, err := b.run(t, c, "random-int", tt.params)
			if tt.wantError != "" {
				var inputErr *plugin.InputError
				require.ErrorAs(t, err, &inputErr)
				require.Equal(t, &plugin.InputError{Field: "/high", Message: tt.wantError}, inputErr)
				return
			}
			require.NoError(t, err)
			value := out.(randomIntResult).Value
			require.GreaterOrEqual(t, value, tt.wantLow)
			require.Less(t, value, tt.wantHigh)
			require.Empty(t, plugintest.Changes(c).State)
		})
	}
}

// TestRandomIntCoversRange checks that every value of a small range comes up
// and the upper bound never does. A miss has probability 3·(2/3)^300.
func TestRandomIntCoversRange(t *testing.T) {
	t.Parallel()
	b := setup(t, `{"default_low": 0, "default_high": 3}`)
	seen := map[int64]int{}
	for range 300 {
		out, err := b.run(t, b.call(), "random-int", `{}`)
		require.NoError(t, err)
		seen[out.(randomIntResult).Value]++
	}
	require.Len(t, seen, 3)
	for v := range int64(3) {
		require.Positive(t, seen[v], "value %d never drawn", v)
	}
}

func TestRegistration(t *testing.T) {
	t.Parallel()
	b := setup(t, `{"default_low": 0, "default_high": 10}`)
	require.Equal(t, plugin.AuthNone, b.info.AuthType)
	descriptions := map[string]string{}
	for _, a := range b.info.Actions {
		descriptions[a.Name] = a.Description
	}
	require.Equal(t, map[string]string{
		"set-lucky-number": "Set lucky number",
		"random-int":       "Get a random integer in range",
	}, descriptions)
	require.Len(t, b.info.Processes, 1)
}

// TestSchemas compiles every schema as JSON Schema draft 2020-12, as the
// gateway does, and checks that it accepts and refuses what it should.
func TestSchemas(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		schema plugin.Schema
		doc    string
		valid  bool
	}{
		{name: "config", schema: configSchema, doc: `{"default_low": 2, "default_high": 200}`, valid: true},
		{name: "config without high", schema: configSchema, doc: `{"default_low": 2}`},
		{name: "config with fraction", schema: configSchema, doc: `{"default_low": 2.5, "default_high": 200}`},
		{name: "lucky number", schema: luckyNumberSchema, doc: `{"lucky_number": 7}`, valid: true},
		{name: "lucky number missing", schema: luckyNumberSchema, doc: `{}`},
		{name: "random-int without bounds", schema: randomIntInputSchema, doc: `{}`, valid: true},
		{name: "random-int string bound", schema: randomIntInputSchema, doc: `{"low": "1"}`},
		{name: "random-int output", schema: randomIntOutputSchema, doc: `{"value": 3}`, valid: true},
		{name: "random-int output empty", schema: randomIntOutputSchema, doc: `{}`},
		{name: "vote", schema: voteInputSchema, doc: `{"options": ["a", "b"], "delay": 0}`, valid: true},
		{name: "vote without options", schema: voteInputSchema, doc: `{"options": [], "delay": 1}`},
		{name: "vote with negative delay", schema: voteInputSchema, doc: `{"options": ["a"], "delay": -1}`},
		{name: "vote without delay", schema: voteInputSchema, doc: `{"options": ["a"]}`},
		{name: "pending outcome", schema: voteOutcomeSchema, doc: `{}`, valid: true},
		{name: "closed outcome", schema: voteOutcomeSchema, doc: `{"winner": "a"}`, valid: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := jsonschema.NewCompiler()
			c.DefaultDraft(jsonschema.Draft2020)
			schema, err := jsonschema.UnmarshalJSON(bytes.NewReader(tt.schema))
			require.NoError(t, err)
			require.NoError(t, c.AddResource("schema.json", schema))
			compiled, err := c.Compile("schema.json")
			require.NoError(t, err)
			doc, err := jsonschema.UnmarshalJSON(bytes.NewReader([]byte(tt.doc)))
			require.NoError(t, err)
			if tt.valid {
				require.NoError(t, compiled.Validate(doc))
			} else {
				require.Error(t, compiled.Validate(doc))
			}
		})
	}
}
