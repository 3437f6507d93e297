package jobs

import (
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// uniqueWhileQueued makes a job unique among the jobs still waiting or
// running, so a poll is not queued twice, yet the next interval's poll is
// queued once the last one finished.
var uniqueWhileQueued = river.UniqueOpts{
	ByArgs: true,
	ByState: []rivertype.JobState{
		rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRetryable,
		rivertype.JobStateRunning, rivertype.JobStateScheduled,
	},
}

// The job kinds are stored in the database: never rename them.

// FireTimersArgs is the periodic job that moves due process timers to the
// queue as WakeProcessArgs jobs.
type FireTimersArgs struct{}

// Kind implements river.JobArgs.
func (FireTimersArgs) Kind() string { return "fire_timers" }

// PruneEventsArgs is the periodic job that deletes events past their
// retention.
type PruneEventsArgs struct{}

// Kind implements river.JobArgs.
func (PruneEventsArgs) Kind() string { return "prune_events" }

// WakeProcessArgs runs a process handler's Wake at the time it asked for.
type WakeProcessArgs struct {
	ProcessID int64 `json:"process_id"`
}

// Kind implements river.JobArgs.
func (WakeProcessArgs) Kind() string { return "wake_process" }

// PollProcessArgs runs a process handler's Poll once.
type PollProcessArgs struct {
	ProcessID int64 `json:"process_id"`
}

// Kind implements river.JobArgs.
func (PollProcessArgs) Kind() string { return "poll_process" }

// InsertOpts implements river.JobArgsWithInsertOpts: one poll per process at
// a time, so a slow platform does not pile polls up.
func (PollProcessArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: uniqueWhileQueued}
}

// PollInstanceArgs runs a plugin instance's Poll once.
type PollInstanceArgs struct {
	InstanceID int64 `json:"instance_id"`
}

// Kind implements river.JobArgs.
func (PollInstanceArgs) Kind() string { return "poll_instance" }

// InsertOpts implements river.JobArgsWithInsertOpts.
func (PollInstanceArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: uniqueWhileQueued}
}

// PollFanOutArgs is the periodic job that schedules the polls of one plugin's
// instances (Process empty) or of one process type's pending processes.
type PollFanOutArgs struct {
	Plugin  string `json:"plugin"`
	Process string `json:"process,omitempty"`
}

// Kind implements river.JobArgs.
func (PollFanOutArgs) Kind() string { return "poll_fan_out" }
