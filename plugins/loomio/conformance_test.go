package loomio_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/metagov/metagov-go/plugin/plugintest"
)

// TestConformance runs the SDK's conformance kit against the fake Loomio:
// schemas agree with the Go types, a started poll is pending with an
// outcome matching its schema, and DELETE is 405 (Loomio's API cannot
// close a poll). Loomio cannot sign its webhooks (the plugin has no
// verifier), so the kit's webhook checks do not apply.
func TestConformance(t *testing.T) {
	t.Parallel()
	fake := newFake(t)
	closing := time.Now().Add(72 * time.Hour).UTC().Format(time.RFC3339)
	plugintest.Exercise(t, plugintest.Suite{
		Plugin: "loomio",
		Config: config(fake),
		Actions: []plugintest.Call{
			{Action: "list-members"},
			{Action: "create-discussion", Params: map[string]any{"title": "Budget", "description": "Let's talk"}},
			{Action: "create-discussion", Params: map[string]any{"description": "no title"}, WantStatus: http.StatusBadRequest},
		},
		Processes: []plugintest.Start{{Process: "poll", Input: map[string]any{
			"title": "Lunch?", "poll_type": "poll", "options": []string{"pizza", "salad"}, "closing_at": closing}}},
	})
}
