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
	"strconv"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/metagov/metagov-go/internal/core"
	"github.com/metagov/metagov-go/internal/metrics"
	"github.com/metagov/metagov-go/internal/store"
)

// retrySchedule is the wait before each retry, after Svix's: immediately,
// then 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h, and on to about four and a
// half days in all.
var retrySchedule = []time.Duration{
	0, 5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 5 * time.Hour,
	10 * time.Hour, 10 * time.Hour, 14 * time.Hour, 20 * time.Hour, 24 * time.Hour,
}

// deliveryDeadline is how long a delivery is tried at all, whatever the
// receiver asks with Retry-After.
const deliveryDeadline = 5 * 24 * time.Hour

// maxRetryAfter caps how long one Retry-After may postpone a delivery.
const maxRetryAfter = 24 * time.Hour

// deliverWorker POSTs one delivery from the outbox to the driver, signed,
// and records the attempt.
type deliverWorker struct {
	river.WorkerDefaults[core.DeliverArgs]
	store    *store.Store
	client   *http.Client
	signer   *Signer
	metrics  *metrics.Metrics
	log      *slog.Logger
	schedule []time.Duration
}

// NextRetry follows the retry schedule with ±10 % jitter.
func (w *deliverWorker) NextRetry(job *river.Job[core.DeliverArgs]) time.Time {
	wait := w.schedule[min(job.Attempt, len(w.schedule)-1)]
	jitter := time.Duration(float64(wait) * (rand.Float64()*0.2 - 0.1))
	return time.Now().Add(wait + jitter)
}

// Timeout leaves room for the request's own timeout and the bookkeeping.
func (w *deliverWorker) Timeout(*river.Job[core.DeliverArgs]) time.Duration { return time.Minute }

// attemptResult is what one POST came to.
type attemptResult struct {
	status     int
	err        error
	retryAfter time.Duration // from a 429 or 503 answer
}

func (w *deliverWorker) Work(ctx context.Context, job *river.Job[core.DeliverArgs]) error {
	d, err := w.store.DeliveryGetByID(ctx, job.Args.DeliveryID)
	if errors.Is(err, store.ErrNotFound) {
		return nil // its community was deleted
	}
	if err != nil {
		return err
	}
	if d.Status != store.DeliveryPending {
		return nil // delivered already, or given up on; redeliver resets it
	}
	started := time.Now()
	res := w.send(ctx, d)
	attempt := &store.DeliveryAttempt{DeliveryID: d.ID, AttemptedAt: started, StatusCode: res.status, Duration: time.Since(started)}
	status, outcome := store.DeliverySucceeded, "succeeded"
	var next error
	switch {
	case res.err == nil:
	case res.status == http.StatusGone:
		// The receiver says it is gone for good: stop trying this delivery.
		status, outcome = store.DeliveryFailed, "failed"
		next = river.JobCancel(res.err)
	case job.Attempt >= job.MaxAttempts || time.Since(d.CreatedAt) > deliveryDeadline:
		status, outcome = store.DeliveryFailed, "failed"
		next = res.err
	case res.retryAfter > 0:
		status, outcome = store.DeliveryPending, "retry"
		next = river.JobSnooze(res.retryAfter)
	default:
		status, outcome = store.DeliveryPending, "retry"
		next = res.err
	}
	if res.err != nil {
		attempt.Error = res.err.Error()
	}
	if err := w.store.InTx(ctx, func(tx *store.Tx) error { return tx.DeliveryRecordAttempt(ctx, attempt, status) }); err != nil {
		return err
	}
	w.metrics.DeliveryAttempt(d.Kind, outcome, time.Since(d.CreatedAt))
	attrs := []any{slog.Int64("delivery_id", d.ID), slog.String("message_id", d.MessageID), slog.String("kind", d.Kind),
		slog.String("request_id", d.RequestID), slog.Int("attempt", job.Attempt), slog.Int("status_code", res.status),
		slog.Duration("duration", attempt.Duration), slog.String("outcome", outcome)}
	switch outcome {
	case "failed":
		w.log.ErrorContext(ctx, "delivery failed for good", append(attrs, slog.Any("error", res.err))...)
	case "retry":
		w.log.WarnContext(ctx, "delivery failed; will retry", append(attrs, slog.Any("error", res.err))...)
	default:
		w.log.DebugContext(ctx, "delivered", attrs...)
	}
	return next
}

// send POSTs the payload, signed, and classifies the answer: only 2xx is a
// success; a redirect is a failure, not followed.
func (w *deliverWorker) send(ctx context.Context, d store.Delivery) attemptResult {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.URL, bytes.NewReader(d.Payload))
	if err != nil {
		return attemptResult{err: fmt.Errorf("building request: %w", err)}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "metagov-go")
	if err := w.signer.Sign(req.Header, d.MessageID, time.Now(), d.Payload); err != nil {
		return attemptResult{err: err}
	}
	resp, err := w.client.Do(req)
	if err != nil {
		return attemptResult{err: fmt.Errorf("posting to %s: %w", d.URL, err)}
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	res := attemptResult{status: resp.StatusCode}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		res.err = fmt.Errorf("receiver answered %s", resp.Status)
		if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
			res.retryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
		}
	}
	return res
}

// parseRetryAfter reads a Retry-After header, in seconds or as an HTTP date,
// capped at maxRetryAfter; zero when absent or unreadable.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if secs, err := strconv.Atoi(v); err == nil {
		d = time.Duration(secs) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	if d <= 0 {
		return 0
	}
	return min(d, maxRetryAfter)
}
