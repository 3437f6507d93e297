package opencollective_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/internal/app"
	"github.com/metagov/metagov-go/internal/apptest"
	ocfake "github.com/metagov/metagov-go/plugins/opencollective/opencollectivefake"
)

// TestExpenseWebhooks sends expense activities the way Open Collective
// does and checks the events the driver receives: only activities of the
// collective and its projects count, and the event carries the expense as
// fetched again from the API.
func TestExpenseWebhooks(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		events := apptest.NewReceiver(t)
		b := setup(t, db, app.Config{EventReceiverURL: events.URL})
		f := b.fake
		deliver := func(a ocfake.Activity) {
			t.Helper()
			statuses, err := f.Deliver(b.s.URL, a)
			require.NoError(t, err)
			require.Equal(t, []int{http.StatusOK}, statuses, "one webhook, answered 200")
		}
		post := func(path string, body any) apptest.Response {
			return b.s.Do("POST", path, body)
		}

		// The creation is delivered after the approval: its event carries
		// the expense as it is then, approved.
		created := f.CreateExpense(ocfake.CollectiveSlug, "bob", "Stickers", 1250)
		approved, err := f.ProcessExpense(created.ExpenseLegacyID, "APPROVE", "alice")
		require.NoError(t, err)
		deliver(created)
		deliver(approved)
		project := f.CreateExpense(ocfake.ProjectSlug, "bob", "Hosting", 5000)
		deliver(project)

		// Ignored with 200: another collective's activity, one naming our
		// collective but another's expense, an activity that is not about
		// an expense, an expense that does not exist.
		theirs := f.CreateExpense(ocfake.OtherCollectiveSlug, "alice", "Pizza", 3000)
		r := post(hookPath, string(f.WebhookBody(theirs)))
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		forged := theirs
		forged.CollectiveID = created.CollectiveID
		r = post(hookPath, string(f.WebhookBody(forged)))
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		r = post(hookPath, map[string]any{"type": "collective.update.published", "CollectiveId": created.CollectiveID, "data": map[string]any{}})
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		r = post(hookPath, map[string]any{"type": "collective.expense.paid", "CollectiveId": created.CollectiveID,
			"data": map[string]any{"expense": map[string]any{"id": 999999}}})
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		// Open Collective sends collective.expense.incomplete with empty
		// data (it is not among the expense activities its webhooks
		// describe), so there is no expense_incomplete event.
		r = post(hookPath, map[string]any{"type": "collective.expense.incomplete", "CollectiveId": created.CollectiveID, "data": map[string]any{}})
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))

		// Refused: a body that is not JSON, a wrong slug, no slug.
		post(hookPath, "{not json").RequireError(t, http.StatusBadRequest, "invalid_input")
		post("/api/hooks/"+community+"/opencollective/wrong-slug-0123456789", string(f.WebhookBody(created))).RequireError(t, http.StatusNotFound, "hook_not_found")
		post("/api/hooks/"+community+"/opencollective", string(f.WebhookBody(created))).RequireError(t, http.StatusNotFound, "hook_not_found")

		// A last valid delivery: once its event is in, none of the ignored
		// ones produced one.
		rejected, err := f.ProcessExpense(project.ExpenseLegacyID, "REJECT", "alice")
		require.NoError(t, err)
		deliver(rejected)

		got := events.WaitFor(t, 4, 10*time.Second)
		byType := map[string]map[string]any{}
		for _, e := range got {
			ev := decode(t, e.Body)
			require.Equal(t, "opencollective", ev["source"])
			require.Equal(t, community, ev["community"])
			byType[ev["event_type"].(string)+fmt.Sprint(ev["data"].(map[string]any)["legacyId"])] = ev
		}
		require.Len(t, byType, 4, "one event per valid delivery")
		tests := []struct {
			name      string
			key       string
			status    string
			initiator string
			url       string
		}{
			{name: "created", key: fmt.Sprint("expense_created", created.ExpenseLegacyID), status: "APPROVED", initiator: "bob",
				url: fmt.Sprintf("%s/metagov/expenses/%d", webURL, created.ExpenseLegacyID)},
			{name: "approved", key: fmt.Sprint("expense_approved", created.ExpenseLegacyID), status: "APPROVED", initiator: "alice",
				url: fmt.Sprintf("%s/metagov/expenses/%d", webURL, created.ExpenseLegacyID)},
			{name: "project expense created", key: fmt.Sprint("expense_created", project.ExpenseLegacyID), status: "PENDING", initiator: "bob",
				url: fmt.Sprintf("%s/metagov/projects/metagov-tools/expenses/%d", webURL, project.ExpenseLegacyID)},
			{name: "project expense rejected", key: fmt.Sprint("expense_rejected", project.ExpenseLegacyID), status: "REJECTED", initiator: "alice",
				url: fmt.Sprintf("%s/metagov/projects/metagov-tools/expenses/%d", webURL, project.ExpenseLegacyID)},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				ev, ok := byType[tt.key]
				require.True(t, ok, "no event %s among %v", tt.key, byType)
				data := ev["data"].(map[string]any)
				// The data is the expense as the API returned it when
				// the webhook arrived.
				require.Equal(t, tt.status, data["status"])
				require.Equal(t, tt.url, data["url"])
				require.NotEmpty(t, data["activities"])
				require.Equal(t, map[string]any{"user_id": tt.initiator, "provider": "opencollective"}, ev["initiator"])
			})
		}
		requireValidQueries(t, f)
	})
}
