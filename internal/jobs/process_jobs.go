package jobs

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/metagov/metagov-go/internal/core"
)

// wakeProcessWorker runs a process's durable timer.
type wakeProcessWorker struct {
	river.WorkerDefaults[WakeProcessArgs]
	gateway *core.Gateway
}

func (w *wakeProcessWorker) Work(ctx context.Context, job *river.Job[WakeProcessArgs]) error {
	return w.gateway.WakeProcess(ctx, job.Args.ProcessID)
}

// pollProcessWorker polls one pending process.
type pollProcessWorker struct {
	river.WorkerDefaults[PollProcessArgs]
	gateway *core.Gateway
}

func (w *pollProcessWorker) Work(ctx context.Context, job *river.Job[PollProcessArgs]) error {
	return w.gateway.PollProcess(ctx, job.Args.ProcessID)
}

// pollInstanceWorker polls one plugin instance.
type pollInstanceWorker struct {
	river.WorkerDefaults[PollInstanceArgs]
	gateway *core.Gateway
}

func (w *pollInstanceWorker) Work(ctx context.Context, job *river.Job[PollInstanceArgs]) error {
	return w.gateway.PollInstance(ctx, job.Args.InstanceID)
}

// pollFanOutWorker runs on River's periodic schedule, which only the elected
// leader runs, so each poll happens once per interval across all gateway
// processes. It queues one job per target so that one slow platform account
// does not delay the others.
type pollFanOutWorker struct {
	river.WorkerDefaults[PollFanOutArgs]
	gateway *core.Gateway
}

func (w *pollFanOutWorker) Work(ctx context.Context, job *river.Job[PollFanOutArgs]) error {
	ids, err := w.gateway.PollTargets(ctx, job.Args.Plugin, job.Args.Process)
	if err != nil {
		return err
	}
	if len(ids) == 0 {
		return nil
	}
	params := make([]river.InsertManyParams, 0, len(ids))
	for _, id := range ids {
		var args river.JobArgs = PollInstanceArgs{InstanceID: id}
		if job.Args.Process != "" {
			args = PollProcessArgs{ProcessID: id}
		}
		params = append(params, river.InsertManyParams{Args: args})
	}
	client := river.ClientFromContext[*sql.Tx](ctx)
	if _, err := client.InsertMany(ctx, params); err != nil {
		return fmt.Errorf("queueing polls of %s: %w", job.Args.Plugin, err)
	}
	return nil
}

// fireTimersWorker moves due process timers to the queue. It runs on River's
// periodic schedule, on the elected leader only, and at start, which is when
// timers that fell due while the gateway was down fire.
type fireTimersWorker struct {
	river.WorkerDefaults[FireTimersArgs]
	gateway *core.Gateway
}

func (w *fireTimersWorker) Work(ctx context.Context, _ *river.Job[FireTimersArgs]) error {
	_, err := w.gateway.FireDueTimers(ctx)
	return err
}

// pruneEventsWorker deletes events past their retention.
type pruneEventsWorker struct {
	river.WorkerDefaults[PruneEventsArgs]
	gateway   *core.Gateway
	retention time.Duration
}

func (w *pruneEventsWorker) Work(ctx context.Context, _ *river.Job[PruneEventsArgs]) error {
	_, err := w.gateway.PruneEvents(ctx, w.retention)
	return err
}
