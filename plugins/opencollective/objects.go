package opencollective

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/metagov/metagov-go/plugin"
)

// expense is an expense as the API returns it: all its fields, passed on to
// the driver unchanged, and the few the plugin reads.
type expense struct {
	fields           map[string]any
	LegacyID         int64
	Account          *accountRef
	CreatedByAccount *accountRef
	Activities       []expenseActivity
}

// accountRef is the { id legacyId slug } of an account.
type accountRef struct {
	ID       string `json:"id"`
	LegacyID int64  `json:"legacyId"`
	Slug     string `json:"slug"`
}

// expenseActivity is one entry of an expense's history; its individual is
// who acted.
type expenseActivity struct {
	Type       string      `json:"type"`
	CreatedAt  string      `json:"createdAt"`
	Individual *accountRef `json:"individual"`
}

func (e *expense) UnmarshalJSON(b []byte) error {
	var typed struct {
		LegacyID         int64             `json:"legacyId"`
		Account          *accountRef       `json:"account"`
		CreatedByAccount *accountRef       `json:"createdByAccount"`
		Activities       []expenseActivity `json:"activities"`
	}
	if err := json.Unmarshal(b, &typed); err != nil {
		return err
	}
	if err := json.Unmarshal(b, &e.fields); err != nil {
		return err
	}
	e.LegacyID, e.Account, e.CreatedByAccount, e.Activities = typed.LegacyID, typed.Account, typed.CreatedByAccount, typed.Activities
	return nil
}

// expenseWithURL returns the expense's fields with the url of its page. An
// expense of a project lives under the project's page.
func (oc *OpenCollective) expenseWithURL(e *expense) map[string]any {
	out := make(map[string]any, len(e.fields)+1)
	for k, v := range e.fields {
		out[k] = v
	}
	base := oc.webURL + "/" + oc.cfg.CollectiveSlug
	if e.Account != nil && e.Account.Slug != "" && e.Account.Slug != oc.cfg.CollectiveSlug {
		base += "/projects/" + e.Account.Slug
	}
	out["url"] = fmt.Sprintf("%s/expenses/%d", base, e.LegacyID)
	return out
}

// initiator says who caused an expense activity: the expense's author for
// a creation; otherwise the individual of the expense's activity of the
// same type recorded at the webhook's createdAt (the webhook itself does not
// say), else of the latest activity of that type, else of any activity at
// that time. The original matched the time alone, which picks the wrong
// activity when two share a timestamp.
func (e *expense) initiator(kind, createdAt string) *plugin.Initiator {
	who := func(a *accountRef) *plugin.Initiator {
		if a == nil || a.Slug == "" {
			return nil
		}
		return &plugin.Initiator{UserID: a.Slug, Provider: name}
	}
	if kind == "created" {
		return who(e.CreatedByAccount)
	}
	at, atErr := time.Parse(time.RFC3339Nano, createdAt)
	sameTime := func(a expenseActivity) bool {
		t, err := time.Parse(time.RFC3339Nano, a.CreatedAt)
		return a.CreatedAt == createdAt || (atErr == nil && err == nil && t.Equal(at))
	}
	want := activityType(kind)
	var ofType, atTime *expenseActivity
	for i := range e.Activities {
		a := &e.Activities[i]
		switch {
		case a.Type == want && sameTime(*a):
			return who(a.Individual)
		case a.Type == want:
			ofType = a
		case atTime == nil && sameTime(*a):
			atTime = a
		}
	}
	if ofType != nil {
		return who(ofType.Individual)
	}
	if atTime != nil {
		return who(atTime.Individual)
	}
	return nil
}

// conversation is a conversation as the API returns it, with its url added.
type conversation struct {
	fields map[string]any
	ID     string
	URL    string
}

// startConversation creates a conversation in the collective. Its url is
// {web_url}/{collective}/conversations/{slug}-{id}, as the original built it.
func (oc *OpenCollective) startConversation(ctx context.Context, title, html string, tags []string) (*conversation, error) {
	var data struct {
		CreateConversation map[string]any `json:"createConversation"`
	}
	vars := map[string]any{
		"title":   title,
		"html":    html,
		"account": map[string]any{"slug": oc.cfg.CollectiveSlug},
		"tags":    tags,
	}
	if err := oc.client.do(ctx, "creating conversation", createConversationMutation, vars, &data); err != nil {
		return nil, err
	}
	fields := data.CreateConversation
	id, _ := fields["id"].(string)
	slug, _ := fields["slug"].(string)
	if id == "" {
		return nil, &plugin.PlatformError{Platform: name, Message: "createConversation returned no conversation"}
	}
	url := fmt.Sprintf("%s/%s/conversations/%s-%s", oc.webURL, oc.cfg.CollectiveSlug, slug, id)
	fields["url"] = url
	return &conversation{fields: fields, ID: id, URL: url}, nil
}
