package delivery_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/metagov/metagov-go/internal/apptest"
	"github.com/metagov/metagov-go/internal/delivery"
	"github.com/metagov/metagov-go/internal/egress"
	"github.com/metagov/metagov-go/internal/store"
)

// productionWaits is the wait after each failed attempt that the README
// and the dispatcher's docs promise: twelve attempts over about four and a
// half days. Written out here, not read from the package, so that changing
// the schedule fails this test.
var productionWaits = []time.Duration{
	5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 5 * time.Hour, 10 * time.Hour,
	10 * time.Hour, 14 * time.Hour, 20 * time.Hour, 24 * time.Hour, 24 * time.Hour,
}

const fiveDays = 5 * 24 * time.Hour

// fakeClock is a clock the test moves by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// scheduleRig is one delivery to a receiver that answers with respond,
// and a dispatcher on the production schedule running on a fake clock.
type scheduleRig struct {
	st      *store.Store
	clock   *fakeClock
	wake    chan struct{}
	id      int64
	created time.Time
}

func newScheduleRig(t *testing.T, dsn string, respond http.HandlerFunc) *scheduleRig {
	t.Helper()
	ctx := context.Background()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		respond(w, r)
	}))
	t.Cleanup(srv.Close)
	st := openStore(t, dsn)
	var id int64
	err := st.InTx(ctx, func(tx *store.Tx) error {
		c, err := tx.CommunityInsert(ctx, "schedule-"+strconv.FormatInt(time.Now().UnixNano(), 36), "")
		if err != nil {
			return err
		}
		id, err = tx.DeliveryInsert(ctx, &store.DeliveryInsertParams{
			CommunityID: c.ID, Kind: store.DeliveryEvent, MessageID: "msg_schedule",
			URL: srv.URL, Payload: []byte(`{"event_type":"schedule","data":{}}`),
		})
		return err
	})
	if err != nil {
		t.Fatalf("queueing the delivery: %v", err)
	}
	del, err := st.DeliveryGetByID(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	// The clock starts a minute after the delivery was queued, so that the
	// five-day cap is crossed by a minute, not by a rounding.
	r := &scheduleRig{st: st, clock: &fakeClock{t: del.CreatedAt.Add(time.Minute)}, wake: make(chan struct{}, 1),
		id: id, created: del.CreatedAt}
	policy, err := egress.New(egress.Config{})
	if err != nil {
		t.Fatal(err)
	}
	signer, err := delivery.NewSigner(delivery.NewSecret())
	if err != nil {
		t.Fatal(err)
	}
	d := delivery.NewDispatcher(st, delivery.DispatcherConfig{
		Client: policy.DeliveryClient(10 * time.Second), Signer: signer,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Wake:   r.wake, Now: r.clock.Now,
		// Real-time sweeps would only look again; the test wakes the
		// dispatcher itself after moving the clock.
		Sweep: time.Hour,
	})
	d.Start(ctx)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := d.Stop(ctx); err != nil {
			t.Error(err)
		}
	})
	return r
}

// waitAttempts waits until the delivery has had n attempts recorded and
// returns it.
func (r *scheduleRig) waitAttempts(t *testing.T, n int) store.Delivery {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		del, err := r.st.DeliveryGetByID(context.Background(), r.id)
		if err != nil {
			t.Fatal(err)
		}
		if del.Attempts >= n {
			if del.Attempts > n {
				t.Fatalf("attempts = %d, want %d: the dispatcher tried before the clock reached the retry", del.Attempts, n)
			}
			return del
		}
		if time.Now().After(deadline) {
			t.Fatalf("attempt %d was not recorded (attempts = %d, status %s)", n, del.Attempts, del.Status)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// nextAttempt is when the pending delivery is due again.
func (r *scheduleRig) nextAttempt(t *testing.T) time.Time {
	t.Helper()
	at, ok, err := r.st.DeliveryNextDue(context.Background())
	if err != nil || !ok {
		t.Fatalf("next due delivery: ok = %v, err = %v", ok, err)
	}
	return at
}

// advance moves the clock to at and wakes the dispatcher.
func (r *scheduleRig) advance(at time.Time) {
	r.clock.Set(at)
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// attemptTimes are the times the attempts were recorded at, by the clock.
func (r *scheduleRig) attemptTimes(t *testing.T) []time.Time {
	t.Helper()
	atts, err := r.st.DeliveryAttemptList(context.Background(), r.id, r.id)
	if err != nil {
		t.Fatal(err)
	}
	var out []time.Time
	for _, a := range atts[r.id] {
		out = append(out, a.AttemptedAt)
	}
	return out
}

// TestDeliveryProductionSchedule walks a delivery to a receiver that always
// fails through the production retry schedule on a fake clock: each retry
// is due after the promised wait, within ±10% jitter; nothing is tried
// early; the delivery fails for good after the twelfth attempt (or after
// the eleventh, if jitter pushed the last retry past five days).
func TestDeliveryProductionSchedule(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		r := newScheduleRig(t, db.DSN, func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusInternalServerError)
		})
		var want []time.Time // when each attempt was made, by the clock
		for i, wait := range productionWaits {
			attempt := i + 1
			now := r.clock.Now()
			want = append(want, now)
			del := r.waitAttempts(t, attempt)
			if del.Status == store.DeliveryFailed && attempt == len(productionWaits) &&
				now.Add(wait+wait/10).Sub(r.created) > fiveDays {
				// Jitter may put the last retry past the five-day cap; the
				// delivery then fails an attempt early, as it should.
				t.Logf("the twelfth attempt fell past five days; failed after %d", attempt)
				return
			}
			if del.Status != store.DeliveryPending {
				t.Fatalf("after attempt %d: status %s, want %s", attempt, del.Status, store.DeliveryPending)
			}
			next := r.nextAttempt(t)
			// Next attempts are stored to the millisecond.
			lo := now.Add(wait - wait/10).Add(-time.Millisecond)
			hi := now.Add(wait + wait/10).Add(time.Millisecond)
			if next.Before(lo) || next.After(hi) {
				t.Fatalf("after attempt %d: next attempt in %v, want %v ±10%%", attempt, next.Sub(now), wait)
			}
			r.advance(next)
		}
		want = append(want, r.clock.Now())
		del := r.waitAttempts(t, len(productionWaits)+1)
		if del.Status != store.DeliveryFailed {
			t.Fatalf("after the last attempt: status %s, want %s", del.Status, store.DeliveryFailed)
		}
		if del.Attempts != 12 {
			t.Errorf("attempts = %d, want 12", del.Attempts)
		}
		got := r.attemptTimes(t)
		if len(got) != len(want) {
			t.Fatalf("%d attempts recorded, want %d", len(got), len(want))
		}
		for i := range want {
			if !got[i].Equal(want[i]) && got[i].Sub(want[i]).Abs() > time.Millisecond {
				t.Errorf("attempt %d recorded at %v, want %v (the clock's time)", i+1, got[i], want[i])
			}
		}
		if span := got[len(got)-1].Sub(r.created); span < 4*24*time.Hour || span > fiveDays {
			t.Errorf("the attempts spanned %v, want about four and a half days", span)
		}
	})
}

// TestDeliveryRetryAfterCap checks that a receiver's Retry-After moves the
// next attempt to exactly what it asks, up to 24 hours (no jitter), and
// that however it keeps asking, no attempt is made past five days from
// the delivery's creation: the delivery fails instead.
func TestDeliveryRetryAfterCap(t *testing.T) {
	t.Run("date", func(t *testing.T) {
		apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
			// Ninety seconds after the signature's time, which is the
			// dispatcher's clock, as an HTTP date.
			r := newScheduleRig(t, db.DSN, func(w http.ResponseWriter, req *http.Request) {
				ts, _ := strconv.ParseInt(req.Header.Get("webhook-timestamp"), 10, 64)
				w.Header().Set("Retry-After", time.Unix(ts+90, 0).UTC().Format(http.TimeFormat))
				w.WriteHeader(http.StatusTooManyRequests)
			})
			r.waitAttempts(t, 1)
			now := r.clock.Now()
			if got := r.nextAttempt(t).Sub(now); got < 89*time.Second || got > 90*time.Second {
				t.Errorf("next attempt in %v, want 90s as asked (to the second)", got)
			}
		})
	})
	t.Run("capped", func(t *testing.T) {
		apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
			r := newScheduleRig(t, db.DSN, func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Retry-After", strconv.Itoa(3*24*3600)) // three days
				w.WriteHeader(http.StatusServiceUnavailable)
			})
			// Attempts at +1m, +24h1m, ... +96h1m; the next would be at
			// +120h1m, past five days, so the fifth attempt is the last.
			for attempt := 1; attempt <= 5; attempt++ {
				now := r.clock.Now()
				del := r.waitAttempts(t, attempt)
				if attempt == 5 {
					if del.Status != store.DeliveryFailed {
						t.Fatalf("after attempt 5, at %v: status %s, want %s (five-day cap)",
							now.Sub(r.created), del.Status, store.DeliveryFailed)
					}
					break
				}
				if del.Status != store.DeliveryPending {
					t.Fatalf("after attempt %d: status %s, want %s", attempt, del.Status, store.DeliveryPending)
				}
				next := r.nextAttempt(t)
				if want := now.Add(24 * time.Hour); next.Sub(want).Abs() > time.Millisecond {
					t.Fatalf("after attempt %d: next attempt in %v, want 24h (Retry-After capped)", attempt, next.Sub(now))
				}
				r.advance(next)
			}
		})
	})
	t.Run("gone", func(t *testing.T) {
		apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
			r := newScheduleRig(t, db.DSN, func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(http.StatusGone)
			})
			if del := r.waitAttempts(t, 1); del.Status != store.DeliveryFailed {
				t.Errorf("after a 410: status %s, want %s", del.Status, store.DeliveryFailed)
			}
		})
	})
}
