package store

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Delivery kinds.
const (
	DeliveryCallback = "callback" // a process record to the process's callback_url
	DeliveryEvent    = "event"    // an event to the driver's event receiver
)

// Delivery statuses.
const (
	DeliveryPending   = "pending"
	DeliverySucceeded = "succeeded"
	DeliveryFailed    = "failed"
)

// Delivery is one message to a driver, stored in the transaction that caused
// it (the outbox) and sent by a worker afterwards.
type Delivery struct {
	ID          int64
	CommunityID int64
	Kind        string
	ProcessID   int64 // zero for events
	EventID     int64 // zero for callbacks
	// MessageID is the webhook-id header: the same on every attempt, so a
	// receiver can de-duplicate.
	MessageID string
	// RequestID is the id of the API request that caused the delivery, if
	// any, so its log lines can be followed to the delivery's.
	RequestID string
	URL       string
	Payload   []byte // the exact body to send
	Status    string
	Attempts  int
	LastError string
	CreatedAt time.Time
	UpdatedAt time.Time
}

const deliveryColumns = `id, community_id, kind, COALESCE(process_id, 0), COALESCE(event_id, 0), message_id, request_id,
	url, payload, status, attempts, last_error, created_at, updated_at`

// deliveryQualified is deliveryColumns qualified with the table's name, for
// statements that join it.
const deliveryQualified = `deliveries.id, deliveries.community_id, deliveries.kind, COALESCE(deliveries.process_id, 0),
	COALESCE(deliveries.event_id, 0), deliveries.message_id, deliveries.request_id, deliveries.url, deliveries.payload,
	deliveries.status, deliveries.attempts, deliveries.last_error, deliveries.created_at, deliveries.updated_at`

func scanDelivery(row interface{ Scan(...any) error }) (Delivery, error) {
	var d Delivery
	var payload string
	err := row.Scan(&d.ID, &d.CommunityID, &d.Kind, &d.ProcessID, &d.EventID, &d.MessageID, &d.RequestID, &d.URL,
		&payload, &d.Status, &d.Attempts, &d.LastError, &d.CreatedAt, &d.UpdatedAt)
	d.Payload = []byte(payload)
	return d, interpretError(err)
}

// DeliveryInsertParams are the fields of a new delivery.
type DeliveryInsertParams struct {
	CommunityID int64
	Kind        string
	ProcessID   int64
	EventID     int64
	MessageID   string
	RequestID   string
	URL         string
	Payload     []byte
	// At is when the delivery is queued, by the gateway's clock: its
	// creation time and first due time, compared with the dispatcher's
	// clock (DispatcherConfig.Now, the same one). Zero is the real clock.
	At time.Time
}

// deliveryInsert queues a delivery and returns its id (see Tx.DeliveryInsert).
func (q *Tx) deliveryInsert(ctx context.Context, p *DeliveryInsertParams) (int64, error) {
	var processID, eventID any
	if p.ProcessID != 0 {
		processID = p.ProcessID
	}
	if p.EventID != 0 {
		eventID = p.EventID
	}
	t := now()
	if !p.At.IsZero() {
		t = p.At.UTC()
	}
	var id int64
	err := q.db.QueryRowContext(ctx,
		`INSERT INTO deliveries (community_id, kind, process_id, event_id, message_id, request_id, url, payload, status,
		   next_attempt_ms, created_at, updated_at)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', $9, $10, $10) RETURNING id`,
		p.CommunityID, p.Kind, processID, eventID, p.MessageID, p.RequestID, p.URL, string(p.Payload), t.UnixMilli(), t).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("inserting %s delivery: %w", p.Kind, interpretError(err))
	}
	return id, nil
}

// DeliveryReplaceQueued puts a newer process record in place of the
// payload of its process's queued callback, one no attempt has been made
// at and no dispatcher holds, and reports whether there was one; the
// caller inserts a new delivery otherwise. The callback gets a new
// webhook-id (p.MessageID), since it is a new message. So a process whose
// changes come faster than its driver takes them has at most one callback
// in flight and one waiting, the waiting one always the latest record.
func (q *Tx) DeliveryReplaceQueued(ctx context.Context, now time.Time, p *DeliveryInsertParams) (bool, error) {
	const queued = `process_id = $1 AND kind = 'callback' AND status = 'pending' AND attempts = 0 AND lease_until_ms <= $2`
	res, err := q.db.ExecContext(ctx,
		`UPDATE deliveries SET payload = $3, url = $4, message_id = $5, request_id = $6, updated_at = $7
		 WHERE id = (SELECT id FROM deliveries WHERE `+queued+` ORDER BY id DESC LIMIT 1) AND `+queued,
		p.ProcessID, now.UnixMilli(), string(p.Payload), p.URL, p.MessageID, p.RequestID, now.UTC())
	if err != nil {
		return false, fmt.Errorf("replacing the queued callback of process %d: %w", p.ProcessID, interpretError(err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("replacing the queued callback of process %d: %w", p.ProcessID, err)
	}
	if n > 0 {
		q.queued++
	}
	return n > 0, nil
}

// DeliveryGetByID returns one delivery.
func (q *Reader) DeliveryGetByID(ctx context.Context, id int64) (Delivery, error) {
	d, err := scanDelivery(q.db.QueryRowContext(ctx, `SELECT `+deliveryColumns+` FROM deliveries WHERE id = $1`, id))
	if err != nil {
		return d, fmt.Errorf("fetching delivery %d: %w", id, err)
	}
	return d, nil
}

// DeliveryListParams filter a delivery listing; zero values do not filter.
type DeliveryListParams struct {
	CommunityID int64
	Status      string
	Kind        string
	ProcessID   int64
	// AfterID lists deliveries with a greater id (the cursor).
	AfterID int64
	Limit   int
}

// DeliveryList returns deliveries matching p, oldest first.
func (q *Reader) DeliveryList(ctx context.Context, p *DeliveryListParams) ([]Delivery, error) {
	var where []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, strings.Replace(cond, "?", "$"+strconv.Itoa(len(args)), 1))
	}
	add("id > ?", p.AfterID)
	if p.CommunityID != 0 {
		add("community_id = ?", p.CommunityID)
	}
	if p.Status != "" {
		add("status = ?", p.Status)
	}
	if p.Kind != "" {
		add("kind = ?", p.Kind)
	}
	if p.ProcessID != 0 {
		add("process_id = ?", p.ProcessID)
	}
	args = append(args, p.Limit)
	rows, err := q.db.QueryContext(ctx, `SELECT `+deliveryColumns+` FROM deliveries WHERE `+strings.Join(where, " AND ")+
		` ORDER BY id LIMIT $`+strconv.Itoa(len(args)), args...)
	if err != nil {
		return nil, fmt.Errorf("listing deliveries: %w", err)
	}
	defer rows.Close()
	var out []Delivery
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, fmt.Errorf("listing deliveries: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// DeliveryAttempt is one try at sending a delivery.
type DeliveryAttempt struct {
	DeliveryID  int64
	AttemptedAt time.Time
	StatusCode  int // zero when there was no answer
	Error       string
	Duration    time.Duration
}

// DeliveryAttemptList returns the attempts of the deliveries with ids in
// [fromID, toID], in order, keyed by delivery id.
func (q *Reader) DeliveryAttemptList(ctx context.Context, fromID, toID int64) (map[int64][]DeliveryAttempt, error) {
	rows, err := q.db.QueryContext(ctx,
		`SELECT delivery_id, attempted_at, status_code, error, duration_ms FROM delivery_attempts
		 WHERE delivery_id >= $1 AND delivery_id <= $2 ORDER BY id`, fromID, toID)
	if err != nil {
		return nil, fmt.Errorf("listing delivery attempts: %w", err)
	}
	defer rows.Close()
	out := map[int64][]DeliveryAttempt{}
	for rows.Next() {
		var a DeliveryAttempt
		var ms int64
		if err := rows.Scan(&a.DeliveryID, &a.AttemptedAt, &a.StatusCode, &a.Error, &ms); err != nil {
			return nil, fmt.Errorf("listing delivery attempts: %w", err)
		}
		a.Duration = time.Duration(ms) * time.Millisecond
		out[a.DeliveryID] = append(out[a.DeliveryID], a)
	}
	return out, rows.Err()
}

// notBehind keeps a process's callbacks one at a time: a callback (d) is
// not claimed while an older one of its process is in flight or due, so at
// most one is in flight and they are sent in order (an older one waiting
// to be retried does not hold newer ones back).
const notBehind = `(d.kind <> 'callback' OR NOT EXISTS (
		SELECT 1 FROM deliveries o WHERE o.process_id = d.process_id AND o.status = 'pending' AND o.id < d.id
		AND o.kind = 'callback' AND (o.lease_until_ms > $2 OR o.next_attempt_ms <= $2)))`

// DeliveryClaim leases up to limit due, pending deliveries until leaseUntil
// and returns them, a process's callbacks one at a time (see notBehind). A claimed delivery is skipped by other claimers until
// its lease ends, so a dispatcher that dies mid-delivery hands it back by
// simply not finishing. It runs in the transaction because it must: the
// lease is what keeps gateway processes apart. On PostgreSQL the rows are
// locked with SKIP LOCKED, so that two gateways claiming at once take
// disjoint rows instead of one waiting for the other's commit and then
// finding its rows leased; SQLite has a single writer and needs no lock.
func (q *Tx) DeliveryClaim(ctx context.Context, now, leaseUntil time.Time, limit int) ([]Delivery, error) {
	query := `UPDATE deliveries SET lease_until_ms = $1
		 WHERE id IN (SELECT id FROM deliveries d WHERE status = 'pending' AND next_attempt_ms <= $2 AND lease_until_ms <= $2
		              AND ` + notBehind + `
		              ORDER BY next_attempt_ms, id LIMIT $3)
		   AND +status = 'pending' AND lease_until_ms <= $2
		 RETURNING ` + deliveryColumns
	// The unary + keeps SQLite from looking the rows up by the status
	// index, which would read every pending delivery on each claim (a
	// backlog drained in quadratic time), instead of by id.
	if q.dialect == Postgres {
		// A CTE, because PostgreSQL may run a locking subquery under IN
		// more than once and so lease more than limit rows.
		query = `WITH due AS (
		   SELECT id FROM deliveries d WHERE status = 'pending' AND next_attempt_ms <= $2 AND lease_until_ms <= $2
		   AND ` + notBehind + `
		   ORDER BY next_attempt_ms, id LIMIT $3 FOR UPDATE SKIP LOCKED)
		 UPDATE deliveries SET lease_until_ms = $1 FROM due WHERE deliveries.id = due.id
		 RETURNING ` + deliveryQualified
	}
	rows, err := q.db.QueryContext(ctx, query, leaseUntil.UnixMilli(), now.UnixMilli(), limit)
	if err != nil {
		return nil, fmt.Errorf("claiming deliveries: %w", err)
	}
	defer rows.Close()
	var out []Delivery
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, fmt.Errorf("claiming deliveries: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// DeliveryNextDue returns when the next pending delivery can be claimed:
// when it is due, or its lease ends if that is later; ok is false when none
// is pending. It is a read, so looking takes no write lock.
func (q *Reader) DeliveryNextDue(ctx context.Context) (at time.Time, ok bool, err error) {
	var ms sql.NullInt64
	err = q.db.QueryRowContext(ctx,
		`SELECT min(CASE WHEN lease_until_ms > next_attempt_ms THEN lease_until_ms ELSE next_attempt_ms END)
		 FROM deliveries WHERE status = 'pending'`).Scan(&ms)
	if err != nil {
		return at, false, fmt.Errorf("looking for due deliveries: %w", err)
	}
	if !ms.Valid {
		return at, false, nil
	}
	return time.UnixMilli(ms.Int64), true, nil
}

// DeliveryOutcome is the result of one attempt and what it decides.
type DeliveryOutcome struct {
	Attempt DeliveryAttempt
	// Status is the delivery's new status.
	Status string
	// NextAttempt is when to try again, for a pending delivery.
	NextAttempt time.Time
	// MessageID is the webhook-id that was sent; empty matches any. A
	// callback whose send outlasted its lease may have been replaced by a
	// newer record meanwhile (DeliveryReplaceQueued takes it for queued),
	// and then carries another id: its attempt is recorded, but it stays
	// pending and untried, so that the newer record still goes out.
	MessageID string
}

// DeliveryRecord stores an attempt, the delivery's new status and when it is
// due again, and ends its lease. A delivery that no longer exists (deleted
// with its community) is skipped without error.
func (q *Tx) DeliveryRecord(ctx context.Context, o *DeliveryOutcome) error {
	a := o.Attempt
	// The delivery first: if it went away with its community while the
	// attempt was in flight, there is nothing to record, and the attempt's
	// foreign key must not fail the batch it is recorded with (the other
	// deliveries' outcomes would be lost, and they sent again).
	const sent = `($6 = '' OR message_id = $6)`
	res, err := q.db.ExecContext(ctx,
		`UPDATE deliveries SET status = CASE WHEN `+sent+` THEN $1 ELSE status END,
		   attempts = CASE WHEN `+sent+` THEN attempts + 1 ELSE attempts END, last_error = $2,
		   next_attempt_ms = CASE WHEN `+sent+` THEN $3 ELSE next_attempt_ms END, lease_until_ms = 0, updated_at = $4
		 WHERE id = $5`,
		o.Status, a.Error, o.NextAttempt.UnixMilli(), now(), a.DeliveryID, o.MessageID)
	if err != nil {
		return fmt.Errorf("updating delivery %d: %w", a.DeliveryID, err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return nil
	}
	_, err = q.db.ExecContext(ctx,
		`INSERT INTO delivery_attempts (delivery_id, attempted_at, status_code, error, duration_ms)
		 VALUES ($1, $2, $3, $4, $5)`,
		a.DeliveryID, a.AttemptedAt.UTC(), a.StatusCode, a.Error, a.Duration.Milliseconds())
	if err != nil {
		return fmt.Errorf("recording attempt of delivery %d: %w", a.DeliveryID, err)
	}
	return nil
}

// DeliveryReset makes a delivery pending and due at at (the gateway's
// clock; zero is the real clock), for a redelivery.
func (q *Tx) DeliveryReset(ctx context.Context, id int64, at time.Time) error {
	t := now()
	if !at.IsZero() {
		t = at.UTC()
	}
	_, err := q.db.ExecContext(ctx,
		`UPDATE deliveries SET status = 'pending', next_attempt_ms = $1, lease_until_ms = 0, updated_at = $2 WHERE id = $3`,
		t.UnixMilli(), t, id)
	if err != nil {
		return fmt.Errorf("resetting delivery %d: %w", id, err)
	}
	return nil
}

// DeliveryOldestPending returns when the oldest pending delivery was
// created, for the delivery lag metric; ok is false when none is pending.
func (q *Reader) DeliveryOldestPending(ctx context.Context) (created time.Time, ok bool, err error) {
	rows, err := q.db.QueryContext(ctx, `SELECT created_at FROM deliveries WHERE status = 'pending' ORDER BY id LIMIT 1`)
	if err != nil {
		return created, false, fmt.Errorf("finding the oldest pending delivery: %w", err)
	}
	defer rows.Close()
	if rows.Next() {
		err = rows.Scan(&created)
		return created, err == nil, err
	}
	return created, false, rows.Err()
}

// JobsPending counts the job queue's jobs that wait to run. It reads River's
// table, which shares the database.
func (q *Reader) JobsPending(ctx context.Context) (int64, error) {
	var n int64
	err := q.db.QueryRowContext(ctx,
		`SELECT count(*) FROM river_job WHERE state IN ('available', 'retryable', 'scheduled')`).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("counting pending jobs: %w", err)
	}
	return n, nil
}
