package httpapi_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/http"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/internal/app"
	"github.com/metagov/metagov-go/internal/apptest"
)

// TestDatabaseUnavailable runs a gateway as a PostgreSQL role whose
// connection limit then drops to zero and whose connections are ended, as
// when a server hits max_connections or restarts: requests that need the
// database answer 503 database_unavailable with Retry-After, not 500, and
// the gateway serves them again once connections are allowed.
func TestDatabaseUnavailable(t *testing.T) {
	if os.Getenv(apptest.PostgresEnv) == "" {
		t.Skipf("needs PostgreSQL roles: set %s", apptest.PostgresEnv)
	}
	t.Parallel()
	ctx := context.Background()
	db := apptest.Postgres(t)
	admin, err := sql.Open("pgx", os.Getenv(apptest.PostgresEnv))
	require.NoError(t, err)
	t.Cleanup(func() { _ = admin.Close() })

	// A role of its own that owns the test's schema, so that limiting it
	// touches nothing else on the server.
	var b [4]byte
	_, _ = rand.Read(b[:])
	role := "unavailable_" + hex.EncodeToString(b[:])
	u, err := url.Parse(db.DSN)
	require.NoError(t, err)
	schema := u.Query().Get("search_path")
	_, err = admin.ExecContext(ctx, `CREATE ROLE `+role+` LOGIN`)
	require.NoError(t, err)
	t.Cleanup(func() {
		_, _ = admin.Exec(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1`, role)
		_, _ = admin.Exec(`DROP SCHEMA IF EXISTS ` + schema + ` CASCADE`)
		_, _ = admin.Exec(`DROP ROLE IF EXISTS ` + role)
	})
	_, err = admin.ExecContext(ctx, `ALTER SCHEMA `+schema+` OWNER TO `+role)
	require.NoError(t, err)
	u.User = url.User(role)
	db.DSN = u.String()

	s := apptest.Start(t, db, app.Config{})
	r := s.Do("PUT", "/api/internal/community/"+community, map[string]any{
		"plugins": []map[string]any{{"name": "randomness", "config": map[string]any{"default_low": 1, "default_high": 9}}}})
	require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
	start := func() apptest.Response {
		return s.Do("POST", "/api/internal/process/randomness.delayed-stochastic-vote",
			map[string]any{"options": []string{"a", "b"}, "delay": 60}, header...)
	}
	require.Equal(t, http.StatusAccepted, start().Status)

	_, err = admin.ExecContext(ctx, `ALTER ROLE `+role+` CONNECTION LIMIT 0`)
	require.NoError(t, err)
	_, err = admin.ExecContext(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1`, role)
	require.NoError(t, err)
	// pgx pings a pooled connection before reusing it when it was last
	// used over a second ago, and database/sql then opens a new one: wait
	// that long so that the requests below ask the server for
	// connections it refuses (53300), rather than meet the ended ones.
	time.Sleep(1100 * time.Millisecond)
	for range 3 {
		r = start()
		r.RequireError(t, http.StatusServiceUnavailable, "database_unavailable", "try again")
		require.Equal(t, "1", r.Header.Get("Retry-After"))
	}

	_, err = admin.ExecContext(ctx, `ALTER ROLE `+role+` CONNECTION LIMIT -1`)
	require.NoError(t, err)
	r = start()
	require.Equal(t, http.StatusAccepted, r.Status, "served again once the database takes connections: %s", r.Body)
}
