// Package store persists the gateway's data in SQLite or PostgreSQL.
//
// One SQL text serves both databases: the SQLite driver accepts $N
// placeholders, and both support RETURNING and ON CONFLICT. The dialects
// differ only in their migrations (migrations/sqlite, migrations/postgres)
// and in how connections are opened (see Open).
//
// Reads go through the Store; every write goes through InTx, so a state
// change and the work it causes (callbacks, driver events, timers) commit
// together. The types keep it so: the queries that only read are methods of
// Reader, which Store and Tx embed; those that write are methods of Tx. On SQLite, writes share one connection, which serialises them in
// Go instead of in SQLite's busy handler, and concurrent transactions commit
// together (group commit, see InTx); reads use a separate pool and run
// concurrently thanks to WAL mode. One SQLite file serves one gateway
// process; use PostgreSQL to run several.
package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib" // also registers the "pgx" database/sql driver, by name for the tests
	_ "modernc.org/sqlite"           // registers the "sqlite" database/sql driver
)

// ErrNotFound is returned when a row the caller asked for does not exist.
var ErrNotFound = errors.New("store: not found")

// ErrConflict is returned when a compare-and-set update finds the row changed
// by someone else, or an insert violates a uniqueness constraint.
var ErrConflict = errors.New("store: conflict")

// Dialect names a supported database.
type Dialect string

// The supported dialects.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// Store is the gateway's database. Its embedded Reader reads on the reader
// pool; only a Tx, which InTx and InBatch give, has the methods that write.
type Store struct {
	Reader
	writer      *sql.DB
	reader      *sql.DB
	writerStmts *stmtCache
	readerStmts *stmtCache
	dialect     Dialect
	// group commits SQLite's write transactions together; nil on
	// PostgreSQL, whose server groups commits itself.
	group *groupWriter
}

func newStore(writer, reader *sql.DB, dialect Dialect) *Store {
	s := &Store{writer: writer, reader: reader, dialect: dialect, writerStmts: newStmtCache(writer)}
	s.readerStmts = s.writerStmts
	if reader != writer {
		s.readerStmts = newStmtCache(reader)
	}
	s.Reader = Reader{db: pooled{s.readerStmts}, dialect: dialect}
	return s
}

// Options tune how Open connects.
type Options struct {
	// SQLiteSynchronous is SQLite's synchronous setting, "FULL" or "NORMAL"
	// (any case). The default, FULL, syncs the write-ahead log at every
	// commit, so a 2xx means the change survives a power loss or an OS
	// crash; NORMAL syncs only at checkpoints, faster, and may lose the last
	// commits then (never corrupting the file). PostgreSQL ignores it.
	SQLiteSynchronous string
}

// Open connects to the database named by dsn with the default Options: a
// postgres:// or postgresql:// URL means PostgreSQL, anything else is a
// SQLite file path. It does not migrate; call Migrate.
func Open(ctx context.Context, dsn string) (*Store, error) {
	return OpenWith(ctx, dsn, Options{})
}

// OpenWith is Open with Options.
func OpenWith(ctx context.Context, dsn string, opts Options) (*Store, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		return openPostgres(ctx, dsn)
	}
	sync := strings.ToUpper(cmp.Or(opts.SQLiteSynchronous, "FULL"))
	if sync != "FULL" && sync != "NORMAL" {
		return nil, fmt.Errorf("opening sqlite: synchronous must be FULL or NORMAL, not %q", opts.SQLiteSynchronous)
	}
	return openSQLite(ctx, dsn, sync)
}

func openPostgres(ctx context.Context, dsn string) (*Store, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("opening postgres: %w", err)
	}
	// The tracer counts round trips for Usage; without a Usage in the
	// context it costs a context lookup per statement.
	cfg.Tracer = roundTrips{}
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(20)
	db.SetMaxIdleConns(20)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connecting to postgres: %w", err)
	}
	return newStore(db, db, Postgres), nil
}

func openSQLite(ctx context.Context, path, synchronous string) (*Store, error) {
	if path == "" || strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("opening sqlite: invalid database path %q", path)
	}
	if err := createPrivate(path); err != nil {
		return nil, fmt.Errorf("opening sqlite: %w", err)
	}
	pragmas := "_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=synchronous(" + synchronous + ")&_time_format=sqlite"
	base := "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + pragmas
	writer, err := sql.Open("sqlite", base+"&_pragma=journal_mode(WAL)&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("opening sqlite: %w", err)
	}
	writer.SetMaxOpenConns(1)
	writer.SetConnMaxIdleTime(0)
	// The writer must set WAL mode before readers open the file.
	if err := writer.PingContext(ctx); err != nil {
		writer.Close()
		return nil, fmt.Errorf("opening sqlite %s: %w", path, err)
	}
	reader, err := sql.Open("sqlite", base+"&_pragma=query_only(1)")
	if err != nil {
		writer.Close()
		return nil, fmt.Errorf("opening sqlite: %w", err)
	}
	reader.SetMaxOpenConns(8)
	reader.SetMaxIdleConns(8)
	s := newStore(writer, reader, SQLite)
	s.group = newGroupWriter(writer, s.writerStmts)
	return s, nil
}

// createPrivate creates a new database file readable by its owner only
// (0600, whatever the umask), since it holds the gateway's secrets, API key
// hashes and everything its communities did. SQLite gives the -wal, -shm and
// -journal files it creates beside it the database file's mode. An existing
// file keeps its mode.
func createPrivate(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	// The umask may have taken bits from 0600 too; set them exactly.
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Dialect reports which database the store uses.
func (s *Store) Dialect() Dialect { return s.dialect }

// DB is the pool that writes, for the job queue, which shares the database.
func (s *Store) DB() *sql.DB { return s.writer }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.reader.PingContext(ctx) }

// Close closes the connection pools.
func (s *Store) Close() error {
	if s.group != nil {
		s.group.close()
	}
	err := errors.Join(s.writerStmts.close(), s.writer.Close())
	if s.reader != s.writer {
		err = errors.Join(err, s.readerStmts.close(), s.reader.Close())
	}
	return err
}

// Tx is a write transaction: its embedded Reader reads inside it, and the
// methods that write are Tx's alone, so that no write can be written against
// the reader pool (read-only on SQLite) or outside a transaction.
type Tx struct {
	Reader
	tx      *sql.Tx
	dialect Dialect
	// queued counts the deliveries inserted (see DeliveriesQueued).
	queued int
}

// DeliveryInsert queues a delivery and returns its id, and counts it.
func (q *Tx) DeliveryInsert(ctx context.Context, p *DeliveryInsertParams) (int64, error) {
	id, err := q.deliveryInsert(ctx, p)
	if err == nil {
		q.queued++
	}
	return id, err
}

// DeliveriesQueued is how many deliveries the transaction has queued so
// far, so that the caller wakes the dispatcher only when there is work.
func (q *Tx) DeliveriesQueued() int { return q.queued }

// SQL is the underlying transaction, for the job queue's transactional
// insert. On SQLite it may be shared with other callers' transactions (see
// InTx): run statements on it with a context that is not cancelled
// (context.WithoutCancel), since an interrupted write rolls back them all.
func (q *Tx) SQL() *sql.Tx { return q.tx }

// InTx runs fn in a transaction and commits it if fn returns nil; it
// returns only once the commit is durable (or failed). Keep fn short and
// free of network calls, and do not call InTx from inside fn.
//
// On SQLite, transactions of concurrent callers commit together: fn runs
// in a savepoint of a transaction shared with the others queued at the
// time, so one sync of the write-ahead log serves them all. fn sees the
// others' earlier writes of the group, as if they had committed just
// before; an error or a panic rolls back fn's own writes only. The
// transaction holds the write lock from its start, so it never fails with
// SQLITE_BUSY half-way. Statements in fn run without their context's
// cancellation, since interrupting one would roll back the whole group; a
// caller whose context ends before fn starts gets the context's error and
// fn does not run.
func (s *Store) InTx(ctx context.Context, fn func(tx *Tx) error) error {
	if s.group != nil {
		err := s.group.do(ctx, fn)
		if err == nil {
			countCommit(ctx)
		}
		return err
	}
	sqlTx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("beginning transaction: %w", err)
	}
	if err := fn(&Tx{Reader: Reader{db: inTx{tx: sqlTx, c: s.writerStmts}, dialect: s.dialect}, tx: sqlTx, dialect: s.dialect}); err != nil {
		_ = sqlTx.Rollback()
		return err
	}
	if err := sqlTx.Commit(); err != nil {
		return fmt.Errorf("committing transaction: %w", err)
	}
	countCommit(ctx)
	s.writerStmts.prepareWanted(ctx)
	return nil
}

// DBTX is what queries run on: the reader pool or a transaction.
type DBTX interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Reader holds the queries that only read; the same methods run on the
// reader pool (Store) and in a transaction (Tx). The queries that write are
// methods of Tx.
type Reader struct {
	db DBTX
	// dialect is for the few queries whose text differs (key order).
	dialect Dialect
}

// now is the time stored in created_at and updated_at columns: UTC, so that
// SQLite's text timestamps sort and compare correctly.
func now() time.Time { return time.Now().UTC() }

func (d Dialect) String() string { return string(d) }
