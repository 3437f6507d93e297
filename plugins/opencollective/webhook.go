package opencollective

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"unicode"

	"github.com/metagov/metagov-go/plugin"
)

// expenseTypePrefix starts the type of every expense activity, such as
// collective.expense.approved.
const expenseTypePrefix = "collective.expense."

// eventTypes documents the events of the expense activities whose webhook
// carries the expense (expenseActivities in Open Collective's
// lib/webhooks.ts). collective.expense.incomplete is not one: Open
// Collective sends it with empty data, so it is ignored like any activity
// that names no expense.
var eventTypes = func() []plugin.EventType {
	var out []plugin.EventType
	for _, kind := range []string{"created", "updated", "deleted", "approved", "unapproved", "rejected", "paid", "unpaid", "processing", "error", "spam", "scheduledForPayment", "reApprovalRequested"} {
		out = append(out, plugin.EventType{
			Type:        "expense_" + kind,
			Description: "An expense of the collective or one of its projects was " + kind + " (activity collective.expense." + kind + "); data is the expense as fetched from the API, with its url.",
			Schema:      withURLSchema,
		})
	}
	return out
}()

// activity is the body Open Collective POSTs to a webhook: the activity,
// sanitized (for an expense, data.expense.id is its legacy id).
type activity struct {
	Type         string `json:"type"`
	CollectiveID int64  `json:"CollectiveId"`
	CreatedAt    string `json:"createdAt"`
	Data         struct {
		Expense *struct {
			ID int64 `json:"id"`
		} `json:"expense"`
	} `json:"data"`
}

// expenseHook is what an expense webhook asks for: an expense_<Kind> event
// about the expense with legacy id ExpenseID.
type expenseHook struct {
	Kind      string
	ExpenseID int64
	CreatedAt string
}

// parseActivity reads a webhook body and decides what it is worth. Nothing
// in it is trusted beyond the decision to look: a body that is not JSON is
// an error (400); an activity of another collective, or not about an
// expense, returns a reason to ignore it.
func parseActivity(body []byte, collectiveIDs map[int64]bool) (expenseHook, string, error) {
	var a activity
	if err := json.Unmarshal(body, &a); err != nil {
		return expenseHook{}, "", &plugin.InputError{Message: "webhook body is not an Open Collective activity: " + err.Error()}
	}
	if !collectiveIDs[a.CollectiveID] || a.CollectiveID == 0 {
		return expenseHook{}, fmt.Sprintf("activity of collective %d, not of this collective or its projects", a.CollectiveID), nil
	}
	kind, ok := strings.CutPrefix(a.Type, expenseTypePrefix)
	if !ok || kind == "" {
		return expenseHook{}, fmt.Sprintf("activity %q is not about an expense", a.Type), nil
	}
	if a.Data.Expense == nil || a.Data.Expense.ID <= 0 {
		return expenseHook{}, fmt.Sprintf("activity %q names no expense", a.Type), nil
	}
	return expenseHook{Kind: kind, ExpenseID: a.Data.Expense.ID, CreatedAt: a.CreatedAt}, "", nil
}

// ReceiveWebhook turns an expense activity into an expense_<x> event whose
// data is the expense fetched again from the API, so a forged webhook can at
// most make the plugin re-read a real expense of its own collective. Other
// activities, and activities of other collectives, are answered 200 and
// logged; unlike the original, an unknown collective id does not re-run
// the initialization (which registered yet another webhook).
func (oc *OpenCollective) ReceiveWebhook(ctx context.Context, c *plugin.Call, req *plugin.WebhookRequest) (*plugin.WebhookResponse, error) {
	ids, err := oc.collectiveIDs(ctx, c)
	if err != nil {
		return nil, fmt.Errorf("receiving webhook: %w", err)
	}
	hook, ignore, err := parseActivity(req.Body, ids)
	if err != nil {
		return nil, err
	}
	if ignore != "" {
		oc.log.InfoContext(ctx, "webhook ignored", slog.String("reason", ignore))
		return nil, nil
	}
	var data struct {
		Expense *expense `json:"expense"`
	}
	vars := map[string]any{"expense": map[string]any{"legacyId": hook.ExpenseID}}
	if err := oc.client.do(ctx, "fetching expense", expenseQuery, vars, &data); err != nil {
		return nil, err
	}
	e := data.Expense
	if e == nil || e.Account == nil || !ids[e.Account.LegacyID] {
		oc.log.WarnContext(ctx, "webhook ignored", slog.String("reason", "expense not found in this collective"),
			slog.Int64("expense_legacy_id", hook.ExpenseID))
		return nil, nil
	}
	event := plugin.Event{
		Type:      "expense_" + hook.Kind,
		Data:      oc.expenseWithURL(e),
		Initiator: e.initiator(hook.Kind, hook.CreatedAt),
	}
	if err := c.Emit(event); err != nil {
		return nil, fmt.Errorf("receiving webhook: %w", err)
	}
	return nil, nil
}

// activityType turns the suffix of an activity type, such as
// scheduledForPayment, into its GraphQL ActivityType,
// COLLECTIVE_EXPENSE_SCHEDULED_FOR_PAYMENT.
func activityType(kind string) string {
	var b strings.Builder
	b.WriteString("COLLECTIVE_EXPENSE_")
	for _, r := range kind {
		switch {
		case r == '.':
			b.WriteByte('_')
		case unicode.IsUpper(r):
			b.WriteByte('_')
			b.WriteRune(r)
		default:
			b.WriteRune(unicode.ToUpper(r))
		}
	}
	return b.String()
}
