package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// Event is something that happened on a platform, kept for the driver.
type Event struct {
	ID          int64
	CommunityID int64
	Source      string
	Type        string
	Data        json.RawMessage
	Initiator   json.RawMessage // nil when unknown
	CreatedAt   time.Time
}

// EventInsertParams are the fields of a new event.
type EventInsertParams struct {
	CommunityID int64
	Source      string
	Type        string
	Data        json.RawMessage
	Initiator   json.RawMessage
	CreatedAt   time.Time
}

// EventInsert stores an event and returns its id.
func (q *Queries) EventInsert(ctx context.Context, p *EventInsertParams) (int64, error) {
	var initiator any
	if p.Initiator != nil {
		initiator = []byte(p.Initiator)
	}
	var id int64
	err := q.db.QueryRowContext(ctx,
		`INSERT INTO events (community_id, source, event_type, data, initiator, created_at)
		 VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
		p.CommunityID, p.Source, p.Type, []byte(p.Data), initiator, p.CreatedAt.UTC()).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("inserting %s event %q: %w", p.Source, p.Type, interpretError(err))
	}
	return id, nil
}
