package jobs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/riverqueue/river"

	"github.com/metagov/metagov-go/internal/core"
	"github.com/metagov/metagov-go/internal/store"
)

// retrySchedule is the wait before each retry, after Svix's: immediately,
// then 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h, and on to just over three
// days in all.
var retrySchedule = []time.Duration{
	0, 5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 5 * time.Hour,
	10 * time.Hour, 10 * time.Hour, 14 * time.Hour, 20 * time.Hour, 24 * time.Hour,
}

// deliverWorker POSTs one delivery from the outbox to the driver and records
// the attempt.
type deliverWorker struct {
	river.WorkerDefaults[core.DeliverArgs]
	store  *store.Store
	client *http.Client
	log    *slog.Logger
}

// NextRetry follows retrySchedule with ±10 % jitter.
func (w *deliverWorker) NextRetry(job *river.Job[core.DeliverArgs]) time.Time {
	i := min(job.Attempt, len(retrySchedule)-1)
	wait := retrySchedule[i]
	jitter := time.Duration(float64(wait) * (rand.Float64()*0.2 - 0.1))
	return time.Now().Add(wait + jitter)
}

// Timeout leaves room for the request's own timeout and the bookkeeping.
func (w *deliverWorker) Timeout(*river.Job[core.DeliverArgs]) time.Duration { return time.Minute }

func (w *deliverWorker) Work(ctx context.Context, job *river.Job[core.DeliverArgs]) error {
	d, err := w.store.DeliveryGetByID(ctx, job.Args.DeliveryID)
	if errors.Is(err, store.ErrNotFound) {
		return nil // its community was deleted
	}
	if err != nil {
		return err
	}
	if d.Status == store.DeliverySucceeded {
		return nil
	}
	started := time.Now()
	status, sendErr := w.send(ctx, d)
	attempt := &store.DeliveryAttemptParams{
		DeliveryID:  d.ID,
		AttemptedAt: started,
		StatusCode:  status,
		Duration:    time.Since(started),
		NewStatus:   store.DeliverySucceeded,
	}
	if sendErr != nil {
		attempt.Error = sendErr.Error()
		attempt.NewStatus = store.DeliveryPending
		if job.Attempt >= job.MaxAttempts {
			attempt.NewStatus = store.DeliveryFailed
		}
	}
	if err := w.store.InTx(ctx, func(tx *store.Tx) error { return tx.DeliveryRecordAttempt(ctx, attempt) }); err != nil {
		return err
	}
	logAttrs := []any{slog.Int64("delivery_id", d.ID), slog.String("kind", d.Kind), slog.Int("attempt", job.Attempt),
		slog.Int("status_code", status), slog.Duration("duration", attempt.Duration)}
	if sendErr != nil {
		w.log.WarnContext(ctx, "delivery failed", append(logAttrs, slog.Any("error", sendErr))...)
		return sendErr
	}
	w.log.DebugContext(ctx, "delivered", logAttrs...)
	return nil
}

// send POSTs the payload and returns the receiver's status code.
func (w *deliverWorker) send(ctx context.Context, d store.Delivery) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.URL, bytes.NewReader(d.Payload))
	if err != nil {
		return 0, fmt.Errorf("building request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "metagov-go")
	resp, err := w.client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("posting to %s: %w", d.URL, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, fmt.Errorf("receiver answered %s", resp.Status)
	}
	return resp.StatusCode, nil
}
