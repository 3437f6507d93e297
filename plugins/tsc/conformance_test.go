package tsc_test

import (
	"net/http"
	"testing"

	"github.com/metagov/metagov-go/plugin/plugintest"
	_ "github.com/metagov/metagov-go/plugins/tsc"
	"github.com/metagov/metagov-go/plugins/tsc/tscfake"
)

// TestConformance runs the SDK's conformance kit against the fake server.
func TestConformance(t *testing.T) {
	t.Parallel()
	fake := tscfake.New(t)
	fake.Put("user", "u1", map[string]any{"id": "u1"})
	fake.Put("contract", "c1", map[string]any{"id": "c1"})
	fake.Put("execution", "e1", map[string]any{"id": "e1"})
	fake.Put("agreement", "a1", map[string]any{"id": "a1"})
	plugintest.Exercise(t, plugintest.Suite{
		Plugin: "tsc",
		Config: map[string]any{"server_url": fake.URL},
		Actions: []plugintest.Call{
			{Action: "get-user", Params: map[string]any{"user_id": "u1"}},
			{Action: "get-contract", Params: map[string]any{"contract_id": "c1"}},
			{Action: "get-execution", Params: map[string]any{"execution_id": "e1"}},
			{Action: "get-agreement", Params: map[string]any{"agreement_id": "a1"}},
			{Action: "get-agreement", Params: map[string]any{"agreement_id": "zz"}, WantStatus: http.StatusNotFound},
			{Action: "get-user", Params: map[string]any{}, WantStatus: http.StatusBadRequest, WantField: "/user_id"},
		},
	})
}
