// Package jobs is the gateway's durable background work on River: waking
// processes at the times they asked for and polling platforms that cannot
// push. Deliveries to drivers are internal/delivery's. Jobs live in the same database as
// everything else and are inserted in the same transactions as the changes
// that cause them, so a crash loses none and runs none that was rolled back.
package jobs

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/metagov/metagov-go/internal/core"
	"github.com/metagov/metagov-go/internal/store"
)

// Config holds the job system's settings.
type Config struct {
	// Logger receives job logs. Default: slog.Default().
	Logger *slog.Logger
	// EventRetention is how long events are kept for pulling. Default:
	// 30 days.
	EventRetention time.Duration
	// RescueAfter is how long a job may stay running before it is taken to
	// have died with its gateway process and is run again. Default: 5 min.
	RescueAfter time.Duration
	// FetchPollInterval is how often idle workers look for jobs that fell
	// due or that another gateway process inserted; jobs this process
	// inserts wake its workers at once, and on PostgreSQL with a Listener
	// so do other processes' inserts. Default: one second.
	FetchPollInterval time.Duration
	// Listener, on PostgreSQL, is the pool River listens on
	// (LISTEN/NOTIFY) for jobs other gateway processes insert and for
	// leadership changes; nil leaves it polling. See ListenerPool.
	Listener *pgxpool.Pool
	// Workers is the number of jobs run at once per queue. Default: 10.
	Workers int
	// Now, when set, replaces the job queue's clock, so tests can move time
	// for scheduled jobs as they do for the gateway.
	Now func() time.Time
}

// clock adapts a time function to River's time generator.
type clock func() time.Time

func (c clock) Now() time.Time { return c() }

func (c clock) NowOrNil() *time.Time {
	t := c()
	return &t
}

// Client is the River client the gateway uses.
type Client = river.Client[*sql.Tx]

// driver returns River's driver for the store's database.
func driver(st *store.Store) riverdriver.Driver[*sql.Tx] {
	if st.Dialect() == store.Postgres {
		return riverdatabasesql.New(st.DB())
	}
	return pollingSQLite{riversqlite.New(st.DB())}
}

// ListenerPool returns a small pgx pool on the PostgreSQL database at dsn
// for River's listener: LISTEN needs a connection of its own, which
// database/sql cannot lend. It connects lazily; close it after the client
// stops.
func ListenerPool(dsn string) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("configuring the job queue's listener: %w", err)
	}
	cfg.MaxConns = 2
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		return nil, fmt.Errorf("configuring the job queue's listener: %w", err)
	}
	return pool, nil
}

// pollingSQLite is River's SQLite driver without its listener. That driver
// emulates LISTEN/NOTIFY with a table that every client polls several times
// a second and every insert writes to: most of an idle gateway's CPU. One
// SQLite file serves one gateway process, and without a listener River
// wakes this process's workers directly when it inserts a job, so nothing
// is lost but that cost; jobs that fall due later are found by the fetch
// poll.
type pollingSQLite struct{ *riversqlite.Driver }

// SupportsListener reports false, so that River polls instead.
func (pollingSQLite) SupportsListener() bool { return false }

// SupportsListenNotify reports false, so that inserts write no
// notifications.
func (pollingSQLite) SupportsListenNotify() bool { return false }

// Migrate applies River's own migrations.
func Migrate(ctx context.Context, st *store.Store) error {
	m, err := rivermigrate.New(driver(st), nil)
	if err != nil {
		return fmt.Errorf("preparing job queue migrations: %w", err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("applying job queue migrations: %w", err)
	}
	return nil
}

// NewClient builds the job client with every worker and periodic poll, and
// hands the gateway a Scheduler on it for transactional inserts. Call Start on it to
// work jobs; a client that is never started still inserts.
func NewClient(g *core.Gateway, st *store.Store, cfg Config) (*Client, error) {
	cfg.Logger = cmp.Or(cfg.Logger, slog.Default())
	cfg.FetchPollInterval = cmp.Or(cfg.FetchPollInterval, time.Second)
	cfg.Workers = cmp.Or(cfg.Workers, 10)
	cfg.EventRetention = cmp.Or(cfg.EventRetention, 30*24*time.Hour)
	cfg.RescueAfter = cmp.Or(cfg.RescueAfter, 5*time.Minute)
	workers := river.NewWorkers()
	river.AddWorker(workers, &pruneEventsWorker{gateway: g, retention: cfg.EventRetention})
	river.AddWorker(workers, &wakeProcessWorker{gateway: g})
	river.AddWorker(workers, &pollProcessWorker{gateway: g})
	river.AddWorker(workers, &pollInstanceWorker{gateway: g})
	river.AddWorker(workers, &pollFanOutWorker{gateway: g})
	river.AddWorker(workers, &fireTimersWorker{gateway: g})

	periodic := []*river.PeriodicJob{
		// The gateway's timer watcher fires timers as they fall due; this
		// is for the start, and a safety net.
		river.NewPeriodicJob(river.PeriodicInterval(time.Minute),
			func() (river.JobArgs, *river.InsertOpts) { return FireTimersArgs{}, nil },
			&river.PeriodicJobOpts{RunOnStart: true}),
		river.NewPeriodicJob(river.PeriodicInterval(time.Hour),
			func() (river.JobArgs, *river.InsertOpts) { return PruneEventsArgs{}, nil }, nil),
	}
	for _, s := range g.PollSchedules() {
		args := PollFanOutArgs{Plugin: s.Plugin, Process: s.Process}
		periodic = append(periodic, river.NewPeriodicJob(river.PeriodicInterval(s.Interval),
			func() (river.JobArgs, *river.InsertOpts) { return args, nil }, &river.PeriodicJobOpts{RunOnStart: true}))
	}

	rc := &river.Config{
		Logger:               riverLogger(cfg.Logger),
		FetchCooldown:        min(cfg.FetchPollInterval, 50*time.Millisecond),
		FetchPollInterval:    cfg.FetchPollInterval,
		JobTimeout:           min(2*time.Minute, cfg.RescueAfter),
		RescueStuckJobsAfter: cfg.RescueAfter,
		// Deliveries and timers keep their own records; finished jobs are
		// only needed briefly, for uniqueness and debugging.
		CompletedJobRetentionPeriod: time.Hour,
		Queues: map[string]river.QueueConfig{
			river.QueueDefault: {MaxWorkers: cfg.Workers},
		},
		Workers:      workers,
		PeriodicJobs: periodic,
	}
	if cfg.Now != nil {
		rc.Test.Time = clock(cfg.Now)
	}
	drv := driver(st)
	if cfg.Listener != nil && st.Dialect() == store.Postgres {
		drv = riverdatabasesql.NewWithPgxListener(st.DB(), cfg.Listener)
	}
	client, err := river.NewClient(drv, rc)
	if err != nil {
		return nil, fmt.Errorf("creating job client: %w", err)
	}
	g.SetScheduler(scheduler{client})
	return client, nil
}

// scheduler queues the gateway's jobs on River, inside the gateway's
// transactions, so that core needs neither River nor the job kinds.
type scheduler struct{ client *Client }

// QueueWakes implements core.Scheduler: a WakeProcessArgs job per process.
func (s scheduler) QueueWakes(ctx context.Context, tx *sql.Tx, processIDs []int64) error {
	params := make([]river.InsertManyParams, len(processIDs))
	for i, id := range processIDs {
		params[i] = river.InsertManyParams{Args: WakeProcessArgs{ProcessID: id}}
	}
	if _, err := s.client.InsertManyTx(ctx, tx, params); err != nil {
		return fmt.Errorf("queueing wake-ups: %w", err)
	}
	return nil
}
