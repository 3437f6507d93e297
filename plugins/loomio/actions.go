package loomio

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/metagov/metagov-go/plugin"
)

// groupParams name a group other than the instance's: group_id (Loomio's
// name) or subgroup (the original's).
type groupParams struct {
	GroupID  json.RawMessage `json:"group_id"`
	Subgroup string          `json:"subgroup"`
}

// maxMemberPages bounds list-members at 2,000 memberships.
const (
	memberPageSize = 50
	maxMemberPages = 40
)

// membersAnswer is the part of GET /api/b2/memberships the plugin merges.
type membersAnswer struct {
	Memberships []json.RawMessage `json:"memberships"`
	Users       []json.RawMessage `json:"users"`
	Groups      []json.RawMessage `json:"groups"`
	Meta        struct {
		Total *int `json:"total"`
	} `json:"meta"`
}

// members reads every page of a group's memberships (up to maxMemberPages)
// and merges them into one answer of Loomio's shape.
func (l *Loomio) members(ctx context.Context, groupID int64) (membersAnswer, error) {
	var all membersAnswer
	seenUsers := map[string]bool{}
	for page := range maxMemberPages {
		q := url.Values{"group_id": {strconv.FormatInt(groupID, 10)}, "limit": {strconv.Itoa(memberPageSize)},
			"offset": {strconv.Itoa(page * memberPageSize)}}
		raw, err := l.client.get(ctx, "memberships", q)
		if err != nil {
			return all, err
		}
		var a membersAnswer
		if err := json.Unmarshal(raw, &a); err != nil {
			return all, &plugin.PlatformError{Platform: platform, Message: "unexpected memberships answer: " + err.Error()}
		}
		all.Memberships = append(all.Memberships, a.Memberships...)
		for _, u := range a.Users {
			var id struct {
				ID json.Number `json:"id"`
			}
			_ = json.Unmarshal(u, &id)
			if !seenUsers[id.ID.String()] {
				seenUsers[id.ID.String()] = true
				all.Users = append(all.Users, u)
			}
		}
		if all.Groups == nil {
			all.Groups = a.Groups
		}
		all.Meta.Total = a.Meta.Total
		if len(a.Memberships) < memberPageSize || (a.Meta.Total != nil && len(all.Memberships) >= *a.Meta.Total) {
			break
		}
	}
	if all.Memberships == nil {
		all.Memberships = []json.RawMessage{}
	}
	if all.Users == nil {
		all.Users = []json.RawMessage{}
	}
	if all.Groups == nil {
		all.Groups = []json.RawMessage{}
	}
	return all, nil
}

// listMembers returns the memberships of the instance's group, or of the
// group the parameters name, with their users and the group, in Loomio's
// shape ({memberships, users, groups, meta}), every page merged.
func (l *Loomio) listMembers(ctx context.Context, c *plugin.Call, in groupParams) (membersAnswer, error) {
	g, err := l.groupFor(ctx, c, in.GroupID, in.Subgroup)
	if err != nil {
		return membersAnswer{}, err
	}
	a, err := l.members(ctx, g.ID)
	if err != nil {
		return a, fmt.Errorf("listing loomio members of group %d: %w", g.ID, err)
	}
	return a, nil
}

// MarshalJSON writes meta.total as Loomio does, null when unknown.
func (a membersAnswer) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]any{"memberships": a.Memberships, "users": a.Users, "groups": a.Groups,
		"meta": map[string]any{"root": "memberships", "total": a.Meta.Total}})
}

// createDiscussionParams are the parameters of create-discussion.
type createDiscussionParams struct {
	groupParams
	Title             string   `json:"title"`
	Description       *string  `json:"description"`
	DescriptionFormat string   `json:"description_format"`
	RecipientAudience *string  `json:"recipient_audience"`
	RecipientUserIDs  []flexID `json:"recipient_user_ids"`
	RecipientEmails   []string `json:"recipient_emails"`
	RecipientMessage  *string  `json:"recipient_message"`
	NotifyRecipients  *bool    `json:"notify_recipients"`
}

// discussionFields maps Loomio's attribute names to create-discussion's
// parameters, for errors.
var discussionFields = map[string]string{"title": "/title", "description": "/description", "description_format": "/description_format",
	"group": "/group_id", "group_id": "/group_id", "recipient_emails": "/recipient_emails", "recipient_user_ids": "/recipient_user_ids"}

// createDiscussion starts a thread with POST /api/b2/discussions, its
// attributes nested under "discussion" (a flat JSON body loses group_id to
// Rails' parameter wrapping), and returns Loomio's answer unchanged:
// {discussions, topics, groups, users, …}.
func (l *Loomio) createDiscussion(ctx context.Context, c *plugin.Call, in createDiscussionParams) (json.RawMessage, error) {
	g, err := l.groupFor(ctx, c, in.GroupID, in.Subgroup)
	if err != nil {
		return nil, err
	}
	d := map[string]any{"group_id": g.ID, "title": in.Title}
	setString(d, "description", in.Description)
	setNonEmpty(d, "description_format", in.DescriptionFormat)
	setString(d, "recipient_audience", in.RecipientAudience)
	setString(d, "recipient_message", in.RecipientMessage)
	setBool(d, "notify_recipients", in.NotifyRecipients)
	addRecipients(d, in.RecipientUserIDs, in.RecipientEmails)
	raw, err := l.client.send(ctx, http.MethodPost, "discussions", map[string]any{"discussion": d}, discussionFields)
	if err != nil {
		return nil, fmt.Errorf("creating loomio discussion: %w", err)
	}
	return raw, nil
}

// flexID is a user id given as a string or a number.
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

// value is the id as Loomio expects it: a number when it is one.
func (f flexID) value() any {
	if n, err := strconv.ParseInt(string(f), 10, 64); err == nil {
		return n
	}
	return string(f)
}

// addRecipients sets the recipient arrays that were given.
func addRecipients(m map[string]any, userIDs []flexID, emails []string) {
	if userIDs != nil {
		ids := make([]any, 0, len(userIDs))
		for _, id := range userIDs {
			ids = append(ids, id.value())
		}
		m["recipient_user_ids"] = ids
	}
	if emails != nil {
		m["recipient_emails"] = emails
	}
}

// setString sets an optional field that was given, even to "".
func setString(m map[string]any, name string, v *string) {
	if v != nil {
		m[name] = *v
	}
}

// setNonEmpty sets a field whose empty value means "not given".
func setNonEmpty(m map[string]any, name, v string) {
	if v != "" {
		m[name] = v
	}
}

// setBool sets an optional boolean field.
func setBool(m map[string]any, name string, v *bool) {
	if v != nil {
		m[name] = *v
	}
}
