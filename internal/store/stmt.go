package store

import (
	"context"
	"database/sql"
	"errors"
	"sync"
)

// stmtCache prepares each query text once per pool; database/sql then keeps
// it prepared on each connection. SQLite parses a statement on every
// unprepared query, which costs more than running most of ours.
type stmtCache struct {
	db    *sql.DB
	mu    sync.RWMutex
	stmts map[string]*sql.Stmt
	// wanted are queries first seen inside a transaction. They are prepared
	// after it, since preparing on the pool while a transaction holds
	// SQLite's only writer connection would wait forever.
	wanted map[string]bool
}

func newStmtCache(db *sql.DB) *stmtCache {
	return &stmtCache{db: db, stmts: map[string]*sql.Stmt{}, wanted: map[string]bool{}}
}

// cached returns the prepared statement of query, or notes the query to be
// prepared later.
func (c *stmtCache) cached(query string) (*sql.Stmt, bool) {
	c.mu.RLock()
	s, ok := c.stmts[query]
	c.mu.RUnlock()
	if !ok {
		c.mu.Lock()
		c.wanted[query] = true
		c.mu.Unlock()
	}
	return s, ok
}

// prepareWanted prepares the queries noted by cached. Failures are left for
// the next use of the query to report.
func (c *stmtCache) prepareWanted(ctx context.Context) {
	c.mu.RLock()
	n := len(c.wanted)
	c.mu.RUnlock()
	if n == 0 {
		return
	}
	c.mu.Lock()
	wanted := c.wanted
	c.wanted = map[string]bool{}
	c.mu.Unlock()
	for q := range wanted {
		_, _ = c.get(ctx, q)
	}
}

func (c *stmtCache) get(ctx context.Context, query string) (*sql.Stmt, error) {
	c.mu.RLock()
	s, ok := c.stmts[query]
	c.mu.RUnlock()
	if ok {
		return s, nil
	}
	// Prepare without holding the lock: preparing may wait for a
	// connection that a transaction holds, and that transaction may need
	// the lock to find its own statements.
	s, err := c.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if existing, ok := c.stmts[query]; ok {
		_ = s.Close()
		return existing, nil
	}
	c.stmts[query] = s
	return s, nil
}

func (c *stmtCache) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var err error
	for q, s := range c.stmts {
		err = errors.Join(err, s.Close())
		delete(c.stmts, q)
	}
	return err
}

// pooled runs queries on a pool through its statement cache.
type pooled struct{ c *stmtCache }

func (p pooled) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	countStatements(ctx, 1)
	s, err := p.c.get(ctx, query)
	if err != nil {
		return nil, err
	}
	return s.ExecContext(ctx, args...)
}

func (p pooled) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	countStatements(ctx, 1)
	s, err := p.c.get(ctx, query)
	if err != nil {
		return nil, err
	}
	return s.QueryContext(ctx, args...)
}

func (p pooled) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	countStatements(ctx, 1)
	s, err := p.c.get(ctx, query)
	if err != nil {
		// Unprepared, the query reports the same error through its Row.
		return p.c.db.QueryRowContext(ctx, query, args...)
	}
	return s.QueryRowContext(ctx, args...)
}

// inTx runs queries in a transaction, reusing the writer pool's prepared
// statements.
type inTx struct {
	tx *sql.Tx
	c  *stmtCache
	// detached runs statements without their context's cancellation: in a
	// grouped SQLite transaction an interrupted write would roll back the
	// whole group, every caller's work with it.
	detached bool
	// local holds the statements this transaction prepared itself (nil: it
	// prepares none). SQLite's group writer sets it; on PostgreSQL pgx
	// caches prepared statements per connection already, and a prepare of
	// our own would cost round trips.
	local *txStmts
}

// txStmts are statements a transaction prepared for queries the pool had
// not prepared yet: the pool prepares those after the transaction (see
// stmtCache.wanted), too late for a transaction that runs one query many
// times, such as a poll start writing a key per eligible voter.
type txStmts struct {
	seen  map[string]bool
	stmts map[string]*sql.Stmt
}

func newTxStmts() *txStmts {
	return &txStmts{seen: map[string]bool{}, stmts: map[string]*sql.Stmt{}}
}

func (t inTx) context(ctx context.Context) context.Context {
	if t.detached {
		return context.WithoutCancel(ctx)
	}
	return ctx
}

func (t inTx) stmt(ctx context.Context, query string) (*sql.Stmt, bool) {
	s, ok := t.c.cached(query)
	if ok {
		return t.tx.StmtContext(ctx, s), true
	}
	if t.local == nil {
		return nil, false
	}
	if s, ok := t.local.stmts[query]; ok {
		return s, true
	}
	// Prepare on the second use: most queries run once per transaction.
	if !t.local.seen[query] {
		t.local.seen[query] = true
		return nil, false
	}
	s, err := t.tx.PrepareContext(ctx, query)
	if err != nil {
		return nil, false // the query itself reports the error
	}
	t.local.stmts[query] = s
	return s, true
}

func (t inTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	countStatements(ctx, 1)
	ctx = t.context(ctx)
	if s, ok := t.stmt(ctx, query); ok {
		return s.ExecContext(ctx, args...)
	}
	return t.tx.ExecContext(ctx, query, args...)
}

func (t inTx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	countStatements(ctx, 1)
	ctx = t.context(ctx)
	if s, ok := t.stmt(ctx, query); ok {
		return s.QueryContext(ctx, args...)
	}
	return t.tx.QueryContext(ctx, query, args...)
}

func (t inTx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	countStatements(ctx, 1)
	ctx = t.context(ctx)
	if s, ok := t.stmt(ctx, query); ok {
		return s.QueryRowContext(ctx, args...)
	}
	return t.tx.QueryRowContext(ctx, query, args...)
}
