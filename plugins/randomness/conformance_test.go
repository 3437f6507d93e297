package randomness_test

import (
	"testing"

	"github.com/metagov/metagov-go/plugin/plugintest"
	_ "github.com/metagov/metagov-go/plugins/randomness"
)

// TestConformance runs the SDK's conformance kit: schemas agree with the Go
// types, outputs match their schemas, errors are SDK errors, the vote is
// pending once started and completes when closed. Copy this file with the
// package when starting a new plugin, and give it the new plugin's config
// and a call of each action.
func TestConformance(t *testing.T) {
	t.Parallel()
	plugintest.Exercise(t, plugintest.Suite{
		Plugin: "randomness",
		Config: map[string]any{"default_low": 1, "default_high": 7},
		Actions: []plugintest.Call{
			{Action: "set-lucky-number", Params: map[string]any{"lucky_number": 9}},
			{Action: "random-int", Params: map[string]any{"low": 1, "high": 3}},
			{Action: "random-int", Params: map[string]any{}},
			{Action: "random-int", Params: map[string]any{"low": 3, "high": 3}, WantStatus: 400, WantField: "/high"},
		},
		Processes: []plugintest.Start{
			{Process: "delayed-stochastic-vote", Input: map[string]any{"options": []string{"a", "b"}, "delay": 60}},
		},
	})
}
