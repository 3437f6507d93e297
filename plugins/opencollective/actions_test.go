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

func TestListMembers(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		b := setup(t, db, app.Config{})
		r := b.act("list-members", map[string]any{})
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		roles := map[string][]any{}
		for _, a := range r.JSON(t)["accounts"].([]any) {
			account := a.(map[string]any)
			roles[account["slug"].(string)] = account["roles"].([]any)
			require.NotEmpty(t, account["id"])
			require.Equal(t, "INDIVIDUAL", account["type"])
		}
		require.Equal(t, map[string][]any{
			"governance-bot": {"ADMIN"},
			"alice":          {"ADMIN", "BACKER"},
			"bob":            {"BACKER"},
		}, roles)
		requireValidQueries(t, b.fake)
	})
}

func TestConversationsAndComments(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		b := setup(t, db, app.Config{})
		r := b.act("create-conversation", map[string]any{"raw": "<p>Shall we?</p>", "title": "Budget 2026", "tags": []string{"budget"}})
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		conv := r.JSON(t)
		convs := b.fake.Conversations()
		require.Len(t, convs, 1)
		require.Equal(t, convs[0].ID, conv["id"])
		require.Equal(t, "Budget 2026", conv["title"])
		require.Equal(t, []any{"budget"}, conv["tags"])
		require.Equal(t, fmt.Sprintf("%s/%s/conversations/budget-2026-%s", webURL, ocfake.CollectiveSlug, convs[0].ID), conv["url"])
		require.Equal(t, "<p>Shall we?</p>", convs[0].HTML)
		require.Equal(t, ocfake.CollectiveSlug, convs[0].AccountSlug)

		r = b.act("create-comment", map[string]any{"raw": "<p>Yes.</p>", "conversation_id": conv["id"]})
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		require.Equal(t, "<p>Yes.</p>", r.JSON(t)["html"])
		require.Equal(t, []string{"<p>Yes.</p>"}, b.fake.Conversations()[0].Comments)

		created := b.fake.CreateExpense(ocfake.CollectiveSlug, "bob", "Stickers", 1250)
		tests := []struct {
			name      string
			params    map[string]any
			status    int
			code      string
			fragments []string
		}{
			{name: "on an expense by legacy id", params: map[string]any{"raw": "by legacy id", "expense_id": created.ExpenseLegacyID}, status: http.StatusOK},
			{name: "on an expense by id", params: map[string]any{"raw": "by id", "expense_id": created.ExpenseID}, status: http.StatusOK},
			{name: "no target", params: map[string]any{"raw": "where?"}, status: http.StatusBadRequest, code: "invalid_input", fragments: []string{"conversation_id or expense_id"}},
			{name: "two targets", params: map[string]any{"raw": "both", "conversation_id": conv["id"], "expense_id": 1},
				status: http.StatusBadRequest, code: "invalid_input", fragments: []string{"not both"}},
			{name: "unknown conversation", params: map[string]any{"raw": "lost", "conversation_id": "conv_404"},
				status: http.StatusUnprocessableEntity, code: "platform_rejected", fragments: []string{"Conversation not found"}},
			{name: "empty comment", params: map[string]any{"raw": "", "conversation_id": conv["id"]}, status: http.StatusBadRequest, code: "invalid_input"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := b.act("create-comment", tt.params)
				if tt.status == http.StatusOK {
					require.Equal(t, http.StatusOK, r.Status, string(r.Body))
					require.NotEmpty(t, r.JSON(t)["id"])
					return
				}
				r.RequireError(t, tt.status, tt.code, tt.fragments...)
			})
		}
		require.Equal(t, []string{"by legacy id", "by id"}, b.fake.ExpenseComments(created.ExpenseLegacyID))
		requireValidQueries(t, b.fake)
	})
}

func TestProcessExpense(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		b := setup(t, db, app.Config{})
		ours := b.fake.CreateExpense(ocfake.CollectiveSlug, "bob", "Stickers", 1250)
		project := b.fake.CreateExpense(ocfake.ProjectSlug, "bob", "Hosting", 5000)
		theirs := b.fake.CreateExpense(ocfake.OtherCollectiveSlug, "alice", "Pizza", 3000)
		tests := []struct {
			name      string
			expenseID any
			action    string
			status    int
			code      string
			fragments []string
			want      string // the expense's status afterwards
			url       string
		}{
			{name: "approve", expenseID: ours.ExpenseLegacyID, action: "APPROVE", status: http.StatusOK, want: "APPROVED",
				url: fmt.Sprintf("%s/metagov/expenses/%d", webURL, ours.ExpenseLegacyID)},
			{name: "approve twice", expenseID: ours.ExpenseLegacyID, action: "APPROVE", status: http.StatusBadGateway,
				code: "platform_error", fragments: []string{"Expense is APPROVED"}, want: "APPROVED"},
			{name: "unapprove by id", expenseID: ours.ExpenseID, action: "UNAPPROVE", status: http.StatusOK, want: "PENDING",
				url: fmt.Sprintf("%s/metagov/expenses/%d", webURL, ours.ExpenseLegacyID)},
			{name: "reject a project's expense", expenseID: project.ExpenseLegacyID, action: "REJECT", status: http.StatusOK, want: "REJECTED",
				url: fmt.Sprintf("%s/metagov/projects/metagov-tools/expenses/%d", webURL, project.ExpenseLegacyID)},
			{name: "another collective's expense", expenseID: theirs.ExpenseLegacyID, action: "APPROVE", status: http.StatusBadGateway,
				code: "platform_error", fragments: []string{"forbidden"}, want: "PENDING"},
			{name: "unknown expense", expenseID: 999999, action: "APPROVE", status: http.StatusUnprocessableEntity,
				code: "platform_rejected", fragments: []string{"Expense not found"}, want: "PENDING"},
			{name: "action outside the enum", expenseID: ours.ExpenseLegacyID, action: "PAY", status: http.StatusBadRequest,
				code: "invalid_input", want: "PENDING"},
			{name: "expense id of the wrong type", expenseID: 1.5, action: "APPROVE", status: http.StatusBadRequest,
				code: "invalid_input", want: "PENDING"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := b.act("process-expense", map[string]any{"expense_id": tt.expenseID, "action": tt.action})
				legacyID := ours.ExpenseLegacyID
				if tt.url != "" || tt.status == http.StatusOK {
					require.Equal(t, http.StatusOK, r.Status, string(r.Body))
					out := r.JSON(t)
					require.Equal(t, tt.want, out["status"])
					require.Equal(t, tt.url, out["url"])
					legacyID = int(out["legacyId"].(float64))
				} else {
					r.RequireError(t, tt.status, tt.code, tt.fragments...)
					if tt.expenseID == theirs.ExpenseLegacyID {
						legacyID = theirs.ExpenseLegacyID
					}
				}
				require.Equal(t, tt.want, b.fake.ExpenseStatus(legacyID))
			})
		}
		requireValidQueries(t, b.fake)
	})
}

// TestPlatformErrors checks that each kind of platform failure reaches the
// driver as a 502 or 504 with the platform's own message, and a refusal of
// the input as a 422.
func TestPlatformErrors(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		b := setup(t, db, app.Config{PlatformTimeout: 200 * time.Millisecond})
		tests := []struct {
			name      string
			break_    func(f *ocfake.Fake)
			status    int
			code      string
			fragments []string
		}{
			{name: "graphql error", break_: func(f *ocfake.Fake) {
				f.FailField("createConversation", "RateLimitExceeded", "Rate limit exceeded for conversations")
			},
				status: http.StatusBadGateway, code: "platform_error", fragments: []string{"Rate limit exceeded for conversations"}},
			{name: "validation error", break_: func(f *ocfake.Fake) {
				f.FailField("createConversation", "ValidationFailed", "Title must be shorter than 255 characters")
			},
				status: http.StatusUnprocessableEntity, code: "platform_rejected", fragments: []string{"opencollective refused the input", "Title must be shorter than 255 characters"}},
			{name: "model validation error", break_: func(f *ocfake.Fake) {
				f.FailField("createConversation", "INTERNAL_SERVER_ERROR", "Validation error: tags must be at most 32 characters")
			}, status: http.StatusUnprocessableEntity, code: "platform_rejected", fragments: []string{"tags must be at most 32 characters"}},
			{name: "http error", break_: func(f *ocfake.Fake) { f.Fail(http.StatusServiceUnavailable, "down for maintenance") },
				status: http.StatusBadGateway, code: "platform_error", fragments: []string{"503", "down for maintenance"}},
			{name: "not json", break_: func(f *ocfake.Fake) { f.Fail(http.StatusOK, "<html>hello</html>") },
				status: http.StatusBadGateway, code: "platform_error", fragments: []string{"not GraphQL JSON"}},
			{name: "stall", break_: func(f *ocfake.Fake) { f.Stall(true) },
				status: http.StatusGatewayTimeout, code: "platform_timeout"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				tt.break_(b.fake)
				defer func() {
					b.fake.FailField("createConversation", "", "")
					b.fake.Fail(0, "")
					b.fake.Stall(false)
				}()
				r := b.act("create-conversation", map[string]any{"raw": "<p>x</p>", "title": "x"})
				r.RequireError(t, tt.status, tt.code, tt.fragments...)
			})
		}
		require.Empty(t, b.fake.Conversations())
		r := b.act("create-conversation", map[string]any{"raw": "<p>x</p>", "title": "x"})
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	})
}
