// Package delivery sends the outbox's deliveries to drivers: the dispatcher
// claims due deliveries with a lease, POSTs them signed the Standard
// Webhooks way (Signer), and retries failures on a schedule of about four
// and a half days, never past five. It is not a job queue: see Dispatcher.
package delivery

import (
	"bytes"
	"cmp"
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

	"github.com/metagov/metagov-go/internal/egress"
	"github.com/metagov/metagov-go/internal/metrics"
	"github.com/metagov/metagov-go/internal/store"
)

// retrySchedule is the wait before each retry, after Svix's: immediately,
// then 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h, and on to about four and a
// half days in all. The delivery fails after the last.
var retrySchedule = []time.Duration{
	0, 5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 5 * time.Hour,
	10 * time.Hour, 10 * time.Hour, 14 * time.Hour, 20 * time.Hour, 24 * time.Hour, 24 * time.Hour,
}

// deliveryDeadline is how long a delivery is tried at all, whatever the
// receiver asks with Retry-After.
const deliveryDeadline = 5 * 24 * time.Hour

// maxRetryAfter caps how long one Retry-After may postpone a delivery.
const maxRetryAfter = 24 * time.Hour

// DispatcherConfig holds the dispatcher's settings.
type DispatcherConfig struct {
	// Client sends deliveries; it should time out and not follow redirects.
	Client *http.Client
	// Signer signs deliveries.
	Signer *Signer
	// Metrics records attempts; nil records nothing.
	Metrics *metrics.Metrics
	// Logger receives delivery logs.
	Logger *slog.Logger
	// Wake is signalled when deliveries were queued.
	Wake <-chan struct{}
	// Sweep is how often the outbox is checked, with a read, for due
	// deliveries without a wake-up (retries, other processes' deliveries,
	// expired leases); one falling due before the next sweep is claimed
	// when it does. Default: one second.
	Sweep time.Duration
	// Concurrency bounds deliveries in flight. Default: 64.
	Concurrency int
	// Schedule replaces retrySchedule, for tests.
	Schedule []time.Duration
	// Lease is how long a claimed delivery belongs to its dispatcher: longer
	// than an attempt can take, short enough that a crashed gateway's
	// deliveries are soon taken over. Default: twice the client's timeout
	// plus 5 s.
	Lease time.Duration
	// Now is the dispatcher's clock: claims, attempt times, retry times,
	// the five-day cap, signatures and Retry-After dates all read it, so a
	// test can walk the production schedule without waiting days. The
	// sweep's ticker and the retry timer still run on real time; they only
	// prompt a look. Default: time.Now.
	Now func() time.Time
}

// Dispatcher sends the outbox's deliveries: it claims due ones with a lease,
// POSTs them concurrently, signed, and records each attempt, batching
// database writes. Every gateway process runs one; leases keep them apart.
// It is not a job-queue job per delivery because SQLite serialises writes,
// and claiming and recording in batches is what lets thousands of
// deliveries a second through one writer.
type Dispatcher struct {
	store *store.Store
	cfg   DispatcherConfig

	results chan store.DeliveryOutcome
	done    chan struct{}
	cancel  context.CancelFunc
}

// NewDispatcher returns a dispatcher; Start runs it.
func NewDispatcher(st *store.Store, cfg DispatcherConfig) *Dispatcher {
	cfg.Sweep = cmp.Or(cfg.Sweep, time.Second)
	cfg.Concurrency = cmp.Or(cfg.Concurrency, 64)
	cfg.Logger = cmp.Or(cfg.Logger, slog.Default())
	cfg.Lease = cmp.Or(cfg.Lease, 2*cfg.Client.Timeout+5*time.Second)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Schedule == nil {
		cfg.Schedule = retrySchedule
	}
	return &Dispatcher{store: st, cfg: cfg, results: make(chan store.DeliveryOutcome, cfg.Concurrency),
		done: make(chan struct{})}
}

// Start runs the dispatcher until Stop.
func (d *Dispatcher) Start(ctx context.Context) {
	ctx, d.cancel = context.WithCancel(context.WithoutCancel(ctx))
	go func() {
		defer close(d.done)
		d.run(ctx)
	}()
}

// Stop stops claiming, lets attempts in flight finish within ctx and records
// them. Deliveries it could not finish go back to the outbox when their
// lease ends.
func (d *Dispatcher) Stop(ctx context.Context) error {
	if d.cancel == nil {
		return nil
	}
	d.cancel()
	select {
	case <-d.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("stopping delivery dispatcher: %w", ctx.Err())
	}
}

// maxRecordBatch bounds the attempts recorded in one transaction.
const maxRecordBatch = 256

// run is the dispatcher's loop. One goroutine does the database work: each
// turn it records the attempts that finished and, while deliveries may be
// due, claims as many as there are free slots, both in one transaction;
// the attempts run concurrently and report back on results. Under a
// backlog each transaction records the attempts that finished while the
// previous one ran and claims as many successors, so batches grow with
// the load instead of the number of transactions. Once a claim comes back
// short, nothing more is due until a wake-up (a commit queued deliveries)
// or the next sweep (retries falling due, other gateways' deliveries,
// expired leases).
func (d *Dispatcher) run(ctx context.Context) {
	ticker := time.NewTicker(d.cfg.Sweep)
	defer ticker.Stop()
	// next fires when the earliest retry recorded here, or the earliest
	// delivery a sweep saw waiting, falls due before the next sweep, so
	// that retries keep their time without a fast sweep.
	next := time.NewTimer(time.Hour)
	next.Stop()
	defer next.Stop()
	var nextAt time.Time
	arm := func(at time.Time) {
		now := d.cfg.Now()
		if at.Before(now.Add(d.cfg.Sweep)) && (nextAt.IsZero() || at.Before(nextAt)) {
			nextAt = at
			next.Reset(at.Sub(now))
		}
	}
	inFlight := 0
	due := true // a backlog may be waiting at start
	var outcomes []store.DeliveryOutcome
	for {
		stopping := ctx.Err() != nil
		if stopping && inFlight == 0 && len(outcomes) == 0 {
			return
		}
		limit := 0
		if due && !stopping {
			limit = d.cfg.Concurrency - inFlight
		}
		if len(outcomes) > 0 || limit > 0 {
			batch, err := d.recordAndClaim(ctx, outcomes, limit)
			if err != nil {
				// The leases will run out and the deliveries be tried again.
				d.cfg.Logger.ErrorContext(ctx, "recording and claiming deliveries", slog.Any("error", err),
					slog.Int("recorded", len(outcomes)))
				due = false // try again at the next sweep
			} else {
				due = limit > 0 && len(batch) == limit // a full batch: there may be more
				for _, o := range outcomes {
					if o.Status == store.DeliveryPending {
						arm(o.NextAttempt)
					}
				}
			}
			outcomes = outcomes[:0]
			for _, del := range batch {
				inFlight++
				go func() { d.results <- d.attempt(ctx, del) }()
			}
		}
		if due && inFlight < d.cfg.Concurrency && !stopping {
			continue
		}
		doneC := ctx.Done()
		if stopping {
			doneC = nil // already seen; wait for the attempts in flight
		}
		select {
		case o := <-d.results:
			inFlight--
			outcomes = append(outcomes, o)
		drain:
			for len(outcomes) < maxRecordBatch {
				select {
				case o := <-d.results:
					inFlight--
					outcomes = append(outcomes, o)
				default:
					break drain
				}
			}
		case <-d.cfg.Wake:
			due = true
		case <-next.C:
			nextAt = time.Time{}
			due = true
		case <-ticker.C:
			// Looking is a read; claiming nothing would be a write
			// transaction each time on an idle gateway.
			now := d.cfg.Now()
			at, ok, err := d.store.DeliveryNextDue(ctx)
			switch {
			case err != nil:
				due = true // let the claim report it
			case ok && !at.After(now):
				due = true
			case ok:
				arm(at)
			}
		case <-doneC:
		}
	}
}

// recordAndClaim writes finished attempts and leases up to limit due
// deliveries, in one transaction. Recording goes on after Stop, so it does
// not use ctx's cancellation.
func (d *Dispatcher) recordAndClaim(ctx context.Context, outcomes []store.DeliveryOutcome, limit int) ([]store.Delivery, error) {
	ctx = context.WithoutCancel(ctx)
	var batch []store.Delivery
	err := d.store.InTx(ctx, func(tx *store.Tx) error {
		for i := range outcomes {
			if err := tx.DeliveryRecord(ctx, &outcomes[i]); err != nil {
				return err
			}
		}
		if limit == 0 {
			return nil
		}
		now := d.cfg.Now()
		var err error
		batch, err = tx.DeliveryClaim(ctx, now, now.Add(d.cfg.Lease), limit)
		return err
	})
	return batch, err
}

// attempt POSTs one delivery and decides what comes next.
func (d *Dispatcher) attempt(ctx context.Context, del store.Delivery) store.DeliveryOutcome {
	started := d.cfg.Now()
	status, retryAfter, err := d.send(ctx, del)
	o := store.DeliveryOutcome{
		Attempt:   store.DeliveryAttempt{DeliveryID: del.ID, AttemptedAt: started, StatusCode: status, Duration: d.cfg.Now().Sub(started)},
		Status:    store.DeliverySucceeded,
		MessageID: del.MessageID,
	}
	outcome := "succeeded"
	attemptNo := del.Attempts + 1
	if err != nil {
		o.Attempt.Error = err.Error()
		wait := d.cfg.Schedule[min(attemptNo, len(d.cfg.Schedule)-1)]
		wait += time.Duration(float64(wait) * (rand.Float64()*0.2 - 0.1)) // jitter
		if retryAfter > 0 {
			wait = retryAfter
		}
		o.NextAttempt = d.cfg.Now().Add(wait)
		switch {
		case status == http.StatusGone:
			// The receiver says it is gone for good: stop trying.
			o.Status, outcome = store.DeliveryFailed, "failed"
		case errors.Is(err, egress.ErrForbidden):
			// The policy will refuse it as long as it is configured so:
			// retrying for days would only hide the reason.
			o.Status, outcome = store.DeliveryFailed, "failed"
		case attemptNo >= len(d.cfg.Schedule) || o.NextAttempt.Sub(del.CreatedAt) > deliveryDeadline:
			o.Status, outcome = store.DeliveryFailed, "failed"
		default:
			o.Status, outcome = store.DeliveryPending, "retry"
		}
	}
	d.cfg.Metrics.DeliveryAttempt(del.Kind, outcome, d.cfg.Now().Sub(del.CreatedAt))
	attrs := []any{slog.Int64("delivery_id", del.ID), slog.String("message_id", del.MessageID), slog.String("kind", del.Kind),
		slog.String("request_id", del.RequestID), slog.Int("attempt", attemptNo), slog.Int("status_code", status),
		slog.Duration("duration", o.Attempt.Duration), slog.String("outcome", outcome)}
	switch outcome {
	case "failed":
		d.cfg.Logger.ErrorContext(ctx, "delivery failed for good", append(attrs, slog.Any("error", err))...)
	case "retry":
		d.cfg.Logger.WarnContext(ctx, "delivery failed; will retry", append(attrs, slog.Any("error", err),
			slog.Time("next_attempt", o.NextAttempt))...)
	default:
		d.cfg.Logger.DebugContext(ctx, "delivered", attrs...)
	}
	return o
}

// send POSTs the payload, signed: only 2xx is a success; a redirect is a
// failure, not followed.
func (d *Dispatcher) send(ctx context.Context, del store.Delivery) (status int, retryAfter time.Duration, err error) {
	req, err := http.NewRequestWithContext(context.WithoutCancel(ctx), http.MethodPost, del.URL, bytes.NewReader(del.Payload))
	if err != nil {
		return 0, 0, fmt.Errorf("building request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "metagov-go")
	if err := d.cfg.Signer.Sign(req.Header, del.MessageID, d.cfg.Now(), del.Payload); err != nil {
		return 0, 0, err
	}
	resp, err := d.cfg.Client.Do(req)
	if err != nil {
		return 0, 0, fmt.Errorf("posting to %s: %w", del.URL, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		return resp.StatusCode, 0, nil
	}
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
		retryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), d.cfg.Now())
	}
	return resp.StatusCode, retryAfter, errors.New("receiver answered " + resp.Status)
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
