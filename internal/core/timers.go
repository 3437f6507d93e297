package core

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/metagov/metagov-go/internal/store"
)

// timerBatch bounds how many due timers one transaction moves.
const timerBatch = 500

// FireDueTimers moves the wake-ups that fell due (by the gateway's clock) to
// the job queue, each in the same transaction that deletes its timer, so a
// wake-up is queued exactly once however often this runs or crashes, and
// whichever gateway processes run it at once. WatchTimers runs it when
// timers fall due; a periodic job, at start and every minute, too.
func (g *Gateway) FireDueTimers(ctx context.Context) (int, error) {
	fired := 0
	for {
		n := 0
		err := g.store.InTx(ctx, func(tx *store.Tx) error {
			due, err := tx.TimerListDue(ctx, g.now(), timerBatch)
			if err != nil || len(due) == 0 {
				return err
			}
			wakes := make([]int64, 0, len(due))
			for _, t := range due {
				took, err := tx.TimerDelete(ctx, t.ID)
				if err != nil {
					return err
				}
				if took {
					wakes = append(wakes, t.ProcessID)
				}
			}
			if len(wakes) == 0 {
				return nil // another gateway process took them
			}
			if g.jobs == nil {
				return fmt.Errorf("firing timers: the gateway has no job scheduler")
			}
			// Not cancelled half-way: see store.Tx.SQL.
			if err := g.jobs.QueueWakes(context.WithoutCancel(ctx), tx.SQL(), wakes); err != nil {
				return fmt.Errorf("firing timers: %w", err)
			}
			n = len(due)
			return nil
		})
		fired += n
		if err != nil || n < timerBatch {
			return fired, err
		}
	}
}

// WatchTimers fires process timers as they fall due: every second it looks,
// with a read, whether one is due, and only then runs FireDueTimers. An idle
// gateway so writes nothing, where a periodic job every second cost a job
// row, a fetch and a completion. It returns when ctx is done.
func (g *Gateway) WatchTimers(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		due, err := g.store.TimerDue(ctx, g.now())
		if err == nil && due {
			_, err = g.FireDueTimers(ctx)
		}
		if err != nil && !errors.Is(err, context.Canceled) {
			g.log.WarnContext(ctx, "firing timers", slog.Any("error", err))
		}
	}
}
