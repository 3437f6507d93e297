package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"
)

// Process is a governance process: a vote, a poll, a budget.
type Process struct {
	ID          int64
	CommunityID int64
	// InstanceID is zero once the plugin instance that ran the process was
	// removed (only completed processes outlive their instance).
	InstanceID  int64
	Plugin      string
	Name        string
	Status      string
	Input       json.RawMessage
	Outcome     json.RawMessage
	Errors      json.RawMessage
	URL         string
	State       json.RawMessage
	CallbackURL string
	// Sequence increases with every committed change; updates compare and
	// set it, so concurrent changes cannot overwrite each other.
	Sequence  int64
	CreatedAt time.Time
	UpdatedAt time.Time
}

const processColumns = `id, community_id, instance_id, plugin, name, status, input, outcome, errors, url, state,
	callback_url, sequence, created_at, updated_at`

func scanProcess(row interface{ Scan(...any) error }) (Process, error) {
	var p Process
	var instanceID sql.NullInt64
	var input, outcome, errs, state []byte
	err := row.Scan(&p.ID, &p.CommunityID, &instanceID, &p.Plugin, &p.Name, &p.Status, &input, &outcome, &errs,
		&p.URL, &state, &p.CallbackURL, &p.Sequence, &p.CreatedAt, &p.UpdatedAt)
	p.InstanceID = instanceID.Int64
	p.Input, p.Outcome, p.Errors, p.State = input, outcome, errs, state
	return p, interpretError(err)
}

// ProcessGetByID returns one process.
func (q *Reader) ProcessGetByID(ctx context.Context, id int64) (Process, error) {
	p, err := scanProcess(q.db.QueryRowContext(ctx, `SELECT `+processColumns+` FROM processes WHERE id = $1`, id))
	if err != nil {
		return p, fmt.Errorf("fetching process %d: %w", id, err)
	}
	return p, nil
}

func (q *Reader) listProcesses(ctx context.Context, what, where string, args ...any) ([]Process, error) {
	rows, err := q.db.QueryContext(ctx, `SELECT `+processColumns+` FROM processes WHERE `+where+` ORDER BY id`, args...)
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", what, err)
	}
	defer rows.Close()
	var out []Process
	for rows.Next() {
		p, err := scanProcess(rows)
		if err != nil {
			return nil, fmt.Errorf("listing %s: %w", what, err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing %s: %w", what, err)
	}
	return out, nil
}

// ProcessListOpenByInstance returns an instance's processes that have not
// completed.
func (q *Reader) ProcessListOpenByInstance(ctx context.Context, instanceID int64) ([]Process, error) {
	return q.listProcesses(ctx, "open processes of an instance",
		`instance_id = $1 AND status <> 'completed'`, instanceID)
}

// ProcessListPendingIDsByType returns the ids of the pending processes of one
// type, in all communities.
func (q *Reader) ProcessListPendingIDsByType(ctx context.Context, plugin, name string) ([]int64, error) {
	rows, err := q.db.QueryContext(ctx,
		`SELECT id FROM processes WHERE plugin = $1 AND name = $2 AND status = 'pending' ORDER BY id`, plugin, name)
	if err != nil {
		return nil, fmt.Errorf("listing pending %s.%s processes: %w", plugin, name, err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("listing pending %s.%s processes: %w", plugin, name, err)
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// ProcessIDsReserve reserves n consecutive process ids and returns the
// first. Run it in its own transaction: it serialises on one row.
func (q *Tx) ProcessIDsReserve(ctx context.Context, n int64) (int64, error) {
	var next int64
	err := q.db.QueryRowContext(ctx,
		`UPDATE id_blocks SET next_id = next_id + $1 WHERE name = 'processes' RETURNING next_id`, n).Scan(&next)
	if err != nil {
		return 0, fmt.Errorf("reserving process ids: %w", interpretError(err))
	}
	return next - n, nil
}

// ProcessInsert writes a new process, with the id reserved for it and the
// fields its start produced.
func (q *Tx) ProcessInsert(ctx context.Context, p *Process) error {
	t := now()
	_, err := q.db.ExecContext(ctx,
		`INSERT INTO processes (id, community_id, instance_id, plugin, name, status, input, outcome, errors, url, state,
		   callback_url, sequence, created_at, updated_at)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14)`,
		p.ID, p.CommunityID, p.InstanceID, p.Plugin, p.Name, p.Status, []byte(p.Input), []byte(p.Outcome),
		[]byte(p.Errors), p.URL, []byte(p.State), p.CallbackURL, p.Sequence, t)
	if err != nil {
		return fmt.Errorf("inserting %s.%s process %d: %w", p.Plugin, p.Name, p.ID, interpretError(err))
	}
	return nil
}

// ProcessUpdateParams are the new fields of a process and the sequence the
// caller read it at.
type ProcessUpdateParams struct {
	ID          int64
	OldSequence int64
	Status      string
	Outcome     json.RawMessage
	Errors      json.RawMessage
	URL         string
	State       json.RawMessage
}

// ProcessUpdate writes a process's new fields and increments its sequence if
// nobody changed it since OldSequence; otherwise it returns ErrConflict. A
// completed process cannot be changed back.
func (q *Tx) ProcessUpdate(ctx context.Context, p *ProcessUpdateParams) (int64, error) {
	res, err := q.db.ExecContext(ctx,
		`UPDATE processes SET status = $1, outcome = $2, errors = $3, url = $4, state = $5,
		   sequence = sequence + 1, updated_at = $6
		 WHERE id = $7 AND sequence = $8 AND (status <> 'completed' OR $1 = 'completed')`,
		p.Status, []byte(p.Outcome), []byte(p.Errors), p.URL, []byte(p.State), now(), p.ID, p.OldSequence)
	if err != nil {
		return 0, fmt.Errorf("updating process %d: %w", p.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return 0, fmt.Errorf("updating process %d: changed concurrently: %w", p.ID, ErrConflict)
	}
	return p.OldSequence + 1, nil
}
