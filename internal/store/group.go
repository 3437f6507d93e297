package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
)

// ErrClosed is returned by InTx once the store is closed.
var ErrClosed = errors.New("store: closed")

// maxGroup bounds how many transactions commit together, so that one group
// holds SQLite's write lock for a bounded time.
const maxGroup = 128

// groupWriter commits concurrent write transactions together on SQLite
// (group commit). With synchronous=FULL every commit syncs the write-ahead
// log, and that sync, not the statements, is what a commit mostly costs; so
// one goroutine takes every transaction waiting, runs each in its own
// savepoint inside one SQLite transaction, commits once, and only then
// answers each caller with its own result. A transaction that fails is
// rolled back to its savepoint without touching the others; if the group's
// commit fails, every caller in it gets the error and nothing of the group
// is written.
type groupWriter struct {
	db    *sql.DB
	stmts *stmtCache

	mu     sync.Mutex
	queue  []*groupTx
	closed bool
	// wake has room for one signal: the writer takes the whole queue when
	// it wakes, so further signals would only repeat that.
	wake chan struct{}
	done chan struct{}

	// commits counts the transactions the writer committed, groups not
	// transactions; the tests read it to check that transactions grouped.
	commits atomic.Int64
}

// groupTx is one caller's transaction waiting for the writer.
type groupTx struct {
	ctx context.Context
	fn  func(*Tx) error
	// state is queued, then taken by the writer or abandoned by a caller
	// whose context ended first; whoever moves it first decides.
	state  atomic.Int32
	result chan groupResult
}

const (
	txQueued int32 = iota
	txTaken
	txAbandoned
)

type groupResult struct {
	err error
	// panicked is set when fn panicked; value is what it panicked with, to
	// panic again in the caller's goroutine.
	panicked bool
	value    any
}

func newGroupWriter(db *sql.DB, stmts *stmtCache) *groupWriter {
	w := &groupWriter{db: db, stmts: stmts, wake: make(chan struct{}, 1), done: make(chan struct{})}
	go w.run()
	return w
}

// do queues fn and waits until its group has committed (or failed). A
// caller whose ctx ends while fn waits in the queue gets ctx's error and fn
// never runs; once the writer has taken fn, the caller waits for the
// group, which is short, so that it never answers for work whose fate it
// does not know.
func (w *groupWriter) do(ctx context.Context, fn func(*Tx) error) error {
	t := &groupTx{ctx: ctx, fn: fn, result: make(chan groupResult, 1)}
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return ErrClosed
	}
	w.queue = append(w.queue, t)
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
	var r groupResult
	select {
	case r = <-t.result:
	case <-ctx.Done():
		if t.state.CompareAndSwap(txQueued, txAbandoned) {
			return ctx.Err()
		}
		r = <-t.result
	}
	if r.panicked {
		panic(r.value)
	}
	return r.err
}

// queued is how many transactions wait for the writer.
func (w *groupWriter) queued() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.queue)
}

// close stops the writer after it has answered every transaction queued
// before the call; later calls of do get ErrClosed.
func (w *groupWriter) close() {
	w.mu.Lock()
	already := w.closed
	w.closed = true
	w.mu.Unlock()
	if already {
		return
	}
	select {
	case w.wake <- struct{}{}:
	default:
	}
	<-w.done
}

func (w *groupWriter) run() {
	defer close(w.done)
	for range w.wake {
		for {
			w.mu.Lock()
			n := min(len(w.queue), maxGroup)
			group := w.queue[:n:n]
			w.queue = w.queue[n:]
			if len(w.queue) == 0 {
				w.queue = nil
			}
			closed := w.closed
			w.mu.Unlock()
			if n == 0 {
				if closed {
					return
				}
				break
			}
			w.commit(group)
		}
	}
}

// commit runs one group in one transaction and answers its callers.
func (w *groupWriter) commit(group []*groupTx) {
	taken := group[:0:0]
	for _, t := range group {
		if t.state.CompareAndSwap(txQueued, txTaken) {
			taken = append(taken, t)
		}
	}
	if len(taken) == 0 {
		return
	}
	results := make([]groupResult, len(taken))
	// The transaction is the writer's, not any caller's: one caller's
	// cancelled context must not roll back the others' work.
	ctx := context.Background()
	sqlTx, err := w.db.BeginTx(ctx, nil)
	if err != nil {
		answerAll(taken, results, fmt.Errorf("beginning transaction: %w", err))
		return
	}
	// A lone transaction needs no savepoint: its failure rolls back the
	// whole (its own) transaction.
	savepoints := len(taken) > 1
	local := newTxStmts()
	written := 0
	for i, t := range taken {
		if err := t.ctx.Err(); err != nil {
			results[i].err = err
			continue
		}
		if savepoints {
			if _, err := sqlTx.ExecContext(ctx, "SAVEPOINT grouped"); err != nil {
				_ = sqlTx.Rollback()
				answerAll(taken, results, fmt.Errorf("opening savepoint: %w", err))
				return
			}
		}
		results[i] = runGrouped(t.fn, &Tx{Reader: Reader{db: inTx{tx: sqlTx, c: w.stmts, detached: true, local: local}, dialect: SQLite}, tx: sqlTx, dialect: SQLite})
		failed := results[i].err != nil || results[i].panicked
		if !savepoints {
			if failed {
				_ = sqlTx.Rollback()
				answerAll(taken, results, nil)
				return
			}
			written++
			continue
		}
		closing := []string{"RELEASE grouped"}
		if failed {
			closing = []string{"ROLLBACK TO grouped", "RELEASE grouped"}
		} else {
			written++
		}
		for _, stmt := range closing {
			// Some SQLite errors (a full disk, an I/O error) roll back the
			// whole transaction, taking the savepoint with it; then nothing
			// of the group can be trusted.
			if _, err := sqlTx.ExecContext(ctx, stmt); err != nil {
				_ = sqlTx.Rollback()
				answerAll(taken, results, fmt.Errorf("closing savepoint: %w", err))
				return
			}
		}
	}
	if written == 0 {
		_ = sqlTx.Rollback()
		answerAll(taken, results, nil)
		return
	}
	if err := sqlTx.Commit(); err != nil {
		answerAll(taken, results, fmt.Errorf("committing transaction: %w", err))
		return
	}
	w.commits.Add(1)
	answerAll(taken, results, nil)
	w.stmts.prepareWanted(ctx)
}

// answerAll answers each caller with its result, or with groupErr when the
// group as a whole failed (callers whose own transaction failed keep their
// own error).
func answerAll(taken []*groupTx, results []groupResult, groupErr error) {
	for i, t := range taken {
		r := results[i]
		if groupErr != nil && r.err == nil && !r.panicked {
			r.err = groupErr
		}
		t.result <- r
	}
}

// runGrouped runs fn, catching a panic so that it is rolled back like an
// error here and raised again in the caller's goroutine.
func runGrouped(fn func(*Tx) error, tx *Tx) (r groupResult) {
	defer func() {
		if v := recover(); v != nil {
			r = groupResult{panicked: true, value: v}
		}
	}()
	return groupResult{err: fn(tx)}
}
