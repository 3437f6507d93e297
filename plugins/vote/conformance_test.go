package vote_test

import (
	"net/http"
	"testing"

	"github.com/metagov/metagov-go/plugin/plugintest"
	_ "github.com/metagov/metagov-go/plugins/vote"
)

// TestConformance runs the SDK's conformance kit: the poll's rules and the
// ballots' schemas agree with the Go types, a poll is pending once started
// and completes when closed, ballots answer SDK errors.
func TestConformance(t *testing.T) {
	t.Parallel()
	plugintest.Exercise(t, plugintest.Suite{
		Plugin: "vote",
		Actions: []plugintest.Call{
			{Action: "cast", ProcessID: 1, Params: map[string]any{"voter": "ana", "ballot": "park"}},
			{Action: "cast", ProcessID: 1, Params: map[string]any{"voter": "ben", "ballot": "pool"},
				WantStatus: http.StatusBadRequest, WantField: "/ballot"},
			{Action: "export", ProcessID: 1},
		},
		Processes: []plugintest.Start{{Process: "poll", Input: map[string]any{
			"method": "single-choice", "options": []string{"park", "library"}, "duration_minutes": 60,
			"quorum": map[string]any{"count": 1}, "threshold": map[string]any{"share": 0.5},
		}}},
	})
}
