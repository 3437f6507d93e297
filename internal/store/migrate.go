package store

import (
	"context"
	"database/sql/driver"
	"embed"
	"fmt"
	"io/fs"

	"github.com/pressly/goose/v3"
)

//go:embed migrations
var migrations embed.FS

// Migrate applies the gateway's own migrations that are not applied yet. The
// job queue migrates its tables separately. When several processes may start
// together on one PostgreSQL database, call it inside WithMigrationLock.
func (s *Store) Migrate(ctx context.Context) error {
	p, err := s.migrator()
	if err != nil {
		return err
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("applying migrations: %w", err)
	}
	return nil
}

// MigrationsPending reports whether some migration is not applied, for
// readiness checks.
func (s *Store) MigrationsPending(ctx context.Context) (bool, error) {
	p, err := s.migrator()
	if err != nil {
		return false, err
	}
	return p.HasPending(ctx)
}

func (s *Store) migrator() (*goose.Provider, error) {
	dialect := goose.DialectSQLite3
	if s.dialect == Postgres {
		dialect = goose.DialectPostgres
	}
	fsys, err := fs.Sub(migrations, "migrations/"+string(s.dialect))
	if err != nil {
		return nil, fmt.Errorf("reading embedded migrations: %w", err)
	}
	p, err := goose.NewProvider(dialect, s.writer, fsys)
	if err != nil {
		return nil, fmt.Errorf("preparing migrations: %w", err)
	}
	return p, nil
}

// migrationLockKey is the PostgreSQL advisory lock that migrations run under:
// a hash of a fixed text and the schema the tables live in, so gateways
// sharing a schema wait for each other while gateways (or test suites) in
// other schemas of the same database do not.
// (current_schema() is NULL when search_path names no existing schema; the
// lock must still be taken then, so that both gateways fail the same way.)
const migrationLockKey = `hashtextextended('metagov migrations ' || coalesce(current_schema(), ''), 0)`

// WithMigrationLock runs fn while holding the database's migration lock, so
// that of several gateways starting together on an empty PostgreSQL database
// one migrates and the others wait, then find nothing left to apply (without
// it they create the same tables at once and all but one fail on a duplicate
// key in pg_type). One lock covers the gateway's and the job queue's
// migrations, which goose's and River's own locks would not. It is a
// session-level advisory lock, so a gateway that dies while migrating
// releases it with its connection. On SQLite, where one file serves one
// process, fn simply runs.
func (s *Store) WithMigrationLock(ctx context.Context, fn func() error) error {
	if s.dialect != Postgres {
		return fn()
	}
	conn, err := s.writer.Conn(ctx)
	if err != nil {
		return fmt.Errorf("taking a connection for the migration lock: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(`+migrationLockKey+`)`); err != nil {
		return fmt.Errorf("waiting for the migration lock: %w", err)
	}
	defer func() {
		// Unlock even if ctx was cancelled meanwhile. Should that fail, the
		// connection is discarded instead of going back to the pool still
		// holding the lock: ending the session releases it.
		var unlocked bool
		err := conn.QueryRowContext(context.WithoutCancel(ctx),
			`SELECT pg_advisory_unlock(`+migrationLockKey+`)`).Scan(&unlocked)
		if err != nil || !unlocked {
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		}
	}()
	return fn()
}
