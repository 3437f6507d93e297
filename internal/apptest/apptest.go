// Package apptest runs the whole gateway for tests: on a fresh SQLite file
// and, when METAGOV_TEST_POSTGRES_URL is set, on a fresh PostgreSQL schema,
// behind a real HTTP server, with helpers to call it and to receive its
// callbacks and events.
package apptest

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/metagov/metagov-go/internal/app"
	"github.com/metagov/metagov-go/internal/secrets"
)

// PostgresEnv names the variable holding a PostgreSQL URL for tests. When it
// is set, PostgreSQL must be reachable: the suite fails rather than skips.
const PostgresEnv = "METAGOV_TEST_POSTGRES_URL"

// Database is a fresh database for one test.
type Database struct {
	Name string // "sqlite" or "postgres"
	DSN  string
	// SecretKey encrypts plugin secrets in this database, the same across
	// restarts of the gateway, and keeps key files out of the source tree.
	SecretKey string
}

// EachDatabase runs fn as a subtest on a fresh SQLite database and, when
// configured, on a fresh PostgreSQL schema.
func EachDatabase(t *testing.T, fn func(t *testing.T, db Database)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, SQLite(t)) })
	if os.Getenv(PostgresEnv) == "" {
		t.Logf("%s is not set: skipping the PostgreSQL run", PostgresEnv)
		return
	}
	t.Run("postgres", func(t *testing.T) { fn(t, Postgres(t)) })
}

// SQLite returns a database in a new temporary file.
func SQLite(t testing.TB) Database {
	return Database{Name: "sqlite", DSN: filepath.Join(t.TempDir(), "metagov.db"), SecretKey: secrets.EncodeKey(secrets.NewKey())}
}

// Postgres returns a database in a new schema of the PostgreSQL server named
// by METAGOV_TEST_POSTGRES_URL, dropped when the test ends.
func Postgres(t testing.TB) Database {
	t.Helper()
	base := os.Getenv(PostgresEnv)
	if base == "" {
		t.Fatalf("%s is not set", PostgresEnv)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "t_" + hex.EncodeToString(b[:])
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("opening postgres: %v", err)
	}
	defer admin.Close()
	if _, err := admin.Exec(`CREATE SCHEMA ` + schema); err != nil {
		t.Fatalf("creating schema on %s: %v", base, err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("pgx", base)
		if err == nil {
			_, _ = db.Exec(`DROP SCHEMA ` + schema + ` CASCADE`)
			db.Close()
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parsing %s: %v", PostgresEnv, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return Database{Name: "postgres", DSN: u.String(), SecretKey: secrets.EncodeKey(secrets.NewKey())}
}

// Server is a running gateway.
type Server struct {
	URL string
	App *app.App
	t   testing.TB
	srv *httptest.Server
}

// Start runs a gateway on db until the test ends. cfg may set anything but
// the database; its zero values suit tests.
func Start(t testing.TB, db Database, cfg app.Config) *Server {
	t.Helper()
	cfg.Database = db.DSN
	if cfg.SecretKey == "" {
		cfg.SecretKey = db.SecretKey
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
		if testing.Verbose() {
			cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
		}
	}
	if cfg.JobPollInterval == 0 {
		cfg.JobPollInterval = 50 * time.Millisecond
	}
	ctx := context.Background()
	a, err := app.Open(ctx, cfg)
	if err != nil {
		t.Fatalf("opening app on %s: %v", db.Name, err)
	}
	if err := a.Start(ctx); err != nil {
		t.Fatalf("starting app: %v", err)
	}
	s := &Server{App: a, t: t, srv: httptest.NewServer(a.Handler())}
	s.URL = s.srv.URL
	t.Cleanup(s.Stop)
	return s
}

// Stop shuts the gateway down, as SIGTERM would. It is safe to call twice.
func (s *Server) Stop() {
	if s.srv == nil {
		return
	}
	s.srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.App.Stop(ctx); err != nil {
		s.t.Errorf("stopping app: %v", err)
	}
	s.srv = nil
}

// Response is an HTTP answer with its body read.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into a generic value, failing the test if it is not
// JSON.
func (r Response) JSON(t testing.TB) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(r.Body, &v); err != nil {
		t.Fatalf("body is not a JSON object: %v: %s", err, r.Body)
	}
	return v
}

// RequireError checks that r is the gateway's JSON error answer: the status,
// the code, a request id, and a detail that mentions each fragment. It returns
// the decoded body for further checks (a field, say).
func (r Response) RequireError(t testing.TB, status int, code string, fragments ...string) map[string]any {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type %q, want application/json: %s", ct, r.Body)
	}
	body := r.JSON(t)
	if body["code"] != code {
		t.Fatalf("code %v, want %q: %s", body["code"], code, r.Body)
	}
	detail, _ := body["detail"].(string)
	for _, f := range fragments {
		if !strings.Contains(detail, f) {
			t.Fatalf("detail %q does not mention %q", detail, f)
		}
	}
	if id, _ := body["request_id"].(string); id == "" {
		t.Fatalf("no request_id in the error: %s", r.Body)
	}
	return body
}

// RequireErrorField is RequireError that also checks the error's field: the
// JSON pointer field, or no field at all when field is empty.
func (r Response) RequireErrorField(t testing.TB, status int, code, field string, fragments ...string) map[string]any {
	t.Helper()
	body := r.RequireError(t, status, code, fragments...)
	got, present := body["field"]
	switch {
	case field == "" && present:
		t.Fatalf("field %v, want none: %s", got, r.Body)
	case field != "" && got != field:
		t.Fatalf("field %v, want %q: %s", got, field, r.Body)
	}
	return body
}

// Do sends a request. body may be nil, a string (sent as is) or any value
// (sent as JSON). headers are name, value pairs.
func (s *Server) Do(method, path string, body any, headers ...string) Response {
	s.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = bytes.NewBufferString(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			s.t.Fatalf("encoding request body: %v", err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, s.URL+path, rd)
	if err != nil {
		s.t.Fatalf("building request: %v", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatalf("reading response of %s %s: %v", method, path, err)
	}
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: raw}
}
