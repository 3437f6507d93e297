package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
)

// The identity API, /api/internal/identity/…: a community's identities
// (MetagovIDs, each a random public external id, merged into groups led by a
// primary) and the platform accounts linked to them. These routes name the
// community in their parameters, not in the X-Metagov-Community header: a
// request's Community, when empty, is the client's community.

// Link types and qualities the gateway accepts; qualities are in rising
// order.
const (
	LinkTypeOAuth         = "oauth"
	LinkTypeManualAdmin   = "manual admin"
	LinkTypeEmailMatching = "email matching"
	LinkTypeUnknown       = "unknown"

	LinkQualityUnknown         = "unknown"
	LinkQualityUnconfirmed     = "unconfirmed"
	LinkQualityConfirmedWeak   = "confirmed (weak)"
	LinkQualityConfirmedStrong = "confirmed (strong)"
)

// Identity is an identity as the gateway shows it: the identity asked for,
// the primary of its group, and the accounts of every identity in the group.
type Identity struct {
	SourceID       int64           `json:"source_ID"`
	PrimaryID      int64           `json:"primary_ID"`
	LinkedAccounts []LinkedAccount `json:"linked_accounts"`
}

// LinkedAccount is a platform account linked to an identity.
type LinkedAccount struct {
	// ExternalID is the identity the account belongs to.
	ExternalID          int64           `json:"external_id"`
	Community           string          `json:"community"`
	CommunityPlatformID *string         `json:"community_platform_id"`
	PlatformType        string          `json:"platform_type"`
	PlatformIdentifier  string          `json:"platform_identifier"`
	CustomData          json.RawMessage `json:"custom_data"`
	LinkType            string          `json:"link_type"`
	LinkQuality         string          `json:"link_quality"`
}

// LinkAccountRequest is the body of LinkAccount.
type LinkAccountRequest struct {
	// ExternalID is the identity to link the account to.
	ExternalID int64 `json:"external_id"`
	// Community is the identity's community; empty: the client's.
	Community string `json:"community_slug"`
	// PlatformType is a plugin enabled for the community, such as "slack".
	PlatformType string `json:"platform_type"`
	// PlatformIdentifier is the account on the platform, such as a user id.
	PlatformIdentifier string `json:"platform_identifier"`
	// CommunityPlatformID picks one of the community's instances of the
	// plugin; empty: none.
	CommunityPlatformID string `json:"community_platform_id,omitempty"`
	// CustomData is any JSON the driver keeps with the account.
	CustomData any `json:"custom_data,omitempty"`
	// LinkType is one of the LinkType constants; empty: "unknown".
	LinkType string `json:"link_type,omitempty"`
	// LinkQuality is one of the LinkQuality constants; empty: "unknown".
	LinkQuality string `json:"link_quality,omitempty"`
}

// AccountRef names a linked account, for UnlinkAccount.
type AccountRef struct {
	// Community is the account's community; empty: the client's.
	Community           string `json:"community_slug"`
	PlatformType        string `json:"platform_type"`
	PlatformIdentifier  string `json:"platform_identifier"`
	CommunityPlatformID string `json:"community_platform_id,omitempty"`
}

// AccountFilter filters identities by their accounts, for GetUsers and
// FilterUsersByAccount; empty fields match anything.
type AccountFilter struct {
	// Community is the identities' community; empty: the client's.
	Community           string
	PlatformType        string
	CommunityPlatformID string
	PlatformIdentifier  string
	LinkType            string
	LinkQuality         string
}

func (f AccountFilter) query(c *Client) url.Values {
	q := url.Values{}
	q.Set("community", c.or(f.Community))
	for name, v := range map[string]string{"platform_type": f.PlatformType, "community_platform_id": f.CommunityPlatformID,
		"platform_identifier": f.PlatformIdentifier, "link_type": f.LinkType, "link_quality": f.LinkQuality} {
		if v != "" {
			q.Set(name, v)
		}
	}
	return q
}

// or returns community, or the client's community when it is empty.
func (c *Client) or(community string) string {
	if community == "" {
		return c.community
	}
	return community
}

const identityPath = "/api/internal/identity/"

// CreateIDs creates count identities (1 to 1000) in a community (empty: the
// client's) and returns their external ids.
func (c *Client) CreateIDs(ctx context.Context, community string, count int) ([]int64, error) {
	var out []int64
	body := map[string]any{"community_slug": c.or(community), "count": count}
	_, err := c.getJSON(ctx, http.MethodPost, identityPath+"create_id", nil, body, false, &out)
	return out, err
}

// CreateID creates one identity in a community (empty: the client's) and
// returns its external id.
func (c *Client) CreateID(ctx context.Context, community string) (int64, error) {
	ids, err := c.CreateIDs(ctx, community, 1)
	if err != nil {
		return 0, err
	}
	if len(ids) != 1 {
		return 0, fmt.Errorf("metagov: create_id answered %d ids for one", len(ids))
	}
	return ids[0], nil
}

// MergeIDs merges the group of the identity secondary into the group of
// primary (both of one community) and returns the merged identity as
// primary sees it.
func (c *Client) MergeIDs(ctx context.Context, primary, secondary int64) (*Identity, error) {
	var out Identity
	body := map[string]int64{"primary_instance_id": primary, "secondary_instance_id": secondary}
	_, err := c.getJSON(ctx, http.MethodPost, identityPath+"merge_ids", nil, body, false, &out)
	return &out, err
}

// LinkAccount links a platform account to an identity and returns the
// account. An account linked already is a 409 account_already_linked.
func (c *Client) LinkAccount(ctx context.Context, req LinkAccountRequest) (*LinkedAccount, error) {
	req.Community = c.or(req.Community)
	var out LinkedAccount
	_, err := c.getJSON(ctx, http.MethodPost, identityPath+"link_account", nil, req, false, &out)
	return &out, err
}

// UnlinkAccount removes a linked account; one that does not exist is a 404
// account_not_found.
func (c *Client) UnlinkAccount(ctx context.Context, ref AccountRef) error {
	ref.Community = c.or(ref.Community)
	_, err := c.do(ctx, http.MethodPost, identityPath+"unlink_account", nil, ref, false)
	return err
}

// GetUser reads an identity by external id; an unknown one (or one of a
// community the API key does not reach) is a 404 identity_not_found.
func (c *Client) GetUser(ctx context.Context, externalID int64) (*Identity, error) {
	var out Identity
	q := url.Values{"external_id": {strconv.FormatInt(externalID, 10)}}
	_, err := c.getJSON(ctx, http.MethodGet, identityPath+"get_user", q, nil, false, &out)
	return &out, err
}

// GetUsers lists a community's users: with an empty filter every primary
// identity, otherwise the primaries of the identities with an account
// matching the filter, each once.
func (c *Client) GetUsers(ctx context.Context, filter AccountFilter) ([]Identity, error) {
	var out []Identity
	_, err := c.getJSON(ctx, http.MethodGet, identityPath+"get_users", filter.query(c), nil, false, &out)
	return out, err
}

// FilterUsersByAccount returns those of the identities externalIDs that have
// an account of their own matching every field of filter.
func (c *Client) FilterUsersByAccount(ctx context.Context, externalIDs []int64, filter AccountFilter) ([]Identity, error) {
	q := filter.query(c)
	for _, id := range externalIDs {
		q.Add("external_id_list", strconv.FormatInt(id, 10))
	}
	var out []Identity
	_, err := c.getJSON(ctx, http.MethodGet, identityPath+"filter_users_by_account", q, nil, false, &out)
	return out, err
}

// GetLinkedAccount returns the identity's own first account on the platform
// platformType whose community platform id is communityPlatformID (empty:
// none), or nil when it has none.
func (c *Client) GetLinkedAccount(ctx context.Context, externalID int64, platformType, communityPlatformID string) (*LinkedAccount, error) {
	q := url.Values{"external_id": {strconv.FormatInt(externalID, 10)}, "platform_type": {platformType}}
	if communityPlatformID != "" {
		q.Set("community_platform_id", communityPlatformID)
	}
	// The gateway answers {} for no account, as the original did; a linked
	// account always has a platform type.
	var out LinkedAccount
	if _, err := c.getJSON(ctx, http.MethodGet, identityPath+"get_linked_account", q, nil, false, &out); err != nil {
		return nil, err
	}
	if out.PlatformType == "" {
		return nil, nil
	}
	return &out, nil
}
