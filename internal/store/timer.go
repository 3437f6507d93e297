package store

import (
	"context"
	"fmt"
	"time"
)

// Timer is a durable wake-up of a process.
type Timer struct {
	ID        int64
	ProcessID int64
	Due       time.Time
}

// TimerInsert schedules a wake-up of a process.
func (q *Tx) TimerInsert(ctx context.Context, processID int64, due time.Time) error {
	_, err := q.db.ExecContext(ctx, `INSERT INTO process_timers (process_id, due_ms) VALUES ($1, $2)`,
		processID, due.UnixMilli())
	if err != nil {
		return fmt.Errorf("scheduling wake-up of process %d: %w", processID, err)
	}
	return nil
}

// TimerListDue returns up to limit timers due at now, oldest first.
func (q *Reader) TimerListDue(ctx context.Context, now time.Time, limit int) ([]Timer, error) {
	rows, err := q.db.QueryContext(ctx,
		`SELECT id, process_id, due_ms FROM process_timers WHERE due_ms <= $1 ORDER BY due_ms, id LIMIT $2`,
		now.UnixMilli(), limit)
	if err != nil {
		return nil, fmt.Errorf("listing due timers: %w", err)
	}
	defer rows.Close()
	var out []Timer
	for rows.Next() {
		var t Timer
		var ms int64
		if err := rows.Scan(&t.ID, &t.ProcessID, &ms); err != nil {
			return nil, fmt.Errorf("listing due timers: %w", err)
		}
		t.Due = time.UnixMilli(ms).UTC()
		out = append(out, t)
	}
	return out, rows.Err()
}

// TimerDelete removes a timer that fired and reports whether it was still
// there: two gateway processes firing timers at once both list it, and only
// the one whose delete took it may queue its wake-up.
func (q *Tx) TimerDelete(ctx context.Context, id int64) (bool, error) {
	res, err := q.db.ExecContext(ctx, `DELETE FROM process_timers WHERE id = $1`, id)
	if err != nil {
		return false, fmt.Errorf("deleting timer %d: %w", id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("deleting timer %d: %w", id, err)
	}
	return n > 0, nil
}

// TimerDue reports whether some timer is due at now, without taking the
// write lock.
func (q *Reader) TimerDue(ctx context.Context, now time.Time) (bool, error) {
	rows, err := q.db.QueryContext(ctx, `SELECT 1 FROM process_timers WHERE due_ms <= $1 LIMIT 1`, now.UnixMilli())
	if err != nil {
		return false, fmt.Errorf("looking for due timers: %w", err)
	}
	defer rows.Close()
	return rows.Next(), rows.Err()
}
