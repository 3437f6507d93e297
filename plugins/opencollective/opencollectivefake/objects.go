package opencollectivefake

import (
	"fmt"
	"strings"
	"time"
)

// session is one request's view of the fake: who asks decides fields such
// as isAdmin and what may be changed.
type session struct {
	f      *Fake
	viewer *account
	// tokenKind is "personal" or "OAuth": how the viewer authenticated.
	tokenKind string
}

// typenames maps AccountType to the GraphQL object type.
var typenames = map[string]string{"COLLECTIVE": "Collective", "PROJECT": "Project", "INDIVIDUAL": "Individual"}

func date(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func (s *session) account(a *account) any {
	if a == nil {
		return nil
	}
	o := obj{
		"__typename": typenames[a.kind], "id": a.id, "publicId": a.id, "legacyId": a.legacyID,
		"slug": a.slug, "name": a.name, "type": a.kind, "currency": "USD",
		"isArchived": false, "isActive": a.kind != "INDIVIDUAL", "isHost": false, "isAdmin": a.isAdmin(s.viewer),
		"isIncognito": false, "isPrivate": false, "isVerified": false, "isFrozen": false, "isSuspended": false,
		"socialLinks": []obj{}, "tags": []string{},
		"members": resolver(func(args map[string]any) (any, error) { return s.members(a, args), nil }),
		"childrenAccounts": resolver(func(args map[string]any) (any, error) {
			var nodes []obj
			for _, c := range s.f.accounts {
				if c.parent == a && matches(args["accountType"], c.kind) {
					nodes = append(nodes, s.account(c).(obj))
				}
			}
			return page(nodes, args), nil
		}),
	}
	if a.parent != nil {
		o["parent"] = s.account(a.parent)
	}
	return o
}

// members lists an account's memberships, filtered like the API's members
// field by role and account type.
func (s *session) members(a *account, args map[string]any) obj {
	var nodes []obj
	for i, m := range a.members {
		if !matches(args["role"], m.role) || !matches(args["accountType"], m.account.kind) {
			continue
		}
		nodes = append(nodes, obj{
			"__typename": "Member", "id": fmt.Sprintf("%s-member-%d", a.id, i), "role": m.role,
			"since": date(m.since), "createdAt": date(m.since), "updatedAt": date(m.since),
			"isActive": true, "inherited": false, "account": s.account(m.account),
			"totalDonations": obj{"value": 0.0, "currency": "USD", "valueInCents": 0.0},
		})
	}
	return page(nodes, args)
}

// matches applies an optional list filter argument.
func matches(filter any, v string) bool {
	list, ok := filter.([]any)
	if !ok || len(list) == 0 {
		return true
	}
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// page cuts a collection by its limit and offset arguments.
func page(nodes []obj, args map[string]any) obj {
	total := len(nodes)
	offset, limit := min(toInt(args["offset"]), total), toInt(args["limit"])
	end := total
	if limit > 0 && offset+limit < total {
		end = offset + limit
	}
	return obj{"offset": offset, "limit": limit, "totalCount": total, "nodes": append([]obj{}, nodes[offset:end]...)}
}

func (s *session) comment(c *comment) any {
	if c == nil {
		return nil
	}
	reactions := map[string]any{}
	for emoji, n := range c.reactions {
		if n > 0 {
			reactions[emoji] = n
		}
	}
	return obj{
		"__typename": "Comment", "id": c.id, "publicId": c.id, "createdAt": date(c.createdAt), "html": c.html,
		"type": "COMMENT", "fromAccount": s.account(c.from), "reactions": reactions, "userReactions": []string{},
	}
}

func (s *session) conversation(c *conversation) any {
	if c == nil {
		return nil
	}
	summary := c.body.html
	if len(summary) > 240 {
		summary = summary[:240]
	}
	return obj{
		"__typename": "Conversation", "id": c.id, "publicId": c.id, "slug": c.slug, "title": c.title,
		"createdAt": date(c.createdAt), "updatedAt": date(c.updatedAt), "tags": c.tags, "summary": summary,
		"account": s.account(c.account), "fromAccount": s.account(c.from), "body": s.comment(c.body),
		"stats": obj{"id": c.id, "commentsCount": len(c.comments)},
	}
}

func (s *session) expense(e *expense) any {
	if e == nil {
		return nil
	}
	activities := make([]obj, 0, len(e.activities))
	for _, a := range e.activities {
		activities = append(activities, obj{
			"__typename": "Activity", "id": a.id(), "publicId": a.id(), "createdAt": date(a.createdAt),
			"type": strings.ToUpper(strings.ReplaceAll(a.typ, ".", "_")), "isSystem": false,
			"individual": s.account(a.individual), "account": s.account(a.account),
			"data": map[string]any{"expense": map[string]any{"id": e.legacyID, "description": e.description}},
		})
	}
	created := date(e.createdAt)
	return obj{
		"__typename": "Expense", "id": e.id, "publicId": e.id, "legacyId": e.legacyID,
		"description": e.description, "longDescription": nil, "amount": e.amount, "currency": "USD",
		"amountV2": obj{"value": float64(e.amount) / 100, "currency": "USD", "valueInCents": float64(e.amount)},
		"type":     "RECEIPT", "status": e.status, "createdAt": created, "incurredAt": created, "tags": []string{},
		"account": s.account(e.account), "payee": s.account(e.payee), "createdByAccount": s.account(e.payee),
		"requestedByAccount": nil, "activities": activities,
		"items": []obj{{
			"__typename": "ExpenseItem", "id": e.id + "-item", "publicId": e.id + "-item", "amount": e.amount,
			"createdAt": created, "updatedAt": created, "incurredAt": created, "description": e.description, "url": nil,
		}},
	}
}

func (s *session) webhook(w *webhook) any {
	return obj{
		"__typename": "Webhook", "id": w.id, "publicId": w.id, "legacyId": w.legacyID,
		"activityType": w.activityType, "webhookUrl": w.url, "account": s.account(w.account),
	}
}
