package loomio

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/metagov/metagov-go/plugin"
)

// groupMapKey is the instance state key of the map from API key fingerprint
// to the group that key belongs to.
const groupMapKey = "api_key_group_map"

// groupRef names a Loomio group both ways a driver may: by its key (as in
// /g/<key>) or by its handle.
type groupRef struct {
	Key    string `json:"key"`
	Handle string `json:"handle"`
	Name   string `json:"name,omitempty"`
}

// fingerprint identifies an API key in state without storing the key
// itself, so the state holds no secret.
func fingerprint(apiKey string) string {
	sum := sha256.Sum256([]byte(apiKey))
	return hex.EncodeToString(sum[:12])
}

// keys are the configured API keys, the main group's first.
func (l *Loomio) keys() []string {
	out := []string{l.cfg.APIKey}
	for _, k := range l.cfg.SubgroupAPIKeys {
		if !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	return out
}

// keyByFingerprint finds the configured key with a fingerprint.
func (l *Loomio) keyByFingerprint(fp string) (string, bool) {
	for _, k := range l.keys() {
		if fingerprint(k) == fp {
			return k, true
		}
	}
	return "", false
}

// Initialize asks Loomio which group each configured key belongs to and
// keeps the answers in state, so that actions can choose a key by group. A
// key Loomio refuses fails the enable with Loomio's message. The config is
// left as it is.
func (l *Loomio) Initialize(ctx context.Context, c *plugin.Call) error {
	groups := map[string]groupRef{}
	for i, key := range l.keys() {
		g, err := l.group(ctx, key)
		if err != nil {
			which := "api_key"
			if i > 0 {
				which = "a subgroup API key"
			}
			return fmt.Errorf("reading the group of %s: %w", which, err)
		}
		groups[fingerprint(key)] = g
	}
	if err := c.State().Set(groupMapKey, groups); err != nil {
		return fmt.Errorf("storing loomio groups: %w", err)
	}
	return nil
}

// group reads the group a key belongs to from its memberships: the group of
// the first membership, or the first group listed.
func (l *Loomio) group(ctx context.Context, apiKey string) (groupRef, error) {
	raw, err := l.client.memberships(ctx, apiKey)
	if err != nil {
		return groupRef{}, err
	}
	var resp struct {
		Memberships []struct {
			GroupID int64 `json:"group_id"`
		} `json:"memberships"`
		Groups []struct {
			ID       int64  `json:"id"`
			Key      string `json:"key"`
			Handle   string `json:"handle"`
			Name     string `json:"name"`
			FullName string `json:"full_name"`
		} `json:"groups"`
	}
	if err := json.Unmarshal(raw, &resp); err != nil {
		return groupRef{}, &plugin.PlatformError{Platform: platform, Message: "unexpected memberships answer: " + err.Error()}
	}
	if len(resp.Groups) == 0 {
		return groupRef{}, &plugin.PlatformError{Platform: platform, Message: "the memberships of the API key name no group"}
	}
	g := resp.Groups[0]
	if len(resp.Memberships) > 0 {
		for _, candidate := range resp.Groups {
			if candidate.ID == resp.Memberships[0].GroupID {
				g = candidate
				break
			}
		}
	}
	return groupRef{Key: g.Key, Handle: g.Handle, Name: g.FullName}, nil
}

// apiKeyFor returns the key of the group a driver named by key or handle,
// or the main key when it named none. field locates the parameter in the
// caller's input for the error.
func (l *Loomio) apiKeyFor(ctx context.Context, c *plugin.Call, subgroup, field string) (string, error) {
	if subgroup == "" {
		return l.cfg.APIKey, nil
	}
	groups := map[string]groupRef{}
	if _, err := c.State().Get(ctx, groupMapKey, &groups); err != nil {
		return "", fmt.Errorf("reading loomio groups: %w", err)
	}
	// The main key first, then the subgroups in config order, so that a
	// handle shared by two keys resolves the same way every time.
	for _, key := range l.keys() {
		g, ok := groups[fingerprint(key)]
		if ok && (g.Key == subgroup || g.Handle == subgroup) {
			return key, nil
		}
	}
	return "", &plugin.InputError{Field: field, Message: fmt.Sprintf("No API key found for Loomio group %s", subgroup)}
}
