package opencollectivefake

import (
	"fmt"
	"strings"
)

// queryRoot answers the queries Metagov sends: collective, account,
// expense and conversation.
func (s *session) queryRoot() obj {
	f := s.f
	return obj{
		"collective": resolver(func(args map[string]any) (any, error) {
			for _, a := range f.accounts {
				if a.kind == "COLLECTIVE" && (args["slug"] == a.slug || args["id"] == a.id) {
					return s.account(a), nil
				}
			}
			if args["throwIfMissing"] == false {
				return nil, nil
			}
			return nil, &gqlError{Message: "Collective Not Found", Code: "NotFound"}
		}),
		"account": resolver(func(args map[string]any) (any, error) {
			if a := f.accountByRef(args); a != nil {
				return s.account(a), nil
			}
			if args["throwIfMissing"] == false {
				return nil, nil
			}
			return nil, &gqlError{Message: "Account Not Found", Code: "NotFound"}
		}),
		"expense": resolver(func(args map[string]any) (any, error) {
			ref, _ := args["expense"].(map[string]any)
			if ref == nil {
				ref = map[string]any{"id": args["id"]}
			}
			return s.expense(f.expenseByRef(ref)), nil
		}),
		"conversation": resolver(func(args map[string]any) (any, error) {
			return s.conversation(f.conversationByID(args["id"])), nil
		}),
	}
}

// loggedIn is the API's answer to an anonymous mutation.
func (s *session) loggedIn(what string) error {
	if s.viewer == nil {
		return &gqlError{Message: "You need to be logged in to " + what + ".", Code: "Unauthorized"}
	}
	return nil
}

// mutationRoot answers the mutations Metagov sends.
func (s *session) mutationRoot() obj {
	f := s.f
	return obj{
		"createConversation": resolver(func(args map[string]any) (any, error) {
			if err := s.loggedIn("create a conversation"); err != nil {
				return nil, err
			}
			ref, _ := args["account"].(map[string]any)
			if ref == nil && args["CollectiveId"] != nil {
				ref = map[string]any{"id": args["CollectiveId"]}
			}
			a := f.accountByRef(ref)
			if a == nil {
				return nil, &gqlError{Message: "Account not found", Code: "NotFound"}
			}
			html, _ := args["html"].(string)
			if strings.TrimSpace(html) == "" {
				return nil, &gqlError{Message: "Comment is empty", Code: "BadRequest"}
			}
			f.seq++
			title, _ := args["title"].(string)
			c := &conversation{id: fmt.Sprintf("conv_%08d", f.seq), slug: slugify(title), title: title,
				tags: stringList(args["tags"]), account: a, from: s.viewer, createdAt: f.now(), updatedAt: f.now(),
				body: f.newComment(html, s.viewer)}
			f.conversations = append(f.conversations, c)
			return s.conversation(c), nil
		}),
		"editConversation": resolver(func(args map[string]any) (any, error) {
			if err := s.loggedIn("edit a conversation"); err != nil {
				return nil, err
			}
			c := f.conversationByID(args["id"])
			if c == nil {
				return nil, &gqlError{Message: "Conversation not found", Code: "NotFound"}
			}
			if c.from != s.viewer && !c.account.isAdmin(s.viewer) {
				return nil, &gqlError{Message: "You are authenticated but forbidden to perform this action", Code: "Forbidden"}
			}
			c.title, _ = args["title"].(string)
			if tags, ok := args["tags"]; ok && tags != nil {
				c.tags = stringList(tags)
			}
			c.updatedAt = f.now()
			return s.conversation(c), nil
		}),
		"createComment": resolver(func(args map[string]any) (any, error) {
			if err := s.loggedIn("post a comment"); err != nil {
				return nil, err
			}
			return s.createComment(args)
		}),
		"processExpense": resolver(func(args map[string]any) (any, error) {
			if err := s.loggedIn("process an expense"); err != nil {
				return nil, err
			}
			ref, _ := args["expense"].(map[string]any)
			e := f.expenseByRef(ref)
			if e == nil {
				return nil, &gqlError{Message: "Expense not found", Code: "NotFound"}
			}
			if e.account.isAdmin(s.viewer) { // 2FA is enforced for the expense's admins only
				if err := s.enforceTwoFactor(); err != nil {
					return nil, err
				}
			}
			action, _ := args["action"].(string)
			if _, err := f.transition(e, action, s.viewer); err != nil {
				return nil, err
			}
			return s.expense(e), nil
		}),
		"createWebhook": resolver(func(args map[string]any) (any, error) {
			if err := s.loggedIn("create a webhook"); err != nil {
				return nil, err
			}
			in, _ := args["webhook"].(map[string]any)
			ref, _ := in["account"].(map[string]any)
			a := f.accountByRef(ref)
			if a == nil {
				return nil, &gqlError{Message: "Account not found", Code: "NotFound"}
			}
			if !a.isAdmin(s.viewer) {
				return nil, &gqlError{Message: "You don't have sufficient permissions to create a webhook on this account.", Code: "Forbidden"}
			}
			if err := s.enforceTwoFactor(); err != nil {
				return nil, err
			}
			u, _ := in["webhookUrl"].(string)
			if err := f.checkWebhookURL(strings.TrimSpace(u)); err != nil {
				return nil, err
			}
			f.seq++
			w := &webhook{legacyID: f.seq, id: fmt.Sprintf("not_%08d", f.seq), account: a}
			w.activityType, _ = in["activityType"].(string)
			w.url = strings.TrimSpace(u)
			f.webhooks = append(f.webhooks, w)
			return s.webhook(w), nil
		}),
		"deleteWebhook": resolver(func(args map[string]any) (any, error) {
			if err := s.loggedIn("delete a webhook"); err != nil {
				return nil, err
			}
			// As WebhookMutations.ts: an unknown webhook is NotFound; one of
			// an account the caller does not administer is Forbidden. Two-factor
			// authentication is only asked on login (onlyAskOnLogin), so a
			// token is not refused for it here, unlike in createWebhook.
			ref, _ := args["webhook"].(map[string]any)
			for i, w := range f.webhooks {
				if ref["id"] == w.id || (ref["legacyId"] != nil && toInt(ref["legacyId"]) == w.legacyID) {
					if !w.account.isAdmin(s.viewer) {
						return nil, &gqlError{Message: "You don't have sufficient permissions to delete this webhook", Code: "Forbidden"}
					}
					f.webhooks = append(f.webhooks[:i], f.webhooks[i+1:]...)
					return s.webhook(w), nil
				}
			}
			return nil, &gqlError{Message: "Webhook not found", Code: "NotFound"}
		}),
	}
}

// createComment comments on a conversation or an expense.
func (s *session) createComment(args map[string]any) (any, error) {
	f := s.f
	in, _ := args["comment"].(map[string]any)
	html, _ := in["html"].(string)
	if strings.TrimSpace(html) == "" {
		return nil, &gqlError{Message: "Comment is empty", Code: "BadRequest"}
	}
	c := f.newComment(html, s.viewer)
	convRef, _ := in["conversation"].(map[string]any)
	if convRef == nil && in["ConversationId"] != nil {
		convRef = map[string]any{"id": in["ConversationId"]}
	}
	expRef, _ := in["expense"].(map[string]any)
	switch {
	case convRef != nil:
		conv := f.conversationByID(convRef["id"])
		if conv == nil {
			return nil, &gqlError{Message: "Conversation not found", Code: "NotFound"}
		}
		conv.comments = append(conv.comments, c)
	case expRef != nil:
		e := f.expenseByRef(expRef)
		if e == nil {
			return nil, &gqlError{Message: "Expense not found", Code: "NotFound"}
		}
		e.comments = append(e.comments, c)
	default:
		return nil, &gqlError{Message: "A comment must be linked to a conversation, an expense, an update or an order", Code: "BadRequest"}
	}
	return s.comment(c), nil
}

// stringList reads a [String] argument.
func stringList(v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, x := range list {
		if str, ok := x.(string); ok {
			out = append(out, str)
		}
	}
	return out
}
