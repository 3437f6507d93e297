package opencollectivefake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// WebhookBody is the JSON Open Collective POSTs for an activity: the
// activity sanitized for webhooks (createdAt, id, type, CollectiveId and,
// for an expense, data.expense with its legacy id as id and its GraphQL id
// as idV2). Open Collective does not sign it.
func (f *Fake) WebhookBody(a Activity) []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.webhookBody(a)
}

func (f *Fake) webhookBody(a Activity) []byte {
	data := map[string]any{}
	if e := f.expenseByRef(map[string]any{"legacyId": a.ExpenseLegacyID}); e != nil {
		info := func(acc *account) map[string]any {
			return map[string]any{"idV2": acc.id, "id": acc.legacyID, "type": acc.kind, "slug": acc.slug, "name": acc.name}
		}
		data["expense"] = map[string]any{"idV2": e.id, "id": e.legacyID, "description": e.description,
			"amount": e.amount, "currency": "USD", "formattedAmount": fmt.Sprintf("$%.2f", float64(e.amount)/100)}
		data["fromCollective"] = info(e.payee)
		data["collective"] = info(e.account)
	}
	body, _ := json.Marshal(map[string]any{
		"createdAt": a.CreatedAt, "id": a.id, "type": a.Type, "CollectiveId": a.CollectiveID, "data": data,
	})
	return body
}

// Deliver POSTs the activity to every webhook registered on its collective
// (or on the parent of its project) for it, and returns the answers'
// statuses. Webhook URLs are registered with the gateway's public URL,
// which a test server does not listen on, so the scheme and host are
// replaced with gatewayURL.
func (f *Fake) Deliver(gatewayURL string, a Activity) ([]int, error) {
	f.mu.Lock()
	var targets []string
	for _, w := range f.webhooks {
		if w.account.legacyID != a.CollectiveID && !f.isChild(a.CollectiveID, w.account) {
			continue
		}
		if w.activityType != "ACTIVITY_ALL" && w.activityType != strings.ToUpper(strings.ReplaceAll(a.Type, ".", "_")) {
			continue
		}
		targets = append(targets, w.url)
	}
	body := f.webhookBody(a)
	f.mu.Unlock()

	var statuses []int
	for _, target := range targets {
		u, err := url.Parse(target)
		if err != nil {
			return statuses, fmt.Errorf("parsing webhook url %q: %w", target, err)
		}
		resp, err := http.Post(strings.TrimRight(gatewayURL, "/")+u.RequestURI(), "application/json", bytes.NewReader(body))
		if err != nil {
			return statuses, fmt.Errorf("delivering webhook to %s: %w", target, err)
		}
		resp.Body.Close()
		statuses = append(statuses, resp.StatusCode)
	}
	return statuses, nil
}

// isChild reports whether the account with legacy id child is a project of
// parent.
func (f *Fake) isChild(child int, parent *account) bool {
	for _, a := range f.accounts {
		if a.legacyID == child {
			return a.parent == parent
		}
	}
	return false
}
