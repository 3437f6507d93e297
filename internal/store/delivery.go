package store

import (
	"context"
	"fmt"
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
	URL         string
	Payload     []byte // the exact body to send
	Status      string
	Attempts    int
	LastError   string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

const deliveryColumns = `id, community_id, kind, COALESCE(process_id, 0), COALESCE(event_id, 0), url, payload, status,
	attempts, last_error, created_at, updated_at`

func scanDelivery(row interface{ Scan(...any) error }) (Delivery, error) {
	var d Delivery
	var payload string
	err := row.Scan(&d.ID, &d.CommunityID, &d.Kind, &d.ProcessID, &d.EventID, &d.URL, &payload, &d.Status,
		&d.Attempts, &d.LastError, &d.CreatedAt, &d.UpdatedAt)
	d.Payload = []byte(payload)
	return d, interpretError(err)
}

// DeliveryInsertParams are the fields of a new delivery.
type DeliveryInsertParams struct {
	CommunityID int64
	Kind        string
	ProcessID   int64
	EventID     int64
	URL         string
	Payload     []byte
}

// DeliveryInsert queues a delivery and returns its id.
func (q *Queries) DeliveryInsert(ctx context.Context, p *DeliveryInsertParams) (int64, error) {
	var processID, eventID any
	if p.ProcessID != 0 {
		processID = p.ProcessID
	}
	if p.EventID != 0 {
		eventID = p.EventID
	}
	t := now()
	var id int64
	err := q.db.QueryRowContext(ctx,
		`INSERT INTO deliveries (community_id, kind, process_id, event_id, url, payload, status, created_at, updated_at)
		 VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, $7) RETURNING id`,
		p.CommunityID, p.Kind, processID, eventID, p.URL, string(p.Payload), t).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("inserting %s delivery: %w", p.Kind, interpretError(err))
	}
	return id, nil
}

// DeliveryGetByID returns one delivery.
func (q *Queries) DeliveryGetByID(ctx context.Context, id int64) (Delivery, error) {
	d, err := scanDelivery(q.db.QueryRowContext(ctx, `SELECT `+deliveryColumns+` FROM deliveries WHERE id = $1`, id))
	if err != nil {
		return d, fmt.Errorf("fetching delivery %d: %w", id, err)
	}
	return d, nil
}

// DeliveryAttemptParams describe one attempt to send a delivery.
type DeliveryAttemptParams struct {
	DeliveryID  int64
	AttemptedAt time.Time
	StatusCode  int // zero when there was no answer
	Error       string
	Duration    time.Duration
	// NewStatus is the delivery's status after the attempt.
	NewStatus string
}

// DeliveryRecordAttempt stores an attempt and the delivery's new status.
func (q *Queries) DeliveryRecordAttempt(ctx context.Context, p *DeliveryAttemptParams) error {
	_, err := q.db.ExecContext(ctx,
		`INSERT INTO delivery_attempts (delivery_id, attempted_at, status_code, error, duration_ms)
		 VALUES ($1, $2, $3, $4, $5)`,
		p.DeliveryID, p.AttemptedAt.UTC(), p.StatusCode, p.Error, p.Duration.Milliseconds())
	if err != nil {
		return fmt.Errorf("recording attempt of delivery %d: %w", p.DeliveryID, err)
	}
	_, err = q.db.ExecContext(ctx,
		`UPDATE deliveries SET status = $1, attempts = attempts + 1, last_error = $2, updated_at = $3 WHERE id = $4`,
		p.NewStatus, p.Error, now(), p.DeliveryID)
	if err != nil {
		return fmt.Errorf("updating delivery %d: %w", p.DeliveryID, err)
	}
	return nil
}
