package core

import (
	"context"
	"encoding/json"
	"time"

	"github.com/metagov/metagov-go/internal/store"
)

// DeliveryFilter selects deliveries; zero values do not filter.
type DeliveryFilter struct {
	Community string
	Status    string
	Kind      string
	ProcessID int64
	// After is the cursor: list deliveries with a greater id.
	After int64
	Limit int
}

// DeliveryView is a delivery with its attempts, as the API shows it.
type DeliveryView struct {
	ID        int64           `json:"id"`
	MessageID string          `json:"message_id"`
	Kind      string          `json:"kind"`
	Community string          `json:"community"`
	ProcessID *int64          `json:"process_id"`
	EventID   *int64          `json:"event_id"`
	URL       string          `json:"url"`
	Status    string          `json:"status"`
	LastError string          `json:"last_error,omitempty"`
	Attempts  []AttemptView   `json:"attempts"`
	Payload   json.RawMessage `json:"payload"`
	CreatedAt time.Time       `json:"created_at"`
	UpdatedAt time.Time       `json:"updated_at"`
}

// AttemptView is one try at sending a delivery.
type AttemptView struct {
	AttemptedAt time.Time `json:"attempted_at"`
	StatusCode  int       `json:"status_code,omitempty"`
	Error       string    `json:"error,omitempty"`
	DurationMS  int64     `json:"duration_ms"`
}

// Limits of list pages.
const (
	DefaultPageSize = 100
	MaxPageSize     = 1000
)

func pageSize(n int) int {
	if n <= 0 {
		return DefaultPageSize
	}
	return min(n, MaxPageSize)
}

// ListDeliveries lists deliveries, oldest first, with their attempts.
func (g *Gateway) ListDeliveries(ctx context.Context, f DeliveryFilter) ([]DeliveryView, error) {
	p := &store.DeliveryListParams{Status: f.Status, Kind: f.Kind, ProcessID: f.ProcessID, AfterID: f.After, Limit: pageSize(f.Limit)}
	switch f.Status {
	case "", store.DeliveryPending, store.DeliverySucceeded, store.DeliveryFailed:
	default:
		return nil, &Error{Kind: KindInvalid, Code: "invalid_filter", Field: "status", Detail: "status must be pending, succeeded or failed"}
	}
	switch f.Kind {
	case "", store.DeliveryCallback, store.DeliveryEvent:
	default:
		return nil, &Error{Kind: KindInvalid, Code: "invalid_filter", Field: "kind", Detail: "kind must be callback or event"}
	}
	var err error
	if p.CommunityID, err = g.listScope(ctx, f.Community); err != nil {
		return nil, err
	}
	rows, err := g.store.DeliveryList(ctx, p)
	if err != nil || len(rows) == 0 {
		return []DeliveryView{}, err
	}
	attempts, err := g.store.DeliveryAttemptList(ctx, rows[0].ID, rows[len(rows)-1].ID)
	if err != nil {
		return nil, err
	}
	out := make([]DeliveryView, 0, len(rows))
	for _, d := range rows {
		v, err := g.deliveryView(ctx, d, attempts[d.ID])
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// GetDelivery returns one delivery with its attempts.
func (g *Gateway) GetDelivery(ctx context.Context, id int64) (DeliveryView, error) {
	notFound := newError(KindNotFound, "delivery_not_found", "no delivery with id %d", id)
	d, err := g.store.DeliveryGetByID(ctx, id)
	if isNotFound(err) || (err == nil && !principalFrom(ctx).allows(d.CommunityID)) {
		return DeliveryView{}, notFound
	}
	if err != nil {
		return DeliveryView{}, err
	}
	attempts, err := g.store.DeliveryAttemptList(ctx, id, id)
	if err != nil {
		return DeliveryView{}, err
	}
	return g.deliveryView(ctx, d, attempts[id])
}

// Redeliver sends a delivery again, whatever became of it, with the same
// message id so a receiver that has it already can drop it.
func (g *Gateway) Redeliver(ctx context.Context, id int64) (DeliveryView, error) {
	if _, err := g.GetDelivery(ctx, id); err != nil {
		return DeliveryView{}, err
	}
	err := g.store.InTx(ctx, func(tx *store.Tx) error { return tx.DeliveryReset(ctx, id, g.now()) })
	if err != nil {
		return DeliveryView{}, err
	}
	g.wakeDispatcher()
	return g.GetDelivery(ctx, id)
}

func (g *Gateway) deliveryView(ctx context.Context, d store.Delivery, attempts []store.DeliveryAttempt) (DeliveryView, error) {
	entry, err := g.communityByID(ctx, d.CommunityID)
	if err != nil {
		return DeliveryView{}, err
	}
	v := DeliveryView{
		ID: d.ID, MessageID: d.MessageID, Kind: d.Kind, Community: entry.community.Slug, URL: d.URL, Status: d.Status,
		LastError: d.LastError, Attempts: make([]AttemptView, 0, len(attempts)), Payload: d.Payload,
		CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt,
	}
	if d.ProcessID != 0 {
		v.ProcessID = &d.ProcessID
	}
	if d.EventID != 0 {
		v.EventID = &d.EventID
	}
	for _, a := range attempts {
		v.Attempts = append(v.Attempts, AttemptView{AttemptedAt: a.AttemptedAt, StatusCode: a.StatusCode, Error: a.Error,
			DurationMS: a.Duration.Milliseconds()})
	}
	return v, nil
}

// EventFilter selects events after a cursor.
type EventFilter struct {
	Community string
	After     int64
	Limit     int
}

// ListEvents returns events after a cursor, oldest first, in the envelope
// they are pushed in: a driver that was down, or cannot receive pushes,
// pulls them instead.
func (g *Gateway) ListEvents(ctx context.Context, f EventFilter) ([]json.RawMessage, error) {
	p := &store.EventListParams{AfterID: f.After, Limit: pageSize(f.Limit)}
	var err error
	if p.CommunityID, err = g.listScope(ctx, f.Community); err != nil {
		return nil, err
	}
	rows, err := g.store.EventList(ctx, p)
	if err != nil {
		return nil, err
	}
	out := make([]json.RawMessage, 0, len(rows))
	for _, e := range rows {
		entry, err := g.communityByID(ctx, e.CommunityID)
		if err != nil {
			return nil, err
		}
		raw, err := newEventEnvelope(e.ID, entry.community.Slug, e.Source, e.Type, e.CreatedAt, e.Data, e.Initiator)
		if err != nil {
			return nil, err
		}
		out = append(out, raw)
	}
	return out, nil
}

// PruneEvents deletes events older than the retention period, with their
// deliveries, plugin state that has expired, and expired OAuth records.
func (g *Gateway) PruneEvents(ctx context.Context, retention time.Duration) (int64, error) {
	var n int64
	err := g.store.InTx(ctx, func(tx *store.Tx) error {
		var err error
		if n, err = tx.EventDeleteBefore(ctx, g.now().Add(-retention)); err != nil {
			return err
		}
		// Expired plugin state goes as its instance writes more; this
		// catches the instances that stopped.
		if _, err = tx.PluginStateDeleteExpired(ctx, 0, g.now()); err != nil {
			return err
		}
		_, err = tx.OAuthDeleteExpired(ctx, g.now())
		return err
	})
	return n, err
}

// listScope turns a listing's community filter into an id (0: all). A key
// limited to communities must name one, unless it has only one.
func (g *Gateway) listScope(ctx context.Context, slug string) (int64, error) {
	if slug != "" {
		entry, err := g.community(ctx, slug)
		if err != nil {
			return 0, err
		}
		return entry.community.ID, nil
	}
	p := principalFrom(ctx)
	if !p.limited() {
		return 0, nil
	}
	if len(p.Communities) == 1 {
		for id := range p.Communities {
			return id, nil
		}
	}
	return 0, &Error{Kind: KindInvalid, Code: "community_required", Field: "community",
		Detail: "this API key reaches several communities: name one with ?community=<slug>"}
}
