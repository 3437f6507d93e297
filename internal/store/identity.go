package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// MetagovID is one of a community's identities. Merged identities share
// PrimaryExternalID, the ExternalID of their group's primary.
type MetagovID struct {
	ID                int64
	CommunityID       int64
	ExternalID        int64
	PrimaryExternalID int64
}

const metagovIDColumns = `id, community_id, external_id, primary_external_id`

func scanMetagovID(row interface{ Scan(...any) error }) (MetagovID, error) {
	var m MetagovID
	err := row.Scan(&m.ID, &m.CommunityID, &m.ExternalID, &m.PrimaryExternalID)
	return m, interpretError(err)
}

func (q *Reader) listMetagovIDs(ctx context.Context, where string, args ...any) ([]MetagovID, error) {
	rows, err := q.db.QueryContext(ctx, `SELECT `+metagovIDColumns+` FROM metagov_ids WHERE `+where+` ORDER BY id`, args...)
	if err != nil {
		return nil, fmt.Errorf("listing identities: %w", err)
	}
	defer rows.Close()
	var out []MetagovID
	for rows.Next() {
		m, err := scanMetagovID(rows)
		if err != nil {
			return nil, fmt.Errorf("listing identities: %w", err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing identities: %w", err)
	}
	return out, nil
}

// MetagovIDInsert creates an identity with the given external id, its own
// primary, and reports false when the external id is taken (so the caller
// draws another; nothing else fails the transaction).
func (q *Tx) MetagovIDInsert(ctx context.Context, communityID, externalID int64) (MetagovID, bool, error) {
	m, err := scanMetagovID(q.db.QueryRowContext(ctx,
		`INSERT INTO metagov_ids (community_id, external_id, primary_external_id, created_at)
		 VALUES ($1, $2, $2, $3) ON CONFLICT (external_id) DO NOTHING RETURNING `+metagovIDColumns,
		communityID, externalID, now()))
	if errors.Is(err, ErrNotFound) {
		return m, false, nil
	}
	if err != nil {
		return m, false, fmt.Errorf("inserting identity: %w", err)
	}
	return m, true, nil
}

// MetagovIDGet returns the identity with the given external id.
func (q *Reader) MetagovIDGet(ctx context.Context, externalID int64) (MetagovID, error) {
	m, err := scanMetagovID(q.db.QueryRowContext(ctx,
		`SELECT `+metagovIDColumns+` FROM metagov_ids WHERE external_id = $1`, externalID))
	if err != nil {
		return m, fmt.Errorf("fetching identity %d: %w", externalID, err)
	}
	return m, nil
}

// MetagovIDListPrimaries returns a community's primary identities, oldest
// first.
func (q *Reader) MetagovIDListPrimaries(ctx context.Context, communityID int64) ([]MetagovID, error) {
	return q.listMetagovIDs(ctx, `community_id = $1 AND external_id = primary_external_id`, communityID)
}

// MetagovIDListCommunity returns every identity of a community, oldest
// first.
func (q *Reader) MetagovIDListCommunity(ctx context.Context, communityID int64) ([]MetagovID, error) {
	return q.listMetagovIDs(ctx, `community_id = $1`, communityID)
}

// MetagovIDListGroup returns the identities merged under one primary.
func (q *Reader) MetagovIDListGroup(ctx context.Context, communityID, primaryExternalID int64) ([]MetagovID, error) {
	return q.listMetagovIDs(ctx, `community_id = $1 AND primary_external_id = $2`, communityID, primaryExternalID)
}

// MetagovIDMerge moves every identity of the group led by from into the
// group led by to.
func (q *Tx) MetagovIDMerge(ctx context.Context, communityID, from, to int64) error {
	_, err := q.db.ExecContext(ctx,
		`UPDATE metagov_ids SET primary_external_id = $3 WHERE community_id = $1 AND primary_external_id = $2`,
		communityID, from, to)
	if err != nil {
		return fmt.Errorf("merging identities %d into %d: %w", from, to, err)
	}
	return nil
}

// LinkedAccount is a platform account tied to an identity. An empty
// CommunityPlatformID is the original's null.
type LinkedAccount struct {
	ID                  int64
	MetagovID           int64 // MetagovID.ID, not the external id
	ExternalID          int64
	CommunityID         int64
	PlatformType        string
	CommunityPlatformID string
	PlatformIdentifier  string
	CustomData          json.RawMessage
	LinkType            string
	LinkQuality         string
}

const linkedAccountColumns = `a.id, a.metagov_id, m.external_id, a.community_id, a.platform_type, a.community_platform_id,
	a.platform_identifier, a.custom_data, a.link_type, a.link_quality`

func scanLinkedAccount(row interface{ Scan(...any) error }) (LinkedAccount, error) {
	var a LinkedAccount
	var data []byte
	err := row.Scan(&a.ID, &a.MetagovID, &a.ExternalID, &a.CommunityID, &a.PlatformType, &a.CommunityPlatformID,
		&a.PlatformIdentifier, &data, &a.LinkType, &a.LinkQuality)
	a.CustomData = data
	return a, interpretError(err)
}

// AccountFilter selects linked accounts; empty fields match anything.
type AccountFilter struct {
	CommunityID int64
	// MetagovIDs, when not nil, keeps the accounts of these identities
	// (MetagovID.ID) only.
	MetagovIDs          []int64
	PlatformType        string
	CommunityPlatformID *string
	PlatformIdentifier  *string
	LinkType            string
	LinkQuality         string
}

// LinkedAccountList returns the accounts the filter selects, oldest first.
func (q *Reader) LinkedAccountList(ctx context.Context, f AccountFilter) ([]LinkedAccount, error) {
	where := []string{"a.community_id = $1"}
	args := []any{f.CommunityID}
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	if f.MetagovIDs != nil {
		if len(f.MetagovIDs) == 0 {
			return nil, nil
		}
		var marks []string
		for _, id := range f.MetagovIDs {
			args = append(args, id)
			marks = append(marks, fmt.Sprintf("$%d", len(args)))
		}
		where = append(where, "a.metagov_id IN ("+strings.Join(marks, ", ")+")")
	}
	if f.PlatformType != "" {
		add("a.platform_type = $%d", f.PlatformType)
	}
	if f.CommunityPlatformID != nil {
		add("a.community_platform_id = $%d", *f.CommunityPlatformID)
	}
	if f.PlatformIdentifier != nil {
		add("a.platform_identifier = $%d", *f.PlatformIdentifier)
	}
	if f.LinkType != "" {
		add("a.link_type = $%d", f.LinkType)
	}
	if f.LinkQuality != "" {
		add("a.link_quality = $%d", f.LinkQuality)
	}
	rows, err := q.db.QueryContext(ctx, `SELECT `+linkedAccountColumns+`
		FROM linked_accounts a JOIN metagov_ids m ON m.id = a.metagov_id
		WHERE `+strings.Join(where, " AND ")+` ORDER BY a.id`, args...)
	if err != nil {
		return nil, fmt.Errorf("listing linked accounts: %w", err)
	}
	defer rows.Close()
	var out []LinkedAccount
	for rows.Next() {
		a, err := scanLinkedAccount(rows)
		if err != nil {
			return nil, fmt.Errorf("listing linked accounts: %w", err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing linked accounts: %w", err)
	}
	return out, nil
}

// LinkedAccountInsert links an account; an account already linked (same
// community, platform type, identifier and community platform id) is
// ErrConflict.
func (q *Tx) LinkedAccountInsert(ctx context.Context, a *LinkedAccount) error {
	t := now()
	err := q.db.QueryRowContext(ctx,
		`INSERT INTO linked_accounts (metagov_id, community_id, platform_type, community_platform_id, platform_identifier,
		 custom_data, link_type, link_quality, created_at, updated_at)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING id`,
		a.MetagovID, a.CommunityID, a.PlatformType, a.CommunityPlatformID, a.PlatformIdentifier,
		[]byte(orEmptyJSONObject(a.CustomData)), a.LinkType, a.LinkQuality, t).Scan(&a.ID)
	if err != nil {
		return fmt.Errorf("linking account %q: %w", a.PlatformIdentifier, interpretError(err))
	}
	return nil
}

// LinkedAccountUpdate rewrites an account's identity, custom data, type and
// quality.
func (q *Tx) LinkedAccountUpdate(ctx context.Context, a *LinkedAccount) error {
	_, err := q.db.ExecContext(ctx,
		`UPDATE linked_accounts SET metagov_id = $2, custom_data = $3, link_type = $4, link_quality = $5, updated_at = $6
		 WHERE id = $1`,
		a.ID, a.MetagovID, []byte(orEmptyJSONObject(a.CustomData)), a.LinkType, a.LinkQuality, now())
	if err != nil {
		return fmt.Errorf("updating linked account %d: %w", a.ID, err)
	}
	return nil
}

// LinkedAccountDelete unlinks an account.
func (q *Tx) LinkedAccountDelete(ctx context.Context, id int64) error {
	res, err := q.db.ExecContext(ctx, `DELETE FROM linked_accounts WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("unlinking account %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("unlinking account %d: %w", id, ErrNotFound)
	}
	return nil
}

func orEmptyJSONObject(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 || string(raw) == "null" {
		return json.RawMessage(`{}`)
	}
	return raw
}

// OAuthStateUse records that the OAuth state with this nonce was used, and
// reports false when it had been already: a replay. The record is kept
// until expires, when the state itself is no longer accepted.
func (q *Tx) OAuthStateUse(ctx context.Context, nonce string, expires time.Time) (bool, error) {
	res, err := q.db.ExecContext(ctx,
		`INSERT INTO oauth_used_states (nonce, expires_ms) VALUES ($1, $2) ON CONFLICT (nonce) DO NOTHING`,
		nonce, expires.UnixMilli())
	if err != nil {
		return false, fmt.Errorf("recording a used OAuth state: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("recording a used OAuth state: %w", err)
	}
	return n == 1, nil
}

// OAuthUserToken is an installer's token waiting for the driver.
type OAuthUserToken struct {
	RefHash     string
	CommunityID int64
	Plugin      string
	UserID      string
	Token       string // sealed
	Expires     time.Time
}

// OAuthUserTokenInsert stores a token for the driver to fetch.
func (q *Tx) OAuthUserTokenInsert(ctx context.Context, t *OAuthUserToken) error {
	_, err := q.db.ExecContext(ctx,
		`INSERT INTO oauth_user_tokens (ref_hash, community_id, plugin, user_id, token, expires_ms)
		 VALUES ($1, $2, $3, $4, $5, $6)`,
		t.RefHash, t.CommunityID, t.Plugin, t.UserID, t.Token, t.Expires.UnixMilli())
	if err != nil {
		return fmt.Errorf("storing an OAuth user token: %w", interpretError(err))
	}
	return nil
}

// OAuthUserTokenTake returns the unexpired token with this reference hash
// and deletes it, so it is fetched once.
func (q *Tx) OAuthUserTokenTake(ctx context.Context, refHash string, now time.Time) (OAuthUserToken, error) {
	t := OAuthUserToken{RefHash: refHash}
	var expires int64
	err := q.db.QueryRowContext(ctx,
		`DELETE FROM oauth_user_tokens WHERE ref_hash = $1 AND expires_ms > $2
		 RETURNING community_id, plugin, user_id, token, expires_ms`, refHash, now.UnixMilli()).
		Scan(&t.CommunityID, &t.Plugin, &t.UserID, &t.Token, &expires)
	if err != nil {
		return t, fmt.Errorf("fetching an OAuth user token: %w", interpretError(err))
	}
	t.Expires = time.UnixMilli(expires)
	return t, nil
}

// OAuthUserTokenPeek returns the unexpired token with this reference hash
// without deleting it, so the caller can check who may take it.
func (q *Reader) OAuthUserTokenPeek(ctx context.Context, refHash string, now time.Time) (OAuthUserToken, error) {
	t := OAuthUserToken{RefHash: refHash}
	var expires int64
	err := q.db.QueryRowContext(ctx,
		`SELECT community_id, plugin, user_id, token, expires_ms FROM oauth_user_tokens
		 WHERE ref_hash = $1 AND expires_ms > $2`, refHash, now.UnixMilli()).
		Scan(&t.CommunityID, &t.Plugin, &t.UserID, &t.Token, &expires)
	if err != nil {
		return t, fmt.Errorf("fetching an OAuth user token: %w", interpretError(err))
	}
	t.Expires = time.UnixMilli(expires)
	return t, nil
}

// OAuthDeleteExpired deletes the used-state records and user tokens that
// have expired, and returns how many.
func (q *Tx) OAuthDeleteExpired(ctx context.Context, now time.Time) (int64, error) {
	var total int64
	for _, table := range []string{"oauth_used_states", "oauth_user_tokens"} {
		res, err := q.db.ExecContext(ctx, `DELETE FROM `+table+` WHERE expires_ms <= $1`, now.UnixMilli())
		if err != nil {
			return total, fmt.Errorf("deleting expired rows of %s: %w", table, err)
		}
		n, _ := res.RowsAffected()
		total += n
	}
	return total, nil
}
