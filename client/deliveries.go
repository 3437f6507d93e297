package client

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Delivery is a callback or event the gateway sent (or is sending) to a
// driver, with every attempt.
type Delivery struct {
	ID        int64           `json:"id"`
	MessageID string          `json:"message_id"`
	Kind      string          `json:"kind"`
	Community string          `json:"community"`
	ProcessID *int64          `json:"process_id"`
	EventID   *int64          `json:"event_id"`
	URL       string          `json:"url"`
	Status    string          `json:"status"`
	LastError string          `json:"last_error,omitempty"`
	Attempts  []Attempt       `json:"attempts"`
	Payload   json.RawMessage `json:"payload"`
	CreatedAt time.Time       `json:"created_at"`
	UpdatedAt time.Time       `json:"updated_at"`
}

// Attempt is one try at a delivery.
type Attempt struct {
	AttemptedAt time.Time `json:"attempted_at"`
	StatusCode  int       `json:"status_code,omitempty"`
	Error       string    `json:"error,omitempty"`
	DurationMS  int64     `json:"duration_ms"`
}

// DeliveryFilter selects deliveries; zero fields select all.
type DeliveryFilter struct {
	Community string
	Status    string // pending, succeeded or failed
	Kind      string // callback or event
	Process   int64
	After     int64 // the last id seen
	Limit     int   // at most 1000
}

func (f DeliveryFilter) query() url.Values {
	q := url.Values{}
	set := func(k, v string) {
		if v != "" {
			q.Set(k, v)
		}
	}
	set("community", f.Community)
	set("status", f.Status)
	set("kind", f.Kind)
	if f.Process > 0 {
		q.Set("process", strconv.FormatInt(f.Process, 10))
	}
	paging(q, f.After, f.Limit)
	return q
}

func paging(q url.Values, after int64, limit int) {
	if after > 0 {
		q.Set("after", strconv.FormatInt(after, 10))
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
}

// Deliveries lists deliveries; next is the cursor of the next page (pass it
// as After).
func (c *Client) Deliveries(ctx context.Context, f DeliveryFilter) (deliveries []Delivery, next int64, err error) {
	var out struct {
		Deliveries []Delivery `json:"deliveries"`
		Next       int64      `json:"next"`
	}
	_, err = c.getJSON(ctx, http.MethodGet, "/api/internal/deliveries", f.query(), nil, false, &out)
	return out.Deliveries, out.Next, err
}

// Delivery reads one delivery.
func (c *Client) Delivery(ctx context.Context, id int64) (*Delivery, error) {
	var out Delivery
	_, err := c.getJSON(ctx, http.MethodGet, "/api/internal/deliveries/"+strconv.FormatInt(id, 10), nil, nil, false, &out)
	return &out, err
}

// Redeliver sends a delivery again, with the same webhook-id.
func (c *Client) Redeliver(ctx context.Context, id int64) (*Delivery, error) {
	var out Delivery
	_, err := c.getJSON(ctx, http.MethodPost, "/api/internal/deliveries/"+strconv.FormatInt(id, 10)+"/redeliver", nil, nil, false, &out)
	return &out, err
}

// Event is something that happened on a platform, as the gateway POSTs it
// to the event receiver and as Events pulls it.
type Event struct {
	ID        int64           `json:"id"`
	Community string          `json:"community"`
	Source    string          `json:"source"`
	EventType string          `json:"event_type"`
	Timestamp string          `json:"timestamp"`
	Data      json.RawMessage `json:"data"`
	Initiator Initiator       `json:"initiator"`
}

// Initiator is who acted on the platform.
type Initiator struct {
	// UserID is nil when the platform did not say.
	UserID       *string `json:"user_id"`
	Provider     string  `json:"provider"`
	UserName     string  `json:"user_name,omitempty"`
	IsMetagovBot bool    `json:"is_metagov_bot,omitempty"`
}

// EventFilter selects events to pull.
type EventFilter struct {
	Community string
	After     int64 // the last event id seen
	Limit     int   // at most 1000
}

// Events pulls events after a cursor, oldest first; next is the cursor to
// pass as After for the next page.
func (c *Client) Events(ctx context.Context, f EventFilter) (events []Event, next int64, err error) {
	q := url.Values{}
	if f.Community != "" {
		q.Set("community", f.Community)
	}
	paging(q, f.After, f.Limit)
	var out struct {
		Events []Event `json:"events"`
		Next   int64   `json:"next"`
	}
	_, err = c.getJSON(ctx, http.MethodGet, "/api/internal/events", q, nil, false, &out)
	return out.Events, out.Next, err
}

// AuditEntry is one change a driver made.
type AuditEntry struct {
	ID        int64           `json:"id"`
	At        time.Time       `json:"at"`
	KeyID     *int64          `json:"key_id"`
	Community string          `json:"community"`
	Action    string          `json:"action"`
	Detail    json.RawMessage `json:"detail"`
}

// Audit lists the audit log of the caller's communities after a cursor.
func (c *Client) Audit(ctx context.Context, after int64, limit int) (entries []AuditEntry, next int64, err error) {
	q := url.Values{}
	paging(q, after, limit)
	var out struct {
		Entries []AuditEntry `json:"entries"`
		Next    int64        `json:"next"`
	}
	_, err = c.getJSON(ctx, http.MethodGet, "/api/internal/audit", q, nil, false, &out)
	return out.Entries, out.Next, err
}
