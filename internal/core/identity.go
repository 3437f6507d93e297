package core

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/metagov/metagov-go/internal/pluginrt"
	"github.com/metagov/metagov-go/internal/store"
	"github.com/metagov/metagov-go/plugin"
)

// The identity API (the original's MetagovID and LinkedAccount): a
// community's identities, each a random public external id, merged into
// groups led by a primary, with the platform accounts linked to them.

// maxCreateIDs bounds create_id's count.
const maxCreateIDs = 1000

// AccountView is a linked account as the API shows it (the original's
// LinkedAccount.serialize).
type AccountView struct {
	ExternalID          int64           `json:"external_id"`
	Community           string          `json:"community"`
	CommunityPlatformID *string         `json:"community_platform_id"`
	PlatformType        string          `json:"platform_type"`
	PlatformIdentifier  string          `json:"platform_identifier"`
	CustomData          json.RawMessage `json:"custom_data"`
	LinkType            string          `json:"link_type"`
	LinkQuality         string          `json:"link_quality"`
}

// IdentityView is the original's identity data object: the identity asked
// for, the primary of its group, and the accounts of every identity in the
// group.
type IdentityView struct {
	SourceID       int64         `json:"source_ID"`
	PrimaryID      int64         `json:"primary_ID"`
	LinkedAccounts []AccountView `json:"linked_accounts"`
}

// AccountInput names a linked account and, for link_account, what to store.
type AccountInput struct {
	ExternalID         int64
	Community          string
	PlatformType       string
	PlatformIdentifier string
	// CommunityPlatformID is nil when the caller gave none.
	CommunityPlatformID *string
	CustomData          json.RawMessage
	LinkType            string
	LinkQuality         string
}

// AccountQuery filters accounts for get_users and filter_users_by_account;
// empty fields match anything.
type AccountQuery struct {
	PlatformType        string
	CommunityPlatformID *string
	PlatformIdentifier  *string
	LinkType            string
	LinkQuality         string
}

func (q AccountQuery) empty() bool {
	return q.PlatformType == "" && q.CommunityPlatformID == nil && q.PlatformIdentifier == nil && q.LinkType == "" && q.LinkQuality == ""
}

func (q AccountQuery) validate() error {
	if err := checkLinkType(q.LinkType, "link_type"); err != nil {
		return err
	}
	return checkLinkQuality(q.LinkQuality, "link_quality")
}

func (q AccountQuery) filter(communityID int64) store.AccountFilter {
	return store.AccountFilter{CommunityID: communityID, PlatformType: q.PlatformType, CommunityPlatformID: q.CommunityPlatformID,
		PlatformIdentifier: q.PlatformIdentifier, LinkType: q.LinkType, LinkQuality: q.LinkQuality}
}

func checkLinkType(t, field string) error {
	switch t {
	case "", plugin.LinkTypeOAuth, plugin.LinkTypeManualAdmin, plugin.LinkTypeEmailMatching, plugin.LinkTypeUnknown:
		return nil
	}
	return &Error{Kind: KindInvalid, Code: "invalid_link_type", Field: field,
		Detail: fmt.Sprintf("link_type %q is not one of %q, %q, %q, %q", t,
			plugin.LinkTypeOAuth, plugin.LinkTypeManualAdmin, plugin.LinkTypeEmailMatching, plugin.LinkTypeUnknown)}
}

func checkLinkQuality(q, field string) error {
	if pluginrt.LinkQualityRank(q) >= 0 {
		return nil
	}
	return &Error{Kind: KindInvalid, Code: "invalid_link_quality", Field: field,
		Detail: fmt.Sprintf("link_quality %q is not one of %q, %q, %q, %q", q, plugin.LinkQualityUnknown,
			plugin.LinkQualityUnconfirmed, plugin.LinkQualityConfirmedWeak, plugin.LinkQualityConfirmedStrong)}
}

func identityNotFound(externalID int64) *Error {
	return newError(KindNotFound, "identity_not_found", "No MetagovID with external_id %d", externalID)
}

// identity returns the identity with an external id, if the caller may see
// its community.
func (g *Gateway) identity(ctx context.Context, q *store.Reader, externalID int64) (store.MetagovID, error) {
	m, err := q.MetagovIDGet(ctx, externalID)
	if isNotFound(err) || (err == nil && !principalFrom(ctx).allows(m.CommunityID)) {
		return m, identityNotFound(externalID)
	}
	return m, err
}

// newExternalID draws a random positive 31-bit id, as the original's were
// (drivers may keep them in 32-bit integer columns).
func newExternalID() int64 {
	for {
		var b [4]byte
		_, _ = rand.Read(b[:])
		if n := int64(binary.BigEndian.Uint32(b[:]) & 0x7fffffff); n > 0 {
			return n
		}
	}
}

// insertIdentity creates an identity in tx, drawing again on the rare
// collision.
func insertIdentity(ctx context.Context, tx *store.Tx, communityID int64) (store.MetagovID, error) {
	for range 16 {
		m, ok, err := tx.MetagovIDInsert(ctx, communityID, newExternalID())
		if err != nil || ok {
			return m, err
		}
	}
	return store.MetagovID{}, fmt.Errorf("creating an identity: 16 random external ids were all taken")
}

// CreateIDs creates count identities in a community and returns their
// external ids.
func (g *Gateway) CreateIDs(ctx context.Context, slug string, count int) ([]int64, error) {
	if count < 1 || count > maxCreateIDs {
		return nil, &Error{Kind: KindInvalid, Code: "invalid_count", Field: "/count",
			Detail: fmt.Sprintf("count must be between 1 and %d", maxCreateIDs)}
	}
	entry, err := g.community(ctx, slug)
	if err != nil {
		return nil, withField(err, "/community_slug")
	}
	ids := make([]int64, 0, count)
	err = g.writeTx(ctx, func(tx *store.Tx) error {
		ids = ids[:0]
		for range count {
			m, err := insertIdentity(ctx, tx, entry.community.ID)
			if err != nil {
				return err
			}
			ids = append(ids, m.ExternalID)
		}
		return g.audit(ctx, tx, entry.community, "identity.create", map[string]any{"external_ids": ids})
	})
	return ids, err
}

// MergeIDs merges the group of secondary into the group of primary, whose
// primary leads the result, and returns the merged identity as primary sees
// it. Both must be in one community; merging identities already merged
// changes nothing.
func (g *Gateway) MergeIDs(ctx context.Context, primary, secondary int64) (IdentityView, error) {
	if primary == secondary {
		return IdentityView{}, &Error{Kind: KindInvalid, Code: "same_identity", Field: "/secondary_instance_id",
			Detail: "primary_instance_id and secondary_instance_id are the same identity"}
	}
	var communityID int64
	err := g.writeTx(ctx, func(tx *store.Tx) error {
		p, err := g.identity(ctx, &tx.Reader, primary)
		if err != nil {
			return withField(err, "/primary_instance_id")
		}
		s, err := g.identity(ctx, &tx.Reader, secondary)
		if err != nil {
			return withField(err, "/secondary_instance_id")
		}
		if p.CommunityID != s.CommunityID {
			return &Error{Kind: KindInvalid, Code: "different_communities", Field: "/secondary_instance_id",
				Detail: fmt.Sprintf("MetagovIDs %d and %d belong to different communities", primary, secondary)}
		}
		communityID = p.CommunityID
		if p.PrimaryExternalID == s.PrimaryExternalID {
			return nil
		}
		if err := tx.MetagovIDMerge(ctx, p.CommunityID, s.PrimaryExternalID, p.PrimaryExternalID); err != nil {
			return err
		}
		c, err := tx.CommunityGetByID(ctx, p.CommunityID)
		if err != nil {
			return err
		}
		return g.audit(ctx, tx, c, "identity.merge", map[string]any{"primary": primary, "secondary": secondary})
	})
	if err != nil {
		return IdentityView{}, err
	}
	views, err := g.identityViews(ctx, communityID, []int64{primary})
	if err != nil {
		return IdentityView{}, err
	}
	return views[0], nil
}

// LinkAccount links a platform account to an identity. The platform type
// must be a plugin enabled for the community (with that community platform
// id, when one is given); an account linked already is a conflict.
func (g *Gateway) LinkAccount(ctx context.Context, in AccountInput) (AccountView, error) {
	if err := checkLinkType(in.LinkType, "/link_type"); err != nil {
		return AccountView{}, err
	}
	if err := checkLinkQuality(in.LinkQuality, "/link_quality"); err != nil {
		return AccountView{}, err
	}
	if in.PlatformIdentifier == "" {
		return AccountView{}, &Error{Kind: KindInvalid, Code: "missing_parameter", Field: "/platform_identifier",
			Detail: "platform_identifier is required"}
	}
	if len(in.CustomData) > 0 && string(in.CustomData) != "null" {
		var obj map[string]any
		if json.Unmarshal(in.CustomData, &obj) != nil {
			return AccountView{}, &Error{Kind: KindInvalid, Code: "invalid_custom_data", Field: "/custom_data",
				Detail: "custom_data must be a JSON object"}
		}
	}
	entry, err := g.community(ctx, in.Community)
	if err != nil {
		return AccountView{}, withField(err, "/community_slug")
	}
	cpid := ""
	if in.CommunityPlatformID != nil {
		cpid = *in.CommunityPlatformID
	}
	if _, err := entry.find(in.PlatformType, cpid); err != nil {
		return AccountView{}, withField(err, "/platform_type")
	}
	a := store.LinkedAccount{CommunityID: entry.community.ID, PlatformType: in.PlatformType, CommunityPlatformID: cpid,
		PlatformIdentifier: in.PlatformIdentifier, CustomData: in.CustomData,
		LinkType: orDefault(in.LinkType, plugin.LinkTypeUnknown), LinkQuality: orDefault(in.LinkQuality, plugin.LinkQualityUnknown)}
	err = g.writeTx(ctx, func(tx *store.Tx) error {
		m, err := g.identity(ctx, &tx.Reader, in.ExternalID)
		if err != nil {
			return withField(err, "/external_id")
		}
		if m.CommunityID != entry.community.ID {
			return &Error{Kind: KindInvalid, Code: "identity_in_other_community", Field: "/external_id",
				Detail: fmt.Sprintf("MetagovID %d does not belong to community %s", in.ExternalID, entry.community.Slug)}
		}
		a.MetagovID, a.ExternalID = m.ID, m.ExternalID
		err = tx.LinkedAccountInsert(ctx, &a)
		if isConflict(err) {
			return &Error{Kind: KindConflict, Code: "account_already_linked", Field: "/platform_identifier",
				Detail: fmt.Sprintf("LinkedAccount with the following already exists: community %s, platform_type %s, "+
					"platform_identifier %s, community_platform_id %q", entry.community.Slug, in.PlatformType, in.PlatformIdentifier, cpid)}
		}
		if err != nil {
			return err
		}
		return g.audit(ctx, tx, entry.community, "identity.link", accountAudit(a))
	})
	if err != nil {
		return AccountView{}, err
	}
	return accountView(a, entry.community.Slug), nil
}

// UnlinkAccount removes a linked account. Without a community platform id
// it names the account linked without one; if only accounts with one
// exist, the caller must say which.
func (g *Gateway) UnlinkAccount(ctx context.Context, in AccountInput) error {
	entry, err := g.community(ctx, in.Community)
	if err != nil {
		return withField(err, "/community_slug")
	}
	return g.writeTx(ctx, func(tx *store.Tx) error {
		a, err := retrieveAccount(ctx, &tx.Reader, entry.community, in)
		if err != nil {
			return err
		}
		if err := tx.LinkedAccountDelete(ctx, a.ID); err != nil {
			return err
		}
		return g.audit(ctx, tx, entry.community, "identity.unlink", accountAudit(a))
	})
}

// retrieveAccount finds one linked account as the original's
// retrieve_account did.
func retrieveAccount(ctx context.Context, q *store.Reader, c store.Community, in AccountInput) (store.LinkedAccount, error) {
	ident := in.PlatformIdentifier
	found, err := q.LinkedAccountList(ctx, store.AccountFilter{CommunityID: c.ID, PlatformType: in.PlatformType,
		PlatformIdentifier: &ident, CommunityPlatformID: in.CommunityPlatformID})
	if err != nil {
		return store.LinkedAccount{}, err
	}
	var withoutCPID []store.LinkedAccount
	for _, a := range found {
		if in.CommunityPlatformID != nil || a.CommunityPlatformID == "" {
			withoutCPID = append(withoutCPID, a)
		}
	}
	switch {
	case len(withoutCPID) == 1:
		return withoutCPID[0], nil
	case len(found) > 0 && len(withoutCPID) == 0:
		return store.LinkedAccount{}, &Error{Kind: KindInvalid, Code: "community_platform_id_required", Field: "/community_platform_id",
			Detail: fmt.Sprintf("the LinkedAccount of platform %s with identifier %s in community %s requires community_platform_id",
				in.PlatformType, in.PlatformIdentifier, c.Slug)}
	}
	cpid := "none"
	if in.CommunityPlatformID != nil {
		cpid = *in.CommunityPlatformID
	}
	return store.LinkedAccount{}, &Error{Kind: KindNotFound, Code: "account_not_found", Field: "/platform_identifier",
		Detail: fmt.Sprintf("No LinkedAccount found in community %s with platform %s and identifier %s (community_platform_id: %s)",
			c.Slug, in.PlatformType, in.PlatformIdentifier, cpid)}
}

// GetUser returns an identity.
func (g *Gateway) GetUser(ctx context.Context, externalID int64) (IdentityView, error) {
	m, err := g.identity(ctx, &g.store.Reader, externalID)
	if err != nil {
		return IdentityView{}, withField(err, "external_id")
	}
	views, err := g.identityViews(ctx, m.CommunityID, []int64{externalID})
	if err != nil {
		return IdentityView{}, err
	}
	return views[0], nil
}

// GetUsers returns a community's users: without filters every primary
// identity; with filters the primaries of the identities with a matching
// account, each once.
func (g *Gateway) GetUsers(ctx context.Context, slug string, q AccountQuery) ([]IdentityView, error) {
	if err := q.validate(); err != nil {
		return nil, err
	}
	entry, err := g.community(ctx, slug)
	if err != nil {
		return nil, withField(err, "community")
	}
	var sources []int64
	if q.empty() {
		primaries, err := g.store.MetagovIDListPrimaries(ctx, entry.community.ID)
		if err != nil {
			return nil, err
		}
		for _, m := range primaries {
			sources = append(sources, m.ExternalID)
		}
	} else {
		accounts, err := g.store.LinkedAccountList(ctx, q.filter(entry.community.ID))
		if err != nil {
			return nil, err
		}
		all, err := g.store.MetagovIDListCommunity(ctx, entry.community.ID)
		if err != nil {
			return nil, err
		}
		primaryOf := map[int64]int64{}
		for _, m := range all {
			primaryOf[m.ID] = m.PrimaryExternalID
		}
		for _, a := range accounts {
			if p := primaryOf[a.MetagovID]; !slices.Contains(sources, p) {
				sources = append(sources, p)
			}
		}
	}
	return g.identityViews(ctx, entry.community.ID, sources)
}

// FilterUsersByAccount keeps the identities among externalIDs that have at
// least one account of their own matching q (all of them when q is empty).
func (g *Gateway) FilterUsersByAccount(ctx context.Context, slug string, externalIDs []int64, q AccountQuery) ([]IdentityView, error) {
	if err := q.validate(); err != nil {
		return nil, err
	}
	entry, err := g.community(ctx, slug)
	if err != nil {
		return nil, withField(err, "community")
	}
	all, err := g.store.MetagovIDListCommunity(ctx, entry.community.ID)
	if err != nil {
		return nil, err
	}
	byExternal := map[int64]store.MetagovID{}
	for _, m := range all {
		byExternal[m.ExternalID] = m
	}
	var ids []int64
	for _, x := range externalIDs {
		m, ok := byExternal[x]
		if !ok {
			e := identityNotFound(x)
			e.Detail += " in community " + entry.community.Slug
			e.Field = "external_id_list"
			return nil, e
		}
		ids = append(ids, m.ID)
	}
	keep := externalIDs
	if !q.empty() {
		f := q.filter(entry.community.ID)
		f.MetagovIDs = ids
		accounts, err := g.store.LinkedAccountList(ctx, f)
		if err != nil {
			return nil, err
		}
		keep = nil
		for _, x := range externalIDs {
			id := byExternal[x].ID
			if slices.ContainsFunc(accounts, func(a store.LinkedAccount) bool { return a.MetagovID == id }) && !slices.Contains(keep, x) {
				keep = append(keep, x)
			}
		}
	}
	return g.identityViews(ctx, entry.community.ID, keep)
}

// GetLinkedAccount returns the first account of the identity itself (not
// of its group) on a platform whose community platform id is the given one
// (no id matches an account without one), or nil.
func (g *Gateway) GetLinkedAccount(ctx context.Context, externalID int64, platformType string, cpid *string) (*AccountView, error) {
	m, err := g.identity(ctx, &g.store.Reader, externalID)
	if err != nil {
		return nil, withField(err, "external_id")
	}
	want := ""
	if cpid != nil {
		want = *cpid
	}
	accounts, err := g.store.LinkedAccountList(ctx, store.AccountFilter{CommunityID: m.CommunityID, MetagovIDs: []int64{m.ID},
		PlatformType: platformType, CommunityPlatformID: &want})
	if err != nil || len(accounts) == 0 {
		return nil, err
	}
	c, err := g.store.CommunityGetByID(ctx, m.CommunityID)
	if err != nil {
		return nil, err
	}
	v := accountView(accounts[0], c.Slug)
	return &v, nil
}

// identityViews builds the identity data objects of external ids of one
// community from two reads.
func (g *Gateway) identityViews(ctx context.Context, communityID int64, externalIDs []int64) ([]IdentityView, error) {
	out := []IdentityView{}
	if len(externalIDs) == 0 {
		return out, nil
	}
	c, err := g.store.CommunityGetByID(ctx, communityID)
	if err != nil {
		return nil, err
	}
	all, err := g.store.MetagovIDListCommunity(ctx, communityID)
	if err != nil {
		return nil, err
	}
	accounts, err := g.store.LinkedAccountList(ctx, store.AccountFilter{CommunityID: communityID})
	if err != nil {
		return nil, err
	}
	primaryOf := map[int64]int64{} // external id → its primary's
	groupOf := map[int64]int64{}   // MetagovID.ID → its primary's external id
	for _, m := range all {
		primaryOf[m.ExternalID] = m.PrimaryExternalID
		groupOf[m.ID] = m.PrimaryExternalID
	}
	for _, x := range externalIDs {
		p, ok := primaryOf[x]
		if !ok {
			return nil, identityNotFound(x)
		}
		v := IdentityView{SourceID: x, PrimaryID: p, LinkedAccounts: []AccountView{}}
		for _, a := range accounts {
			if groupOf[a.MetagovID] == p {
				v.LinkedAccounts = append(v.LinkedAccounts, accountView(a, c.Slug))
			}
		}
		out = append(out, v)
	}
	return out, nil
}

// accountAudit is what the audit log keeps of a linked account (custom data
// left out: it is the driver's, of any size).
func accountAudit(a store.LinkedAccount) map[string]any {
	return map[string]any{"external_id": a.ExternalID, "platform_type": a.PlatformType,
		"community_platform_id": a.CommunityPlatformID, "platform_identifier": a.PlatformIdentifier,
		"link_type": a.LinkType, "link_quality": a.LinkQuality}
}

func accountView(a store.LinkedAccount, slug string) AccountView {
	v := AccountView{ExternalID: a.ExternalID, Community: slug, PlatformType: a.PlatformType, PlatformIdentifier: a.PlatformIdentifier,
		CustomData: orEmptyObject(a.CustomData), LinkType: a.LinkType, LinkQuality: a.LinkQuality}
	if a.CommunityPlatformID != "" {
		cpid := a.CommunityPlatformID
		v.CommunityPlatformID = &cpid
	}
	return v
}

// linkAccounts writes the accounts a plugin linked (with Call.Identity or
// an Installation) for an instance, in tx: platform type the plugin's name,
// community platform id the instance's. An account already linked changes
// only for a strictly higher quality.
func (g *Gateway) linkAccounts(ctx context.Context, tx *store.Tx, c store.Community, pluginName, platformID string, links []plugin.Account) error {
	for _, l := range links {
		if err := l.Validate(); err != nil {
			return err
		}
		ident := l.PlatformIdentifier
		found, err := tx.LinkedAccountList(ctx, store.AccountFilter{CommunityID: c.ID, PlatformType: pluginName,
			CommunityPlatformID: &platformID, PlatformIdentifier: &ident})
		if err != nil {
			return err
		}
		var target store.MetagovID
		if l.ExternalID != 0 {
			if target, err = tx.MetagovIDGet(ctx, l.ExternalID); err != nil || target.CommunityID != c.ID {
				if err == nil || isNotFound(err) {
					return &Error{Kind: KindInvalid, Code: "invalid_metagov_id", Field: "/metagov_id",
						Detail: fmt.Sprintf("no MetagovID %d in community %s", l.ExternalID, c.Slug)}
				}
				return err
			}
		}
		var custom json.RawMessage
		if l.CustomData != nil {
			if custom, err = json.Marshal(l.CustomData); err != nil {
				return fmt.Errorf("encoding custom data of account %q: %w", l.PlatformIdentifier, err)
			}
		}
		if len(found) > 0 {
			a := found[0]
			if pluginrt.LinkQualityRank(l.LinkQuality) <= pluginrt.LinkQualityRank(a.LinkQuality) {
				continue
			}
			a.LinkType, a.LinkQuality = orDefault(l.LinkType, plugin.LinkTypeUnknown), l.LinkQuality
			if custom != nil {
				a.CustomData = custom
			}
			if target.ID != 0 {
				a.MetagovID = target.ID
			}
			if err := tx.LinkedAccountUpdate(ctx, &a); err != nil {
				return err
			}
			continue
		}
		if target.ID == 0 {
			if target, err = insertIdentity(ctx, tx, c.ID); err != nil {
				return err
			}
		}
		a := store.LinkedAccount{MetagovID: target.ID, CommunityID: c.ID, PlatformType: pluginName, CommunityPlatformID: platformID,
			PlatformIdentifier: l.PlatformIdentifier, CustomData: custom,
			LinkType: orDefault(l.LinkType, plugin.LinkTypeUnknown), LinkQuality: orDefault(l.LinkQuality, plugin.LinkQualityUnknown)}
		if err := tx.LinkedAccountInsert(ctx, &a); err != nil {
			return err
		}
	}
	return nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// withField sets the field of a caller's error that has none.
func withField(err error, field string) error {
	if e, ok := errors.AsType[*Error](err); ok && e.Field == "" {
		c := *e
		c.Field = field
		return &c
	}
	return err
}
