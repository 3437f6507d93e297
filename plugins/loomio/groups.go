package loomio

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"strings"

	"github.com/metagov/metagov-go/plugin"
)

// Instance state keys.
const (
	groupKey  = "group"  // the configured group, resolved
	groupsKey = "groups" // every group the key's user belongs to
)

// group is a Loomio group as GET /api/b2/groups serializes it (in part).
type group struct {
	ID       int64  `json:"id"`
	Key      string `json:"key"`
	Handle   string `json:"handle,omitempty"`
	Name     string `json:"name,omitempty"`
	FullName string `json:"full_name,omitempty"`
}

// matches reports whether ref names g by id, key or handle. Handles are
// compared without case, as Loomio's URLs treat them.
func (g group) matches(ref string) bool {
	return ref == strconv.FormatInt(g.ID, 10) || ref == g.Key || (g.Handle != "" && strings.EqualFold(ref, g.Handle))
}

// String names g for messages.
func (g group) String() string {
	name := g.FullName
	if name == "" {
		name = g.Name
	}
	parts := []string{"key " + g.Key}
	if g.Handle != "" {
		parts = append(parts, "handle "+g.Handle)
	}
	return fmt.Sprintf("%d %q (%s)", g.ID, name, strings.Join(parts, ", "))
}

// listGroups is GET /api/b2/groups: the groups the key's user belongs to.
func (l *Loomio) listGroups(ctx context.Context) ([]group, error) {
	raw, err := l.client.get(ctx, "groups", nil)
	if err != nil {
		return nil, fmt.Errorf("listing the loomio groups of the API key's user: %w", err)
	}
	var resp struct {
		Groups []group `json:"groups"`
	}
	if err := json.Unmarshal(raw, &resp); err != nil {
		return nil, &plugin.PlatformError{Platform: platform, Message: "unexpected groups answer: " + err.Error()}
	}
	return resp.Groups, nil
}

// describeGroups lists groups for an error message, at most 20.
func describeGroups(groups []group) string {
	if len(groups) == 0 {
		return "the API key's user belongs to no group"
	}
	parts := make([]string, 0, min(len(groups), 20))
	for i, g := range groups {
		if i == 20 {
			parts = append(parts, fmt.Sprintf("and %d more", len(groups)-20))
			break
		}
		parts = append(parts, g.String())
	}
	return "the API key's user belongs to: " + strings.Join(parts, "; ")
}

// pick finds the group ref names among groups; an empty ref picks the only
// group. field locates ref in the caller's input for the error.
func pick(groups []group, ref, field string) (group, error) {
	if ref == "" {
		if len(groups) == 1 {
			return groups[0], nil
		}
		return group{}, &plugin.InputError{Field: field,
			Message: "group_id is required unless the API key's user belongs to exactly one Loomio group; " + describeGroups(groups)}
	}
	for _, g := range groups {
		if g.matches(ref) {
			return g, nil
		}
	}
	return group{}, &plugin.InputError{Field: field,
		Message: fmt.Sprintf("the API key's user does not belong to a Loomio group %q; %s", ref, describeGroups(groups))}
}

// Initialize checks the key by listing its user's groups, resolves the
// configured group (or the only one) and keeps both in state, so actions
// and polls can name groups by id, key or handle. The group's id, as a
// decimal string, is the instance's platform id (community_platform_id),
// however group_id named it: the id is what Loomio's API takes as group_id
// and what its API access page lists, and unlike a handle it never
// changes. A key Loomio refuses fails the enable with Loomio's message.
// With register_webhook it then registers the webhook on Loomio, which is
// safe to repeat (the gateway runs Initialize again when the group turns
// out to be an instance's it has). The config is left as it is.
func (l *Loomio) Initialize(ctx context.Context, c *plugin.Call) error {
	groups, err := l.listGroups(ctx)
	if err != nil {
		return err
	}
	g, err := pick(groups, l.groupRef, "/group_id")
	if err != nil {
		return err
	}
	c.SetPlatformID(strconv.FormatInt(g.ID, 10))
	if err := c.State().Set(groupKey, g); err != nil {
		return fmt.Errorf("storing loomio group: %w", err)
	}
	if err := c.State().Set(groupsKey, groups); err != nil {
		return fmt.Errorf("storing loomio groups: %w", err)
	}
	if l.cfg.RegisterWebhook {
		return l.registerWebhook(ctx, c, g)
	}
	l.log.InfoContext(ctx, "loomio webhook not registered (register_webhook is false): "+l.manualSetup(g),
		slog.String("webhook_url", l.hookURL))
	return nil
}

// groupFor returns the group an action or poll names with group_id or the
// original's subgroup (by id, key or handle), or the instance's group when
// it names none. A group the key's user joined after the enable is found by
// asking Loomio again.
func (l *Loomio) groupFor(ctx context.Context, c *plugin.Call, groupID json.RawMessage, subgroup string) (group, error) {
	ref, field := refString(groupID), "/group_id"
	if ref == "" {
		ref, field = strings.TrimSpace(subgroup), "/subgroup"
	}
	if ref == "" {
		var g group
		found, err := c.State().Get(ctx, groupKey, &g)
		if err != nil {
			return group{}, fmt.Errorf("reading loomio group: %w", err)
		}
		if found && g.ID != 0 {
			return g, nil
		}
		groups, err := l.listGroups(ctx)
		if err != nil {
			return group{}, err
		}
		return pick(groups, l.groupRef, "/group_id")
	}
	var groups []group
	if _, err := c.State().Get(ctx, groupsKey, &groups); err != nil {
		return group{}, fmt.Errorf("reading loomio groups: %w", err)
	}
	if g, err := pick(groups, ref, field); err == nil {
		return g, nil
	}
	fresh, err := l.listGroups(ctx)
	if err != nil {
		return group{}, err
	}
	return pick(fresh, ref, field)
}
