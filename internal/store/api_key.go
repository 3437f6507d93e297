package store

import (
	"context"
	"fmt"
	"time"
)

// APIKey is a driver's credential. The key itself is never stored.
type APIKey struct {
	ID        int64
	Name      string
	Prefix    string // the key's first characters, to recognise it
	Admin     bool
	CreatedAt time.Time
	RevokedAt *time.Time
	// CommunityIDs are the communities a key that is not admin reaches.
	CommunityIDs []int64
}

// APIKeyInsertParams are the fields of a new key.
type APIKeyInsertParams struct {
	Name         string
	Prefix       string
	Hash         string
	Admin        bool
	CommunityIDs []int64
}

// APIKeyInsert stores a key and its communities.
func (q *Tx) APIKeyInsert(ctx context.Context, p *APIKeyInsertParams) (int64, error) {
	var id int64
	err := q.db.QueryRowContext(ctx,
		`INSERT INTO api_keys (name, prefix, hash, admin, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
		p.Name, p.Prefix, p.Hash, p.Admin, now()).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("inserting api key: %w", interpretError(err))
	}
	for _, c := range p.CommunityIDs {
		if err := q.APIKeyAddCommunity(ctx, id, c); err != nil {
			return 0, err
		}
	}
	return id, nil
}

// APIKeyAddCommunity lets a key reach one more community.
func (q *Tx) APIKeyAddCommunity(ctx context.Context, keyID, communityID int64) error {
	_, err := q.db.ExecContext(ctx,
		`INSERT INTO api_key_communities (key_id, community_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, keyID, communityID)
	if err != nil {
		return fmt.Errorf("adding community %d to api key %d: %w", communityID, keyID, err)
	}
	return nil
}

// APIKeyGetByHash returns the key with the given hash, revoked or not.
func (q *Reader) APIKeyGetByHash(ctx context.Context, hash string) (APIKey, error) {
	var k APIKey
	err := q.db.QueryRowContext(ctx,
		`SELECT id, name, prefix, admin, created_at, revoked_at FROM api_keys WHERE hash = $1`, hash).
		Scan(&k.ID, &k.Name, &k.Prefix, &k.Admin, &k.CreatedAt, &k.RevokedAt)
	if err != nil {
		return k, fmt.Errorf("fetching api key: %w", interpretError(err))
	}
	k.CommunityIDs, err = q.apiKeyCommunities(ctx, k.ID)
	return k, err
}

func (q *Reader) apiKeyCommunities(ctx context.Context, keyID int64) ([]int64, error) {
	rows, err := q.db.QueryContext(ctx, `SELECT community_id FROM api_key_communities WHERE key_id = $1 ORDER BY community_id`, keyID)
	if err != nil {
		return nil, fmt.Errorf("listing communities of api key %d: %w", keyID, err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// APIKeyList returns every key, oldest first.
func (q *Reader) APIKeyList(ctx context.Context) ([]APIKey, error) {
	rows, err := q.db.QueryContext(ctx, `SELECT id, name, prefix, admin, created_at, revoked_at FROM api_keys ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("listing api keys: %w", err)
	}
	var out []APIKey
	for rows.Next() {
		var k APIKey
		if err := rows.Scan(&k.ID, &k.Name, &k.Prefix, &k.Admin, &k.CreatedAt, &k.RevokedAt); err != nil {
			rows.Close()
			return nil, fmt.Errorf("listing api keys: %w", err)
		}
		out = append(out, k)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		if out[i].CommunityIDs, err = q.apiKeyCommunities(ctx, out[i].ID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// APIKeyRevoke revokes a key; ErrNotFound if there is no such live key.
func (q *Tx) APIKeyRevoke(ctx context.Context, id int64) error {
	res, err := q.db.ExecContext(ctx, `UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL`, now(), id)
	if err != nil {
		return fmt.Errorf("revoking api key %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("revoking api key %d: %w", id, ErrNotFound)
	}
	return nil
}

// APIKeyCountLive counts keys that are not revoked.
func (q *Reader) APIKeyCountLive(ctx context.Context) (int64, error) {
	var n int64
	if err := q.db.QueryRowContext(ctx, `SELECT count(*) FROM api_keys WHERE revoked_at IS NULL`).Scan(&n); err != nil {
		return 0, fmt.Errorf("counting api keys: %w", err)
	}
	return n, nil
}

// AuditEntry is one change a driver made.
type AuditEntry struct {
	ID          int64
	At          time.Time
	KeyID       int64 // zero for unauthenticated local calls
	CommunityID int64
	Community   string
	Action      string
	Detail      []byte // JSON
}

// AuditInsert records a change.
func (q *Tx) AuditInsert(ctx context.Context, e *AuditEntry) error {
	var keyID, communityID any
	if e.KeyID != 0 {
		keyID = e.KeyID
	}
	if e.CommunityID != 0 {
		communityID = e.CommunityID
	}
	_, err := q.db.ExecContext(ctx,
		`INSERT INTO audit_log (at, key_id, community_id, community, action, detail) VALUES ($1, $2, $3, $4, $5, $6)`,
		now(), keyID, communityID, e.Community, e.Action, string(e.Detail))
	if err != nil {
		return fmt.Errorf("recording audit entry %s: %w", e.Action, err)
	}
	return nil
}

// AuditListParams select audit entries.
type AuditListParams struct {
	// CommunityIDs limits the listing; nil lists all.
	CommunityIDs []int64
	AfterID      int64
	Limit        int
}

// AuditList returns entries after a cursor, oldest first.
func (q *Reader) AuditList(ctx context.Context, p *AuditListParams) ([]AuditEntry, error) {
	rows, err := q.db.QueryContext(ctx,
		`SELECT id, at, COALESCE(key_id, 0), COALESCE(community_id, 0), community, action, detail FROM audit_log
		 WHERE id > $1 ORDER BY id LIMIT $2`, p.AfterID, max(p.Limit, 1)*4)
	if err != nil {
		return nil, fmt.Errorf("listing audit entries: %w", err)
	}
	defer rows.Close()
	allowed := map[int64]bool{}
	for _, id := range p.CommunityIDs {
		allowed[id] = true
	}
	var out []AuditEntry
	for rows.Next() && len(out) < p.Limit {
		var e AuditEntry
		var detail string
		if err := rows.Scan(&e.ID, &e.At, &e.KeyID, &e.CommunityID, &e.Community, &e.Action, &detail); err != nil {
			return nil, fmt.Errorf("listing audit entries: %w", err)
		}
		e.Detail = []byte(detail)
		if p.CommunityIDs == nil || allowed[e.CommunityID] {
			out = append(out, e)
		}
	}
	return out, rows.Err()
}
