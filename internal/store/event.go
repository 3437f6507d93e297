package store

import (
	"context"
	"database/sql"
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
func (q *Tx) EventInsert(ctx context.Context, p *EventInsertParams) (int64, error) {
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

// EventListParams select events after a cursor.
type EventListParams struct {
	// CommunityID limits the listing to one community; zero lists all.
	CommunityID int64
	AfterID     int64
	Limit       int
}

// EventList returns events with ids after p.AfterID, oldest first.
func (q *Reader) EventList(ctx context.Context, p *EventListParams) ([]Event, error) {
	const columns = `SELECT id, community_id, source, event_type, data, initiator, created_at FROM events `
	var rows *sql.Rows
	var err error
	if p.CommunityID == 0 {
		rows, err = q.db.QueryContext(ctx, columns+`WHERE id > $1 ORDER BY id LIMIT $2`, p.AfterID, p.Limit)
	} else {
		rows, err = q.db.QueryContext(ctx, columns+`WHERE id > $1 AND community_id = $2 ORDER BY id LIMIT $3`,
			p.AfterID, p.CommunityID, p.Limit)
	}
	if err != nil {
		return nil, fmt.Errorf("listing events: %w", err)
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var e Event
		var data, initiator []byte
		if err := rows.Scan(&e.ID, &e.CommunityID, &e.Source, &e.Type, &data, &initiator, &e.CreatedAt); err != nil {
			return nil, fmt.Errorf("listing events: %w", err)
		}
		e.Data, e.Initiator = data, initiator
		out = append(out, e)
	}
	return out, rows.Err()
}

// EventDeleteBefore deletes events created before t, with their deliveries,
// and returns how many went.
func (q *Tx) EventDeleteBefore(ctx context.Context, t time.Time) (int64, error) {
	res, err := q.db.ExecContext(ctx, `DELETE FROM events WHERE created_at < $1`, t.UTC())
	if err != nil {
		return 0, fmt.Errorf("deleting old events: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}
