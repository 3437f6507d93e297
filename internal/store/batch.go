package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// ErrBatchRead is returned by InBatch when fn read from the database or
// asked what a statement did: nothing is answered before a batch commits.
var ErrBatchRead = errors.New("store: a batch cannot read or report rows affected before it commits; use InTx")

// InBatch runs fn like InTx, for a transaction that only writes and needs
// no answer from the database before it commits, such as a process start
// (the process, its timers, its state and its audit entry). On PostgreSQL,
// fn's statements are queued and sent when it returns, all at once: one
// round trip and one implicit transaction (all or nothing), where InTx
// waits for BEGIN, for each statement and for COMMIT in turn. On SQLite,
// where a statement costs no round trip, the statements run at once in an
// InTx transaction.
//
// On both, Exec results inside fn report nothing (RowsAffected fails) and
// reads fail; InBatch then returns ErrBatchRead and writes nothing, so code
// that needs an answer fails on SQLite as it would on PostgreSQL. On
// PostgreSQL, errors of the statements themselves (a missing reference, a
// conflict) come from InBatch, not from the statement's method, and there
// is no database/sql transaction for the job queue (tx.SQL() is nil).
func (s *Store) InBatch(ctx context.Context, fn func(tx *Tx) error) error {
	if s.dialect != Postgres {
		return s.InTx(ctx, func(tx *Tx) error {
			b := &batch{db: s.writer, exec: tx.db}
			err := fn(&Tx{Reader: Reader{db: b, dialect: tx.dialect}, tx: tx.tx, dialect: tx.dialect})
			return errors.Join(b.misuse, err)
		})
	}
	b := &batch{db: s.writer}
	if err := fn(&Tx{Reader: Reader{db: b, dialect: s.dialect}, dialect: s.dialect}); err != nil {
		return errors.Join(b.misuse, err)
	}
	if b.misuse != nil {
		return b.misuse
	}
	if len(b.queue.QueuedQueries) == 0 {
		return nil
	}
	countStatements(ctx, len(b.queue.QueuedQueries))
	conn, err := s.writer.Conn(ctx)
	if err != nil {
		return fmt.Errorf("taking a connection for a batch: %w", err)
	}
	defer conn.Close()
	err = conn.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("store: a PostgreSQL connection is a %T, not pgx's", dc)
		}
		return c.Conn().SendBatch(ctx, &b.queue).Close()
	})
	if err != nil {
		return fmt.Errorf("committing a batch of %d statements (%s): %w", len(b.queue.QueuedQueries), b.summary(), interpretError(err))
	}
	countCommit(ctx)
	return nil
}

// batch is the DBTX of InBatch: on PostgreSQL it queues what it is asked
// to execute; on SQLite it executes it in the transaction at once.
type batch struct {
	db     *sql.DB // for the errors of reads (see QueryRowContext)
	exec   DBTX    // SQLite's transaction; nil on PostgreSQL
	queue  pgx.Batch
	misuse error
}

func (b *batch) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if b.exec != nil {
		if _, err := b.exec.ExecContext(ctx, query, args...); err != nil {
			return nil, err
		}
		return batchResult{b}, nil
	}
	b.queue.Queue(query, args...)
	return batchResult{b}, nil
}

func (b *batch) QueryContext(_ context.Context, query string, _ ...any) (*sql.Rows, error) {
	return nil, b.read(query)
}

// QueryRowContext fails the batch. Only database/sql makes a *sql.Row, so
// the one returned is a query on a cancelled context, which fails at once
// without reaching the database; InBatch returns ErrBatchRead whatever fn
// makes of the row's error.
func (b *batch) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	err := b.read(query)
	cancelled, cancel := context.WithCancelCause(ctx)
	cancel(err)
	return b.db.QueryRowContext(cancelled, query, args...)
}

func (b *batch) read(query string) error {
	err := fmt.Errorf("%w (%s)", ErrBatchRead, firstLine(query))
	b.misuse = errors.Join(b.misuse, err)
	return err
}

// summary names the batch's statements, for its error.
func (b *batch) summary() string {
	var names []string
	for _, q := range b.queue.QueuedQueries {
		names = append(names, firstLine(q.SQL))
	}
	return strings.Join(names, "; ")
}

func firstLine(query string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(query), "\n")
	if len(line) > 60 {
		line = line[:60] + "…"
	}
	return line
}

// batchResult is the result of a queued statement, unknown until the batch
// commits.
type batchResult struct{ b *batch }

func (r batchResult) LastInsertId() (int64, error) { return 0, r.b.read("LastInsertId") }
func (r batchResult) RowsAffected() (int64, error) { return 0, r.b.read("RowsAffected") }
