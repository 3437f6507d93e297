package app_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/internal/app"
	"github.com/metagov/metagov-go/internal/apptest"
)

func getJSON(t *testing.T, url string) (int, http.Header, map[string]any) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	var body map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	return resp.StatusCode, resp.Header, body
}

// TestRunAnswersWhileStarting holds the SQLite database's write lock so
// that the gateway cannot migrate, and checks that it answers meanwhile:
// alive on /healthz, not ready on /readyz and every other route, with a
// Retry-After; then, the lock released, ready and serving the API.
func TestRunAnswersWhileStarting(t *testing.T) {
	db := apptest.SQLite(t)
	ctx := context.Background()
	holder, err := sql.Open("sqlite", "file:"+db.DSN+"?_pragma=journal_mode(WAL)")
	require.NoError(t, err)
	t.Cleanup(func() { holder.Close() })
	lock, err := holder.Conn(ctx)
	require.NoError(t, err)
	_, err = lock.ExecContext(ctx, "BEGIN IMMEDIATE")
	require.NoError(t, err)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- app.Run(runCtx, ln, app.Config{Database: db.DSN, SecretKey: db.SecretKey,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	}()
	base := "http://" + ln.Addr().String()

	status, _, body := getJSON(t, base+"/healthz")
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "ok", body["status"])
	status, header, body := getJSON(t, base+"/readyz")
	require.Equal(t, http.StatusServiceUnavailable, status)
	require.Equal(t, "not_ready", body["code"])
	require.Contains(t, body["detail"], "starting")
	require.Equal(t, "1", header.Get("Retry-After"))
	status, _, body = getJSON(t, base+"/api/internal/community/c")
	require.Equal(t, http.StatusServiceUnavailable, status)
	require.Equal(t, "starting", body["code"])

	_, err = lock.ExecContext(ctx, "ROLLBACK")
	require.NoError(t, err)
	require.NoError(t, lock.Close())
	require.Eventually(t, func() bool {
		status, _, _ := getJSON(t, base+"/readyz")
		return status == http.StatusOK
	}, 20*time.Second, 10*time.Millisecond)
	req, err := http.NewRequest("PUT", base+"/api/internal/community/c", strings.NewReader(`{"plugins": []}`))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusCreated, resp.StatusCode, "the API serves once ready")

	cancel()
	require.NoError(t, <-done)
}

// TestRunFailsToOpen: a gateway whose database cannot open stops serving
// and says why.
func TestRunFailsToOpen(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	err = app.Run(context.Background(), ln, app.Config{Database: "bad?name", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.ErrorContains(t, err, "invalid database path")
	// Accept on the listener itself, not a dial to its port: once closed,
	// the port may already serve another test.
	_, err = ln.Accept()
	require.ErrorIs(t, err, net.ErrClosed, "the listener is closed")
}

// TestJobQueueListensOnPostgres: on PostgreSQL the job queue waits for new
// jobs with LISTEN (River's notifier) rather than only polling.
func TestJobQueueListensOnPostgres(t *testing.T) {
	if os.Getenv(apptest.PostgresEnv) == "" {
		t.Skipf("%s is not set", apptest.PostgresEnv)
	}
	db := apptest.Postgres(t)
	apptest.Start(t, db, app.Config{})
	u, err := url.Parse(db.DSN)
	require.NoError(t, err)
	schema := u.Query().Get("search_path")
	admin, err := sql.Open("pgx", os.Getenv(apptest.PostgresEnv))
	require.NoError(t, err)
	t.Cleanup(func() { admin.Close() })
	require.Eventually(t, func() bool {
		var n int
		err := admin.QueryRow(`SELECT count(*) FROM pg_stat_activity WHERE query LIKE $1`,
			`LISTEN "`+schema+`.river_%`).Scan(&n)
		return err == nil && n > 0
	}, 20*time.Second, 50*time.Millisecond, "no connection LISTENs on %s's channels", schema)
}
