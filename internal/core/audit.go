package core

import (
	"context"
	"encoding/json"
	"time"

	"github.com/metagov/metagov-go/internal/store"
)

// audit records a change made by the caller in ctx, inside tx. Details never
// carry secrets: configs go in redacted.
func (g *Gateway) audit(ctx context.Context, tx *store.Tx, c store.Community, action string, detail any) error {
	e := &store.AuditEntry{CommunityID: c.ID, Community: c.Slug, Action: action, Detail: mustJSON(detail)}
	if p := principalFrom(ctx); p != nil {
		e.KeyID = p.KeyID
	}
	return tx.AuditInsert(ctx, e)
}

// AuditView is one audit entry as the API shows it.
type AuditView struct {
	ID        int64           `json:"id"`
	At        time.Time       `json:"at"`
	KeyID     *int64          `json:"key_id"`
	Community string          `json:"community"`
	Action    string          `json:"action"`
	Detail    json.RawMessage `json:"detail"`
}

// ListAudit returns the audit log of the caller's communities, after a
// cursor. Admins and local callers also see entries about keys.
func (g *Gateway) ListAudit(ctx context.Context, after int64, limit int) ([]AuditView, error) {
	p := &store.AuditListParams{AfterID: after, Limit: pageSize(limit)}
	if pr := principalFrom(ctx); pr.limited() {
		p.CommunityIDs = []int64{}
		for id := range pr.Communities {
			p.CommunityIDs = append(p.CommunityIDs, id)
		}
	}
	rows, err := g.store.AuditList(ctx, p)
	if err != nil {
		return nil, err
	}
	out := make([]AuditView, 0, len(rows))
	for _, e := range rows {
		v := AuditView{ID: e.ID, At: e.At, Community: e.Community, Action: e.Action, Detail: e.Detail}
		if e.KeyID != 0 {
			id := e.KeyID
			v.KeyID = &id
		}
		out = append(out, v)
	}
	return out, nil
}
