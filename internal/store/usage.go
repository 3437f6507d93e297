package store

import (
	"context"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
)

// Usage counts what the store asked of the database on behalf of the
// contexts that carry it (see WithUsage): what a request costs the database,
// for tests that keep that cost from growing back and for diagnosis. Work
// done on other contexts (the job queue, the dispatcher) is not counted.
type Usage struct {
	// Statements are the SQL statements the store ran, each statement of a
	// batch included; BEGIN and COMMIT are not counted.
	Statements atomic.Int64
	// Commits are the write transactions committed (InTx and InBatch): one
	// WAL flush each on PostgreSQL (concurrent ones may share it); on
	// SQLite, one share of a group commit's sync.
	Commits atomic.Int64
	// RoundTrips are, on PostgreSQL, the times the gateway sent something
	// and waited for the answer: a statement, a BEGIN or COMMIT, a
	// statement's preparation, a whole batch. SQLite, in process, has none.
	RoundTrips atomic.Int64
}

type usageKey struct{}

// WithUsage returns a context whose database work the store counts in u.
func WithUsage(ctx context.Context, u *Usage) context.Context {
	return context.WithValue(ctx, usageKey{}, u)
}

func usageFrom(ctx context.Context) *Usage {
	u, _ := ctx.Value(usageKey{}).(*Usage)
	return u
}

// countStatements adds n statements to the context's Usage, if any.
func countStatements(ctx context.Context, n int) {
	if u := usageFrom(ctx); u != nil {
		u.Statements.Add(int64(n))
	}
}

// countCommit adds a commit to the context's Usage, if any.
func countCommit(ctx context.Context) {
	if u := usageFrom(ctx); u != nil {
		u.Commits.Add(1)
	}
}

// roundTrips counts PostgreSQL's round trips in the Usage of the context
// they are made on. pgx calls it for every query and Exec (BEGIN and COMMIT
// are Execs), every batch and every preparation.
type roundTrips struct{}

func (roundTrips) count(ctx context.Context) context.Context {
	if u := usageFrom(ctx); u != nil {
		u.RoundTrips.Add(1)
	}
	return ctx
}

func (r roundTrips) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	return r.count(ctx)
}

func (roundTrips) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (r roundTrips) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	return r.count(ctx)
}

func (roundTrips) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}

func (roundTrips) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

func (r roundTrips) TracePrepareStart(ctx context.Context, _ *pgx.Conn, _ pgx.TracePrepareStartData) context.Context {
	return r.count(ctx)
}

func (roundTrips) TracePrepareEnd(context.Context, *pgx.Conn, pgx.TracePrepareEndData) {}
