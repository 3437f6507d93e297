package opencollective

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/metagov/metagov-go/plugin"
)

// actions are the original's four actions, with its names and descriptions
// (Appendix A of the catalog), inputs of both its generations and outputs.
var actions = []plugin.Action{
	{
		Name:        "list-members",
		Description: "list members of the collective",
		Output:      listMembersOutputSchema,
		Run:         plugin.Bind((*OpenCollective).listMembers),
	},
	{
		Name:        "create-conversation",
		Description: "Start a new conversation on Open Collective",
		Input:       createConversationInputSchema,
		Output:      withURLSchema,
		Run:         plugin.Bind((*OpenCollective).createConversation),
	},
	{
		Name:        "create-comment",
		Description: "Add a comment to a conversation or expense on Open Collective",
		Input:       createCommentInputSchema,
		Output:      commentOutputSchema,
		Run:         plugin.Bind((*OpenCollective).createComment),
	},
	{
		Name:        "process-expense",
		Description: "Approve, unapprove, or reject expense",
		Input:       processExpenseInputSchema,
		Output:      withURLSchema,
		Run:         plugin.Bind((*OpenCollective).processExpense),
	},
}

// account is one member account in the list-members result.
type account struct {
	ID            string   `json:"id"`
	Slug          string   `json:"slug"`
	Name          *string  `json:"name"`
	Type          string   `json:"type"`
	TwitterHandle *string  `json:"twitterHandle"`
	GithubHandle  *string  `json:"githubHandle"`
	IsArchived    bool     `json:"isArchived"`
	IsActive      *bool    `json:"isActive"`
	IsHost        bool     `json:"isHost"`
	IsAdmin       bool     `json:"isAdmin"`
	Roles         []string `json:"roles"`
}

type listMembersOutput struct {
	Accounts []*account `json:"accounts"`
}

// listMembers lists the accounts that are members of the collective (up to
// 100 memberships), once each with all their roles; the original listed the
// first 10 memberships.
func (oc *OpenCollective) listMembers(ctx context.Context, _ *plugin.Call, _ struct{}) (listMembersOutput, error) {
	var data struct {
		Collective *struct {
			Members struct {
				Nodes []struct {
					Role    string   `json:"role"`
					Account *account `json:"account"`
				} `json:"nodes"`
			} `json:"members"`
		} `json:"collective"`
	}
	if err := oc.client.do(ctx, "listing members", membersQuery, map[string]any{"slug": oc.cfg.CollectiveSlug}, &data); err != nil {
		return listMembersOutput{}, err
	}
	out := listMembersOutput{Accounts: []*account{}}
	if data.Collective == nil {
		return out, nil
	}
	byID := map[string]*account{}
	for _, m := range data.Collective.Members.Nodes {
		if m.Account == nil {
			continue
		}
		a, seen := byID[m.Account.ID]
		if !seen {
			a = m.Account
			a.Roles = []string{}
			byID[a.ID] = a
			out.Accounts = append(out.Accounts, a)
		}
		a.Roles = append(a.Roles, m.Role)
	}
	return out, nil
}

type createConversationInput struct {
	Raw   string   `json:"raw"`
	Title string   `json:"title"`
	Tags  []string `json:"tags"`
}

// createConversation starts a conversation in the collective; raw is its
// HTML body. The result is the conversation with its url.
func (oc *OpenCollective) createConversation(ctx context.Context, _ *plugin.Call, in createConversationInput) (map[string]any, error) {
	conv, err := oc.startConversation(ctx, in.Title, in.Raw, in.Tags)
	if err != nil {
		return nil, err
	}
	return conv.fields, nil
}

type createCommentInput struct {
	Raw            string          `json:"raw"`
	ConversationID string          `json:"conversation_id"`
	ExpenseID      json.RawMessage `json:"expense_id"`
}

// createComment comments on a conversation or on an expense; exactly one of
// the two must be named.
func (oc *OpenCollective) createComment(ctx context.Context, _ *plugin.Call, in createCommentInput) (map[string]any, error) {
	comment := map[string]any{"html": in.Raw}
	switch hasExpense := len(in.ExpenseID) > 0 && string(in.ExpenseID) != "null"; {
	case in.ConversationID != "" && hasExpense:
		return nil, &plugin.InputError{Field: "/expense_id", Message: "give either conversation_id or expense_id, not both"}
	case in.ConversationID != "":
		comment["conversation"] = map[string]any{"id": in.ConversationID}
	case hasExpense:
		ref, err := expenseRef(in.ExpenseID)
		if err != nil {
			return nil, err
		}
		comment["expense"] = ref
	default:
		return nil, &plugin.InputError{Field: "/conversation_id", Message: "conversation_id or expense_id is required"}
	}
	return oc.comment(ctx, comment)
}

// comment posts a comment and returns its fields.
func (oc *OpenCollective) comment(ctx context.Context, comment map[string]any) (map[string]any, error) {
	var data struct {
		CreateComment map[string]any `json:"createComment"`
	}
	if err := oc.client.do(ctx, "creating comment", createCommentMutation, map[string]any{"comment": comment}, &data); err != nil {
		return nil, err
	}
	if data.CreateComment == nil {
		return nil, &plugin.PlatformError{Platform: name, Message: "createComment returned no comment"}
	}
	return data.CreateComment, nil
}

type processExpenseInput struct {
	ExpenseID json.RawMessage `json:"expense_id"`
	Action    string          `json:"action"`
}

// processExpense approves, unapproves or rejects an expense and returns it
// with its url. The input schema limits action to those three, which the
// original did not check.
func (oc *OpenCollective) processExpense(ctx context.Context, _ *plugin.Call, in processExpenseInput) (map[string]any, error) {
	ref, err := expenseRef(in.ExpenseID)
	if err != nil {
		return nil, err
	}
	var data struct {
		ProcessExpense *expense `json:"processExpense"`
	}
	vars := map[string]any{"expense": ref, "action": in.Action}
	if err := oc.client.do(ctx, "processing expense", processExpenseMutation, vars, &data); err != nil {
		return nil, err
	}
	if data.ProcessExpense == nil {
		return nil, &plugin.PlatformError{Platform: name, Message: "processExpense returned no expense"}
	}
	return oc.expenseWithURL(data.ProcessExpense), nil
}

// expenseRef turns an expense_id into an ExpenseReferenceInput: a string is
// the GraphQL id, an integer the legacy id (what webhooks and URLs show).
func expenseRef(raw json.RawMessage) (map[string]any, error) {
	var id string
	if err := json.Unmarshal(raw, &id); err == nil {
		return map[string]any{"id": id}, nil
	}
	legacy, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil {
		return nil, &plugin.InputError{Field: "/expense_id", Message: fmt.Sprintf("expense_id must be a string id or an integer legacy id, not %s", raw)}
	}
	return map[string]any{"legacyId": legacy}, nil
}
