package opencollectivefake

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// account is a collective, a project or an individual.
type account struct {
	legacyID int
	id       string
	slug     string
	name     string
	kind     string // AccountType: COLLECTIVE, PROJECT, INDIVIDUAL
	parent   *account
	members  []member
}

type member struct {
	role    string
	account *account
	since   time.Time
}

// isAdmin reports whether who administers a (an admin of a project's parent
// administers the project).
func (a *account) isAdmin(who *account) bool {
	if who == nil {
		return false
	}
	for _, m := range a.members {
		if m.role == "ADMIN" && m.account == who {
			return true
		}
	}
	return a.parent != nil && a.parent.isAdmin(who)
}

type comment struct {
	id        string
	html      string
	createdAt time.Time
	from      *account
	reactions map[string]int
}

type conversation struct {
	id, slug, title string
	tags            []string
	account, from   *account
	createdAt       time.Time
	updatedAt       time.Time
	body            *comment
	comments        []*comment // replies, after the body
}

type expense struct {
	legacyID    int
	id          string
	description string
	amount      int
	status      string
	account     *account
	payee       *account
	createdAt   time.Time
	activities  []*activity
	comments    []*comment
}

type activity struct {
	legacyID   int
	typ        string // as in webhooks: collective.expense.approved
	account    *account
	individual *account
	expense    *expense
	createdAt  time.Time
}

type webhook struct {
	legacyID     int
	id           string
	account      *account
	activityType string
	url          string
}

// seed fills a fresh fake: the collective with a project, another
// collective, and people. The bot (the tokens' owner) and alice administer
// the collective.
func (f *Fake) seed() {
	f.bot = f.addAccount("governance-bot", "Governance Bot", "INDIVIDUAL", nil)
	alice := f.addAccount("alice", "Alice", "INDIVIDUAL", nil)
	bob := f.addAccount("bob", "Bob", "INDIVIDUAL", nil)
	col := f.addAccount(CollectiveSlug, "Metagov", "COLLECTIVE", nil)
	f.addAccount(ProjectSlug, "Metagov Tools", "PROJECT", col)
	other := f.addAccount(OtherCollectiveSlug, "Elsewhere", "COLLECTIVE", nil)
	col.members = []member{{"ADMIN", f.bot, f.now()}, {"ADMIN", alice, f.now()}, {"BACKER", alice, f.now()}, {"BACKER", bob, f.now()}}
	other.members = []member{{"ADMIN", bob, f.now()}}
}

func (f *Fake) addAccount(slug, name, kind string, parent *account) *account {
	f.seq++
	a := &account{legacyID: 100 + f.seq, id: fmt.Sprintf("acc_%08d", 100+f.seq), slug: slug, name: name, kind: kind, parent: parent}
	f.accounts = append(f.accounts, a)
	return a
}

// now is the fake's clock, in milliseconds like Open Collective's dates.
func (f *Fake) now() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }

func (f *Fake) accountBySlug(slug string) *account {
	for _, a := range f.accounts {
		if a.slug == slug {
			return a
		}
	}
	return nil
}

// accountByRef finds an account by an AccountReferenceInput.
func (f *Fake) accountByRef(ref map[string]any) *account {
	for _, a := range f.accounts {
		if ref["id"] == a.id || ref["slug"] == a.slug || (ref["legacyId"] != nil && toInt(ref["legacyId"]) == a.legacyID) {
			return a
		}
	}
	return nil
}

// expenseByRef finds an expense by an ExpenseReferenceInput.
func (f *Fake) expenseByRef(ref map[string]any) *expense {
	for _, e := range f.expenses {
		if ref["id"] == e.id || (ref["legacyId"] != nil && toInt(ref["legacyId"]) == e.legacyID) {
			return e
		}
	}
	return nil
}

func (f *Fake) conversationByID(id any) *conversation {
	for _, c := range f.conversations {
		if c.id == id {
			return c
		}
	}
	return nil
}

func (f *Fake) newComment(html string, from *account) *comment {
	f.seq++
	return &comment{id: fmt.Sprintf("cmt_%08d", f.seq), html: html, createdAt: f.now(), from: from, reactions: map[string]int{}}
}

// record adds an activity to an expense's history.
func (f *Fake) record(e *expense, typ string, by *account) *activity {
	f.seq++
	a := &activity{legacyID: 5000 + f.seq, typ: typ, account: e.account, individual: by, expense: e, createdAt: f.now()}
	e.activities = append(e.activities, a)
	return a
}

// transitions are the ExpenseProcessActions Metagov uses, as Open
// Collective's expense state machine applies them.
var transitions = map[string]struct{ from, to, activity string }{
	"APPROVE":   {"PENDING", "APPROVED", "collective.expense.approved"},
	"UNAPPROVE": {"APPROVED", "PENDING", "collective.expense.unapproved"},
	"REJECT":    {"PENDING", "REJECTED", "collective.expense.rejected"},
}

// transition applies an action on behalf of by and records its activity.
func (f *Fake) transition(e *expense, action string, by *account) (*activity, error) {
	t, ok := transitions[action]
	if !ok {
		return nil, &gqlError{Message: fmt.Sprintf("Action %s is not supported by the fake", action), Code: "BadRequest"}
	}
	if !e.account.isAdmin(by) {
		return nil, &gqlError{Message: "You are authenticated but forbidden to perform this action", Code: "Forbidden"}
	}
	if e.status != t.from {
		return nil, &gqlError{Message: fmt.Sprintf("Expense is %s: it cannot be processed with %s", e.status, action), Code: "Forbidden"}
	}
	e.status = t.to
	return f.record(e, t.activity, by), nil
}

var nonSlug = regexp.MustCompile(`[^a-z0-9]+`)

// slugify makes a conversation slug from its title.
func slugify(title string) string {
	s := strings.Trim(nonSlug.ReplaceAllString(strings.ToLower(title), "-"), "-")
	if s == "" {
		return "conversation"
	}
	return s
}

// toInt reads an Int argument, which arrives as an int64 from a literal and
// as a float64 or int from JSON variables.
func toInt(v any) int {
	switch n := v.(type) {
	case int:
		return n
	case int64:
		return int(n)
	case float64:
		return int(n)
	}
	return 0
}
