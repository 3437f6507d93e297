package loomio

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"

	"github.com/metagov/metagov-go/plugin"
)

// listMembersParams are the parameters of list-members.
type listMembersParams struct {
	Subgroup string `json:"subgroup"`
}

// listMembers returns Loomio's answer to GET /api/b1/memberships for the main
// group or the named subgroup, unchanged: {memberships, users, groups, meta}.
func (l *Loomio) listMembers(ctx context.Context, c *plugin.Call, in listMembersParams) (json.RawMessage, error) {
	key, err := l.apiKeyFor(ctx, c, in.Subgroup, "/subgroup")
	if err != nil {
		return nil, err
	}
	raw, err := l.client.memberships(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("listing loomio members: %w", err)
	}
	return raw, nil
}

// createDiscussionParams are the parameters of create-discussion.
type createDiscussionParams struct {
	Title             string   `json:"title"`
	Description       *string  `json:"description"`
	DescriptionFormat string   `json:"description_format"`
	RecipientAudience *string  `json:"recipient_audience"`
	RecipientUserIDs  []flexID `json:"recipient_user_ids"`
	RecipientEmails   []string `json:"recipient_emails"`
	RecipientMessage  *string  `json:"recipient_message"`
	Subgroup          string   `json:"subgroup"`
}

// createDiscussion starts a thread with POST /api/b1/discussions,
// form-encoded, and returns Loomio's answer unchanged: {discussions, …}.
func (l *Loomio) createDiscussion(ctx context.Context, c *plugin.Call, in createDiscussionParams) (json.RawMessage, error) {
	key, err := l.apiKeyFor(ctx, c, in.Subgroup, "/subgroup")
	if err != nil {
		return nil, err
	}
	form := url.Values{"title": {in.Title}, "api_key": {key}}
	setString(form, "description", in.Description)
	setNonEmpty(form, "description_format", in.DescriptionFormat)
	setString(form, "recipient_audience", in.RecipientAudience)
	setString(form, "recipient_message", in.RecipientMessage)
	addRecipients(form, in.RecipientUserIDs, in.RecipientEmails)
	raw, err := l.client.createDiscussion(ctx, form)
	if err != nil {
		return nil, fmt.Errorf("creating loomio discussion: %w", err)
	}
	return raw, nil
}

// flexID is a user id given as a string or a number; either way it is sent
// as its text.
type flexID string

// UnmarshalJSON keeps a string's contents or a number's digits.
func (f *flexID) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		*f = flexID(s)
		return nil
	}
	*f = flexID(b)
	return nil
}

// addRecipients sends arrays the way Rails reads them from a form: one
// "name[]" field per element.
func addRecipients(form url.Values, userIDs []flexID, emails []string) {
	for _, id := range userIDs {
		form.Add("recipient_user_ids[]", string(id))
	}
	for _, e := range emails {
		form.Add("recipient_emails[]", e)
	}
}

// setString sets an optional field that was given, even to "".
func setString(form url.Values, name string, v *string) {
	if v != nil {
		form.Set(name, *v)
	}
}

// setNonEmpty sets a field whose empty value means "not given".
func setNonEmpty(form url.Values, name, v string) {
	if v != "" {
		form.Set(name, v)
	}
}

// setBool sets an optional boolean field as Rails reads it.
func setBool(form url.Values, name string, v *bool) {
	if v != nil {
		form.Set(name, fmt.Sprint(*v))
	}
}
