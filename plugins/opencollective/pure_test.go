package opencollective

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/plugin"
)

func TestParseActivity(t *testing.T) {
	t.Parallel()
	ids := map[int64]bool{101: true, 102: true}
	tests := []struct {
		name     string
		body     string
		want     expenseHook
		ignored  string // a fragment of the reason, when ignored
		inputErr bool
	}{
		{name: "expense of the collective", body: `{"type":"collective.expense.created","CollectiveId":101,"createdAt":"2026-01-02T03:04:05.678Z","data":{"expense":{"id":7,"idV2":"ex_1"}}}`,
			want: expenseHook{Kind: "created", ExpenseID: 7, CreatedAt: "2026-01-02T03:04:05.678Z"}},
		{name: "expense of a project", body: `{"type":"collective.expense.scheduledForPayment","CollectiveId":102,"data":{"expense":{"id":8}}}`,
			want: expenseHook{Kind: "scheduledForPayment", ExpenseID: 8}},
		{name: "other collective", body: `{"type":"collective.expense.created","CollectiveId":999,"data":{"expense":{"id":7}}}`, ignored: "collective 999"},
		{name: "no collective", body: `{"type":"collective.expense.created","data":{"expense":{"id":7}}}`, ignored: "collective 0"},
		{name: "not an expense", body: `{"type":"collective.update.published","CollectiveId":101,"data":{}}`, ignored: "not about an expense"},
		{name: "bare prefix", body: `{"type":"collective.expense.","CollectiveId":101,"data":{"expense":{"id":7}}}`, ignored: "not about an expense"},
		{name: "no expense", body: `{"type":"collective.expense.paid","CollectiveId":101,"data":{}}`, ignored: "names no expense"},
		{name: "not json", body: `{"type":`, inputErr: true},
		{name: "id of the wrong type", body: `{"type":"collective.expense.paid","CollectiveId":"101"}`, inputErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, reason, err := parseActivity([]byte(tt.body), ids)
			if tt.inputErr {
				var inputErr *plugin.InputError
				require.ErrorAs(t, err, &inputErr)
				return
			}
			require.NoError(t, err)
			if tt.ignored != "" {
				require.Contains(t, reason, tt.ignored)
				return
			}
			require.Empty(t, reason)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestCountVotes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		reactions map[string]int
		want      voteCount
	}{
		{name: "none", reactions: nil, want: voteCount{}},
		{name: "with variation selector", reactions: map[string]int{"\U0001F44D\uFE0F": 2, "\U0001F44E\uFE0F": 1}, want: voteCount{Yes: 2, No: 1}},
		{name: "bare", reactions: map[string]int{"\U0001F44D": 3, "\U0001F44E": 4}, want: voteCount{Yes: 3, No: 4}},
		{name: "both forms add up, others ignored", reactions: map[string]int{"\U0001F44D": 1, "\U0001F44D\uFE0F": 1, "\U0001F389": 9, "\u2764\uFE0F": 2}, want: voteCount{Yes: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, countVotes(tt.reactions))
		})
	}
}

func TestInitiator(t *testing.T) {
	t.Parallel()
	const at = "2026-01-02T03:04:05.678Z"
	var e expense
	require.NoError(t, json.Unmarshal([]byte(`{
		"legacyId": 7,
		"createdByAccount": {"slug": "bob"},
		"activities": [
			{"type": "COLLECTIVE_EXPENSE_CREATED", "createdAt": "`+at+`", "individual": {"slug": "bob"}},
			{"type": "COLLECTIVE_EXPENSE_APPROVED", "createdAt": "`+at+`", "individual": {"slug": "alice"}},
			{"type": "COLLECTIVE_EXPENSE_UNAPPROVED", "createdAt": "2026-01-03T00:00:00Z", "individual": {"slug": "carol"}},
			{"type": "COLLECTIVE_EXPENSE_APPROVED", "createdAt": "2026-01-04T00:00:00.000Z", "individual": {"slug": "dave"}}
		]
	}`), &e))
	tests := []struct {
		name, kind, createdAt, want string
	}{
		{name: "created is the author", kind: "created", createdAt: "", want: "bob"},
		{name: "same type and time", kind: "approved", createdAt: at, want: "alice"},
		{name: "same time, other format", kind: "approved", createdAt: "2026-01-04T00:00:00Z", want: "dave"},
		{name: "latest of the type", kind: "approved", createdAt: "2030-01-01T00:00:00Z", want: "dave"},
		{name: "time only", kind: "paid", createdAt: "2026-01-03T00:00:00.000Z", want: "carol"},
		{name: "unknown", kind: "paid", createdAt: "2030-01-01T00:00:00Z", want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := e.initiator(tt.kind, tt.createdAt)
			if tt.want == "" {
				require.Nil(t, got)
				return
			}
			require.Equal(t, &plugin.Initiator{UserID: tt.want, Provider: name}, got)
		})
	}
}

func TestActivityType(t *testing.T) {
	t.Parallel()
	for kind, want := range map[string]string{
		"approved":            "COLLECTIVE_EXPENSE_APPROVED",
		"scheduledForPayment": "COLLECTIVE_EXPENSE_SCHEDULED_FOR_PAYMENT",
		"invite.drafted":      "COLLECTIVE_EXPENSE_INVITE_DRAFTED",
	} {
		require.Equal(t, want, activityType(kind), kind)
	}
}

func TestExpenseRef(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		raw  string
		want map[string]any
	}{
		{name: "graphql id", raw: `"ex_123"`, want: map[string]any{"id": "ex_123"}},
		{name: "legacy id", raw: `42`, want: map[string]any{"legacyId": int64(42)}},
		{name: "fraction", raw: `4.2`},
		{name: "object", raw: `{}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := expenseRef(json.RawMessage(tt.raw))
			if tt.want == nil {
				var inputErr *plugin.InputError
				require.ErrorAs(t, err, &inputErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

// TestWebhookURLProblem checks the URL rules the plugin applies before
// asking Open Collective, the syntax ones of Open Collective's own check.
func TestWebhookURLProblem(t *testing.T) {
	t.Parallel()
	tests := []struct {
		url  string
		want string // a fragment of the problem; empty: acceptable
	}{
		{url: "https://metagov.example/api/hooks/c/opencollective/s"},
		{url: "http://gateway.example.org:8080/x"},
		{url: "https://gw.xn--p1ai/x"},
		{url: "https://Metagov.Example/x"},
		{url: "https://münchen.de/x"},
		{url: "http://127.0.0.1:8000/x", want: "IP addresses"},
		{url: "http://[::1]/x", want: "IP addresses"},
		{url: "http://0.0.0.0:8000/x", want: "IP addresses"},
		{url: "http://localhost:8000/x", want: "not allowed"},
		{url: "http://api.localhost/x", want: "not allowed"},
		{url: "https://box.local/x", want: "not allowed"},
		{url: "https://svc.cluster.internal/x", want: "not allowed"},
		{url: "http://metagov:8000/x", want: "not a public domain name"},
		{url: "https://metagov.example./x", want: "not a public domain name"},
		{url: "https://metagov.x/x", want: "not a public domain name"},
		{url: "https://metagov.123/x", want: "not a public domain name"},
		{url: "https://-meta.example/x", want: "not a public domain name"},
		{url: "https://meta_gov.example/x", want: "not a public domain name"},
		{url: "https://hooks.opencollective.com/x", want: "Open Collective URLs"},
		{url: "ftp://metagov.example/x", want: "http or https"},
		{url: "/api/hooks/x", want: "not a valid URL"},
	}
	for _, tt := range tests {
		got := webhookURLProblem(tt.url)
		if tt.want == "" {
			require.Empty(t, got, tt.url)
		} else {
			require.Contains(t, got, tt.want, tt.url)
		}
	}
}
