package revshare_test

import (
	"net/http"
	"testing"

	"github.com/metagov/metagov-go/plugin/plugintest"
	_ "github.com/metagov/metagov-go/plugins/revshare"
)

// TestConformance runs the SDK's conformance kit: schemas agree with the Go
// types, results match their schemas, an empty key is a 404 and bad
// parameters a 400.
func TestConformance(t *testing.T) {
	t.Parallel()
	plugintest.Exercise(t, plugintest.Suite{
		Plugin: "revshare",
		Config: map[string]any{},
		Actions: []plugintest.Call{
			{Action: "get-config", Params: map[string]any{}},
			{Action: "pick-pointer", Params: map[string]any{}, WantStatus: http.StatusNotFound},
			{Action: "add-pointer", Params: map[string]any{"pointer": "$alice.example", "weight": 2}},
			{Action: "add-pointer", Params: map[string]any{"pointer": "$bob.example", "weight": 1, "key": "k"}},
			{Action: "pick-pointer", Params: map[string]any{}},
			{Action: "replace-config", Params: map[string]any{"pointers": map[string]any{"$c.example": 4}, "key": "k"}},
			{Action: "remove-pointer", Params: map[string]any{"pointer": "$c.example", "key": "k"}},
			{Action: "get-config", Params: map[string]any{"key": "k"}},
			{Action: "add-pointer", Params: map[string]any{"pointer": "$alice.example", "weight": -2}, WantStatus: http.StatusBadRequest, WantField: "/weight"},
		},
	})
}
