package core

import (
	"context"
	"fmt"

	"github.com/riverqueue/river"

	"github.com/metagov/metagov-go/internal/store"
)

// timerBatch bounds how many due timers one transaction moves.
const timerBatch = 500

// FireDueTimers moves the wake-ups that fell due (by the gateway's clock) to
// the job queue, each in the same transaction that deletes its timer, so a
// wake-up is queued exactly once however often this runs or crashes. It is
// run every second, and at start, by one gateway process at a time.
func (g *Gateway) FireDueTimers(ctx context.Context) (int, error) {
	fired := 0
	for {
		n := 0
		err := g.store.InTx(ctx, func(tx *store.Tx) error {
			due, err := tx.TimerListDue(ctx, g.now(), timerBatch)
			if err != nil || len(due) == 0 {
				return err
			}
			params := make([]river.InsertManyParams, 0, len(due))
			for _, t := range due {
				params = append(params, river.InsertManyParams{Args: WakeProcessArgs{ProcessID: t.ProcessID}})
				if err := tx.TimerDelete(ctx, t.ID); err != nil {
					return err
				}
			}
			if g.jobs == nil {
				return fmt.Errorf("firing timers: the gateway has no job client")
			}
			if _, err := g.jobs.InsertManyTx(ctx, tx.SQL(), params); err != nil {
				return fmt.Errorf("queueing wake-ups: %w", err)
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
