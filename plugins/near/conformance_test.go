package near_test

import (
	"crypto/ed25519"
	"net/http"
	"testing"

	"github.com/metagov/metagov-go/plugin/plugintest"
	"github.com/metagov/metagov-go/plugins/near/nearfake"
)

// TestConformance runs the SDK's conformance kit against the fake node.
func TestConformance(t *testing.T) {
	t.Parallel()
	fake := nearfake.New(t, contract)
	fake.AddAccount(account, testKey.Public().(ed25519.PublicKey), 0)
	plugintest.Exercise(t, plugintest.Suite{
		Plugin: "near",
		Config: config(fake),
		Actions: []plugintest.Call{
			{Action: "view", Params: map[string]any{"method_name": "get_greeting"}},
			{Action: "view", Params: map[string]any{"method_name": "nope"}, WantStatus: http.StatusUnprocessableEntity, WantField: "/method_name"},
			{Action: "call", Params: map[string]any{"method_name": "set_greeting", "args": map[string]any{"message": "hi"}, "gas": 1000000, "amount": "1"}},
			{Action: "call", Params: map[string]any{"method_name": "missing"}, WantStatus: http.StatusUnprocessableEntity, WantField: "/method_name"},
		},
	})
}
