package opencollectivefake

import (
	"fmt"
)

// Activity is something that happened to an expense, as a webhook reports
// it. Send it with Deliver or build its body with WebhookBody.
type Activity struct {
	// Type is the webhook type, such as collective.expense.approved.
	Type string
	// CollectiveID is the legacy id of the expense's account.
	CollectiveID int
	// ExpenseLegacyID and ExpenseID identify the expense.
	ExpenseLegacyID int
	ExpenseID       string
	// CreatedAt is the activity's time as the API renders it.
	CreatedAt string
	// By is the slug of the individual who acted.
	By string
	id int
}

func (a *activity) id() string { return fmt.Sprintf("act_%08d", a.legacyID) }

func (a *activity) export() Activity {
	return Activity{Type: a.typ, CollectiveID: a.account.legacyID, ExpenseLegacyID: a.expense.legacyID,
		ExpenseID: a.expense.id, CreatedAt: date(a.createdAt), By: a.individual.slug, id: a.legacyID}
}

// Conversation is a conversation's current state.
type Conversation struct {
	ID, Slug, Title, HTML string
	Tags                  []string
	AccountSlug           string
	Reactions             map[string]int
	// Comments are the HTML of the replies, in order.
	Comments []string
}

// Webhook is a registered webhook.
type Webhook struct {
	ID, AccountSlug, ActivityType, URL string
}

// Account returns the legacy id and GraphQL id of an account.
func (f *Fake) Account(slug string) (legacyID int, id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if a := f.accountBySlug(slug); a != nil {
		return a.legacyID, a.id
	}
	return 0, ""
}

// CreateExpense files a pending expense of amount cents on the account (a
// collective or a project) on behalf of the individual by, and returns its
// collective.expense.created activity.
func (f *Fake) CreateExpense(accountSlug, by, description string, amount int) Activity {
	f.mu.Lock()
	defer f.mu.Unlock()
	a, payee := f.accountBySlug(accountSlug), f.accountBySlug(by)
	if a == nil || payee == nil {
		panic(fmt.Sprintf("opencollectivefake: no account %q or %q", accountSlug, by))
	}
	f.seq++
	e := &expense{legacyID: 1000 + f.seq, id: fmt.Sprintf("ex_%08d", 1000+f.seq), description: description,
		amount: amount, status: "PENDING", account: a, payee: payee, createdAt: f.now()}
	f.expenses = append(f.expenses, e)
	return f.record(e, "collective.expense.created", payee).export()
}

// ProcessExpense applies APPROVE, UNAPPROVE or REJECT to an expense on
// behalf of the individual by, as an admin would on the website, and
// returns the resulting activity.
func (f *Fake) ProcessExpense(legacyID int, action, by string) (Activity, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	e := f.expenseByRef(map[string]any{"legacyId": legacyID})
	if e == nil {
		return Activity{}, fmt.Errorf("no expense %d", legacyID)
	}
	a, err := f.transition(e, action, f.accountBySlug(by))
	if err != nil {
		return Activity{}, err
	}
	return a.export(), nil
}

// ExpenseStatus returns an expense's status, such as APPROVED.
func (f *Fake) ExpenseStatus(legacyID int) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if e := f.expenseByRef(map[string]any{"legacyId": legacyID}); e != nil {
		return e.status
	}
	return ""
}

// ExpenseComments returns the HTML of an expense's comments.
func (f *Fake) ExpenseComments(legacyID int) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	if e := f.expenseByRef(map[string]any{"legacyId": legacyID}); e != nil {
		for _, c := range e.comments {
			out = append(out, c.html)
		}
	}
	return out
}

// React adds n reactions emoji to a conversation's opening comment, as n
// people clicking it would.
func (f *Fake) React(conversationID, emoji string, n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.conversationByID(conversationID)
	if c == nil {
		panic("opencollectivefake: no conversation " + conversationID)
	}
	c.body.reactions[emoji] += n
}

// Conversations returns every conversation, oldest first.
func (f *Fake) Conversations() []Conversation {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]Conversation, 0, len(f.conversations))
	for _, c := range f.conversations {
		conv := Conversation{ID: c.id, Slug: c.slug, Title: c.title, HTML: c.body.html, Tags: c.tags,
			AccountSlug: c.account.slug, Reactions: map[string]int{}}
		for k, v := range c.body.reactions {
			conv.Reactions[k] = v
		}
		for _, r := range c.comments {
			conv.Comments = append(conv.Comments, r.html)
		}
		out = append(out, conv)
	}
	return out
}

// Webhooks returns the registered webhooks.
func (f *Fake) Webhooks() []Webhook {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]Webhook, 0, len(f.webhooks))
	for _, w := range f.webhooks {
		out = append(out, Webhook{ID: w.id, AccountSlug: w.account.slug, ActivityType: w.activityType, URL: w.url})
	}
	return out
}
