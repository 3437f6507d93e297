package opencollective_test

import (
	"testing"

	"github.com/metagov/metagov-go/plugin/plugintest"
	ocfake "github.com/metagov/metagov-go/plugins/opencollective/opencollectivefake"
)

// TestConformance runs the SDK's conformance kit against the fake Open
// Collective: schemas agree with the Go types, results and the vote's
// outcome match their schemas, a vote closes on DELETE. Open Collective
// cannot sign webhooks (the plugin has no verifier), so the kit's webhook
// checks do not apply.
func TestConformance(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	expense := f.CreateExpense(ocfake.CollectiveSlug, "alice", "Garden tools", 5000)
	plugintest.Exercise(t, plugintest.Suite{
		Plugin: "opencollective",
		Config: pluginConfig(f, nil),
		Actions: []plugintest.Call{
			{Action: "list-members"},
			{Action: "create-conversation", Params: map[string]any{"title": "Garden", "raw": "<p>More vegetables?</p>"}},
			{Action: "process-expense", Params: map[string]any{"expense_id": expense.ExpenseLegacyID, "action": "APPROVE"}},
		},
		Processes: []plugintest.Start{{Process: "vote", Input: map[string]any{"title": "Buy a greenhouse?"}}},
	})
}
