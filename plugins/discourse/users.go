package discourse

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/metagov/metagov-go/plugin"
)

// Instance state keys, as the original named them.
const (
	communityNameKey = "community_name"
	usersKey         = "users"
)

// Initialize checks the config against the forum and fills the state the
// original kept: the forum's title and every active user's admin record
// (first page of the list only, as in the original), keyed by user id, so
// that user_updated webhooks can say which user fields changed. A wrong key
// or URL refuses the enable with Discourse's message.
func (d *Discourse) Initialize(ctx context.Context, c *plugin.Call) error {
	about, err := d.client.about(ctx)
	if err != nil {
		return fmt.Errorf("fetching discourse about.json: %w", err)
	}
	refs, err := d.client.activeUsers(ctx)
	if err != nil {
		return fmt.Errorf("listing discourse users: %w", err)
	}
	users := make(map[string]json.RawMessage, len(refs))
	for _, ref := range refs {
		rec, err := d.client.adminUser(ctx, ref.ID)
		if err != nil {
			return fmt.Errorf("fetching discourse user %d: %w", ref.ID, err)
		}
		users[strconv.FormatInt(ref.ID, 10)] = rec
	}
	if err := c.State().Set(communityNameKey, about.Title); err != nil {
		return err
	}
	return c.State().Set(usersKey, users)
}

// userFieldsChanged is the data of a user_fields_changed event.
type userFieldsChanged struct {
	ID            int64           `json:"id"`
	Username      string          `json:"username"`
	UserFields    json.RawMessage `json:"user_fields"`
	OldUserFields json.RawMessage `json:"old_user_fields"`
}

// userUpdated stores the user record of a user_updated webhook in place of
// the old one and, as the original did, reports a user_fields_changed event
// when the user was unknown or their user_fields differ. old_user_fields is
// null when there was no record, or the record had no user fields (the
// admin records fetched at initialization have none).
func (d *Discourse) userUpdated(ctx context.Context, c *plugin.Call, raw json.RawMessage) (*userFieldsChanged, error) {
	var user struct {
		ID         int64           `json:"id"`
		Username   string          `json:"username"`
		UserFields json.RawMessage `json:"user_fields"`
	}
	if err := json.Unmarshal(raw, &user); err != nil {
		return nil, &plugin.InputError{Field: "/user", Message: "user is not a Discourse user: " + err.Error()}
	}
	users := map[string]json.RawMessage{}
	if _, err := c.State().Get(ctx, usersKey, &users); err != nil {
		return nil, err
	}
	key := strconv.FormatInt(user.ID, 10)
	oldRaw, known := users[key]
	users[key] = raw
	if err := c.State().Set(usersKey, users); err != nil {
		return nil, err
	}

	var old struct {
		UserFields json.RawMessage `json:"user_fields"`
	}
	if known {
		_ = json.Unmarshal(oldRaw, &old) // a record that is not an object has no fields
	}
	newFields := nullIfEmpty(user.UserFields)
	oldFields := nullIfEmpty(old.UserFields)
	if known && plugin.JSONEqual(oldFields, newFields) {
		return nil, nil
	}
	return &userFieldsChanged{ID: user.ID, Username: user.Username, UserFields: newFields, OldUserFields: oldFields}, nil
}

// nullIfEmpty makes an absent JSON value null.
func nullIfEmpty(v json.RawMessage) json.RawMessage {
	if len(v) == 0 {
		return json.RawMessage("null")
	}
	return v
}
