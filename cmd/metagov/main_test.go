package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/internal/apidoc"
	"github.com/metagov/metagov-go/internal/apptest"
)

// binary is the metagov command, built once for every test.
var binary string

// testVersion is stamped into the binary the way releases are.
const testVersion = "v0.0.0-maintest"

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "metagov-main")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "metagov")
	// -buildvcs=auto stamps the VCS revision where there is one (a clone),
	// whatever GOFLAGS says, as a release build would.
	build := exec.Command("go", "build", "-buildvcs=auto", "-ldflags", "-X main.version="+testVersion, "-o", binary, ".")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building metagov:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// cleanEnv is the test's environment without any setting the binary reads,
// plus the given NAME=value pairs.
func cleanEnv(extra ...string) []string {
	settings := map[string]bool{"DRIVER_EVENT_RECEIVER_URL": true, "SERVER_URL": true}
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "METAGOV_") || settings[name] {
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}

// run runs the binary to completion in dir.
func run(t *testing.T, dir string, env []string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Dir, cmd.Env = dir, env
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return out.String(), errOut.String(), err
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// syncBuffer collects a process's output while it runs.
type syncBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// server is a running `metagov serve`.
type server struct {
	cmd    *exec.Cmd
	output *syncBuffer // stdout and stderr
	done   chan struct{}
	err    error // the exit status, once done is closed
}

// serve starts `metagov serve` in dir; the process is killed when the test
// ends if it is still running.
func serve(t *testing.T, dir string, env []string, args ...string) *server {
	t.Helper()
	s := &server{output: &syncBuffer{}, done: make(chan struct{})}
	s.cmd = exec.Command(binary, append([]string{"serve"}, args...)...)
	s.cmd.Dir, s.cmd.Env = dir, env
	s.cmd.Stdout, s.cmd.Stderr = s.output, s.output
	require.NoError(t, s.cmd.Start())
	go func() {
		s.err = s.cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(func() {
		select {
		case <-s.done:
		default:
			_ = s.cmd.Process.Kill()
			<-s.done
		}
		if t.Failed() {
			t.Logf("metagov serve output:\n%s", s.output)
		}
	})
	return s
}

func (s *server) exited() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// answers reports whether something serves the OpenAPI document on port.
func answers(port int) bool {
	c := &http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d/openapi.json", port))
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode == http.StatusOK
}

// waitReady waits until s serves on port.
func (s *server) waitReady(t *testing.T, port int) {
	t.Helper()
	require.Eventually(t, func() bool { return s.exited() || answers(port) }, 20*time.Second, 25*time.Millisecond)
	require.False(t, s.exited(), "metagov serve exited early: %v\n%s", s.err, s.output)
}

// TestVersion: the release version, then the module and the VCS revision
// the toolchain stamped into the binary (as `go version -m` reads them).
func TestVersion(t *testing.T) {
	t.Parallel()
	stdout, stderr, err := run(t, t.TempDir(), cleanEnv(), "version")
	require.NoError(t, err, stderr)
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	require.Len(t, lines, 4, stdout)
	require.Equal(t, "metagov "+testVersion, lines[0])
	require.True(t, strings.HasPrefix(lines[3], "go: go1."), lines[3])

	stamped, err := exec.Command("go", "version", "-m", binary).Output()
	require.NoError(t, err)
	// "(devel)", or a pseudo-version where the toolchain saw the VCS.
	module := regexp.MustCompile(`(?m)^\s*mod\s+github\.com/metagov/metagov-go\s+(\S+)`).FindSubmatch(stamped)
	require.NotNil(t, module, string(stamped))
	require.Equal(t, "module: github.com/metagov/metagov-go "+string(module[1]), lines[1])
	revision := regexp.MustCompile(`(?m)^\s*build\s+vcs\.revision=(\S+)$`).FindSubmatch(stamped)
	if revision == nil {
		require.Equal(t, "revision: unknown (built without VCS information)", lines[2])
	} else {
		require.True(t, strings.HasPrefix(lines[2], "revision: "+string(revision[1])), lines[2])
	}
}

// TestHelpShowsOwnFlags: each command's help lists the flags it takes, and
// only those, without pflag's "[=true|false]" noise.
func TestHelpShowsOwnFlags(t *testing.T) {
	t.Parallel()
	serveFlags := []string{"--addr", "--database", "--event-receiver-url", "--public-url", "--log-format", "--log-level",
		"--webhook-secret", "--egress-allow", "--egress-deny-private", "--egress-proxy", "--event-retention",
		"--secret-key", "--delivery-timeout", "--job-rescue-after", "--oauth-redirect-allow", "--legacy-driver",
		"--sqlite-synchronous"}
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"serve"}, serveFlags},
		{[]string{"migrate"}, []string{"--database"}},
		{[]string{"webhook-secret"}, []string{"--database", "--webhook-secret", "--secret-key"}},
		{[]string{"secrets", "rotate"}, []string{"--database", "--secret-key"}},
		{[]string{"apikey", "create"}, []string{"--database", "--community", "--name"}},
		{[]string{"apikey", "list"}, []string{"--database"}},
		{[]string{"apikey", "revoke"}, []string{"--database"}},
		{[]string{"openapi"}, []string{"--public-url"}},
		{[]string{"version"}, nil},
		{[]string{"tally"}, nil},
		{nil, nil},
	} {
		t.Run(strings.Join(append([]string{"metagov"}, tc.args...), " "), func(t *testing.T) {
			t.Parallel()
			stdout, stderr, err := run(t, t.TempDir(), cleanEnv(), append(tc.args, "--help")...)
			require.NoError(t, err, stderr)
			shown := regexp.MustCompile(`(?m)^\s+(?:-\w, )?(--[a-z-]+)`).FindAllStringSubmatch(stdout, -1)
			var flags []string
			for _, m := range shown {
				flags = append(flags, m[1])
			}
			require.ElementsMatch(t, append([]string{"--help"}, tc.want...), flags, stdout)
			require.Contains(t, stdout, "-h, --help ")
			require.NotContains(t, stdout, "[=true|false]")
			require.NotContains(t, stdout, "Global Flags")
		})
	}
	// A flag of another command is refused, not silently taken.
	_, stderr, err := run(t, t.TempDir(), cleanEnv(), "version", "--database", "x.db")
	require.Error(t, err)
	require.Contains(t, stderr, "unknown flag: --database")
}

// TestCommandsNeedExistingDatabase: the commands that read a gateway's
// database refuse to create one where there is none (a secret printed from a
// new database signs nothing), and work once the gateway created it.
func TestCommandsNeedExistingDatabase(t *testing.T) {
	t.Parallel()
	commands := [][]string{{"webhook-secret"}, {"apikey", "list"}, {"apikey", "revoke", "1"}, {"secrets", "rotate"}}
	dir := t.TempDir()
	for _, args := range commands {
		_, stderr, err := run(t, dir, cleanEnv(), args...)
		require.Error(t, err, "%v", args)
		require.Contains(t, stderr, "no Metagov database at metagov.db", "%v", args)
		require.Contains(t, stderr, "--database", "%v", args)
	}
	// An empty file is no gateway's database either.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "empty.db"), nil, 0o600))
	_, stderr, err := run(t, dir, cleanEnv(), "apikey", "list", "--database", "empty.db")
	require.Error(t, err)
	require.Contains(t, stderr, "no Metagov database at empty.db")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1, "nothing but empty.db was created")

	_, stderr, err = run(t, dir, cleanEnv(), "migrate")
	require.NoError(t, err, stderr)
	stdout, stderr, err := run(t, dir, cleanEnv(), "apikey", "list")
	require.NoError(t, err, stderr)
	require.Contains(t, stdout, "ID")
	secret, stderr, err := run(t, dir, cleanEnv(), "webhook-secret")
	require.NoError(t, err, stderr)
	require.True(t, strings.HasPrefix(secret, "whsec_"), secret)

	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		if os.Getenv(apptest.PostgresEnv) == "" {
			t.Skipf("%s is not set", apptest.PostgresEnv)
		}
		db := apptest.Postgres(t)
		_, stderr, err := run(t, t.TempDir(), cleanEnv(), "apikey", "list", "--database", db.DSN)
		require.Error(t, err)
		require.Contains(t, stderr, "no Metagov database at")
		_, stderr, err = run(t, t.TempDir(), cleanEnv(), "migrate", "--database", db.DSN)
		require.NoError(t, err, stderr)
		_, stderr, err = run(t, t.TempDir(), cleanEnv(), "apikey", "list", "--database", db.DSN)
		require.NoError(t, err, stderr)
	})
}

// TestServeChecksAddressFirst: a gateway that cannot listen fails before it
// creates its database or key file.
func TestServeChecksAddressFirst(t *testing.T) {
	t.Parallel()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer busy.Close()
	dir := t.TempDir()
	_, stderr, err := run(t, dir, cleanEnv(), "serve", "--addr", busy.Addr().String(), "--database", "gw.db")
	require.Error(t, err)
	require.Contains(t, stderr, "listening on "+busy.Addr().String())
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Empty(t, entries, "no database or key file")
}

// TestOpenAPICommand lints the document of the built-in plugins with the
// rules of Redocly's recommended set: every plugin's input and event schemas
// are referenced from an operation or webhook.
func TestOpenAPICommand(t *testing.T) {
	t.Parallel()
	stdout, stderr, err := run(t, t.TempDir(), cleanEnv(), "openapi")
	require.NoError(t, err, stderr)
	var doc map[string]any
	require.NoError(t, json.Unmarshal([]byte(stdout), &doc))
	require.Contains(t, doc["openapi"], "3.1")
	require.Contains(t, doc, "paths")
	require.Contains(t, doc["webhooks"], "vote.closing_soon")
	problems, err := apidoc.Lint([]byte(stdout))
	require.NoError(t, err)
	require.Empty(t, problems)
}

func TestUnknownCommand(t *testing.T) {
	t.Parallel()
	_, stderr, err := run(t, t.TempDir(), cleanEnv(), "frobnicate")
	var exitErr *exec.ExitError
	require.ErrorAs(t, err, &exitErr)
	require.NotZero(t, exitErr.ExitCode())
	require.Contains(t, stderr, "frobnicate")
}

func TestMigrate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args func(db string) []string
		env  func(db string) []string
	}{
		{name: "flag", args: func(db string) []string { return []string{"migrate", "--database", db} }},
		{name: "environment", args: func(string) []string { return []string{"migrate"} },
			env: func(db string) []string { return []string{"METAGOV_DATABASE=" + db} }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			db := filepath.Join(dir, "x.db")
			var env []string
			if tc.env != nil {
				env = tc.env(db)
			}
			_, err := os.Stat(db)
			require.ErrorIs(t, err, os.ErrNotExist)

			stdout, stderr, err := run(t, dir, cleanEnv(env...), tc.args(db)...)
			require.NoError(t, err, stderr)
			require.Contains(t, stdout, "migrated sqlite database")
			info, err := os.Stat(db)
			require.NoError(t, err, "the SQLite file is created")
			require.Positive(t, info.Size())
			_, err = os.Stat(filepath.Join(dir, "metagov.db"))
			require.ErrorIs(t, err, os.ErrNotExist, "the default database is not touched")

			// Migrating again is harmless.
			stdout, stderr, err = run(t, dir, cleanEnv(env...), tc.args(db)...)
			require.NoError(t, err, stderr)
			require.Contains(t, stdout, "migrated sqlite database")
		})
	}

	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		if os.Getenv(apptest.PostgresEnv) == "" {
			t.Skipf("%s is not set", apptest.PostgresEnv)
		}
		db := apptest.Postgres(t)
		stdout, stderr, err := run(t, t.TempDir(), cleanEnv(), "migrate", "--database", db.DSN)
		require.NoError(t, err, stderr)
		require.Contains(t, stdout, "migrated postgres database")
	})
}

// TestConfigPrecedence checks that a flag beats the environment, which
// beats .env, which beats the default, on --addr and --database.
func TestConfigPrecedence(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// dotEnv, env and flag set the address to their own port when true.
		dotEnv, env, flag bool
		want              string // which of them wins
		// wantDB is the database file that serve must create.
		wantDB string
	}{
		{name: ".env beats the default", dotEnv: true, want: "dotenv", wantDB: "dotenv.db"},
		{name: "environment beats .env", dotEnv: true, env: true, want: "env", wantDB: "env.db"},
		{name: "flag beats environment", dotEnv: true, env: true, flag: true, want: "flag", wantDB: "flag.db"},
		{name: "flag beats .env", dotEnv: true, flag: true, want: "flag", wantDB: "flag.db"},
		{name: "default database", flag: true, want: "flag", wantDB: "metagov.db"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			ports := map[string]int{"dotenv": freePort(t), "env": freePort(t), "flag": freePort(t)}
			addr := func(source string) string { return fmt.Sprintf("127.0.0.1:%d", ports[source]) }
			var env, args []string
			if tc.dotEnv {
				dotEnv := "# written by the test\nMETAGOV_ADDR=" + addr("dotenv") + "\nMETAGOV_DATABASE=dotenv.db\n"
				require.NoError(t, os.WriteFile(filepath.Join(dir, ".env"), []byte(dotEnv), 0o600))
			}
			if tc.env {
				env = append(env, "METAGOV_ADDR="+addr("env"), "METAGOV_DATABASE=env.db")
			}
			if tc.flag {
				args = append(args, "--addr", addr("flag"))
				if tc.wantDB == "flag.db" {
					args = append(args, "--database", "flag.db")
				}
			}

			s := serve(t, dir, cleanEnv(env...), args...)
			s.waitReady(t, ports[tc.want])
			for source, port := range ports {
				if source != tc.want {
					require.False(t, answers(port), "%s's port must not answer", source)
				}
			}
			for _, db := range []string{"dotenv.db", "env.db", "flag.db", "metagov.db"} {
				_, err := os.Stat(filepath.Join(dir, db))
				if db == tc.wantDB {
					require.NoError(t, err, "serve uses %s", db)
				} else {
					require.ErrorIs(t, err, os.ErrNotExist, "serve must not create %s", db)
				}
			}
		})
	}
}

func TestServeUnreachablePostgres(t *testing.T) {
	t.Parallel()
	dsn := fmt.Sprintf("postgres://nobody@127.0.0.1:%d/metagov?sslmode=disable&connect_timeout=5", freePort(t))
	start := time.Now()
	_, stderr, err := run(t, t.TempDir(), cleanEnv(), "serve", "--database", dsn, "--addr", fmt.Sprintf("127.0.0.1:%d", freePort(t)))
	var exitErr *exec.ExitError
	require.ErrorAs(t, err, &exitErr, "serve must fail: %s", stderr)
	require.NotZero(t, exitErr.ExitCode())
	require.Contains(t, stderr, "postgres", "the message names the database")
	require.NotContains(t, stderr, "panic")
	require.Less(t, time.Since(start), 20*time.Second)
}

// TestServeSIGTERM starts the real binary, creates a community, and shuts it
// down with SIGTERM while a request is in flight: the request completes, the
// process exits 0 within 10 s, and the data is there after a restart.
func TestServeSIGTERM(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	port := freePort(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	args := []string{"--addr", fmt.Sprintf("127.0.0.1:%d", port), "--database", filepath.Join(dir, "m.db")}
	s := serve(t, dir, cleanEnv(), args...)
	s.waitReady(t, port)

	resp, err := http.Post(base+"/api/internal/community", "application/json",
		strings.NewReader(`{"slug": "before-sigterm", "readable_name": "Before"}`))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusCreated, resp.StatusCode)

	// A request whose handler is running, waiting for the body, when
	// SIGTERM comes: with "Expect: 100-continue" the server answers 100
	// once the handler reads the body, and only then does the client send it.
	const inFlightBody = `{"readable_name": "In flight"}`
	pr, pw := io.Pipe()
	handlerRunning := make(chan struct{})
	trace := &httptrace.ClientTrace{Got100Continue: func() { close(handlerRunning) }}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace),
		http.MethodPut, base+"/api/internal/community/in-flight", pr)
	require.NoError(t, err)
	req.ContentLength = int64(len(inFlightBody))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Expect", "100-continue")
	transport := &http.Transport{ExpectContinueTimeout: time.Minute}
	t.Cleanup(transport.CloseIdleConnections)
	type result struct {
		status int
		body   string
		err    error
	}
	inFlight := make(chan result, 1)
	go func() {
		resp, err := (&http.Client{Transport: transport}).Do(req)
		if err != nil {
			inFlight <- result{err: err}
			return
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		inFlight <- result{status: resp.StatusCode, body: string(body)}
	}()
	select {
	case <-handlerRunning:
	case r := <-inFlight:
		t.Fatalf("the request ended before its body was sent: %+v", r)
	case <-time.After(10 * time.Second):
		t.Fatal("the server did not ask for the body")
	}

	require.NoError(t, s.cmd.Process.Signal(syscall.SIGTERM))
	require.Eventually(t, func() bool { return strings.Contains(s.output.String(), "shutting down") }, 10*time.Second,
		10*time.Millisecond, "the log must say it is shutting down")
	require.False(t, s.exited(), "the process waits for the request in flight")

	_, err = io.WriteString(pw, inFlightBody)
	require.NoError(t, err)
	require.NoError(t, pw.Close())
	select {
	case r := <-inFlight:
		require.NoError(t, r.err)
		require.Equal(t, http.StatusCreated, r.status, r.body)
	case <-time.After(10 * time.Second):
		t.Fatal("the request in flight did not finish")
	}

	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		t.Fatalf("metagov did not exit within 10 s of SIGTERM\n%s", s.output)
	}
	require.NoError(t, s.err, "a graceful shutdown exits 0")
	require.False(t, answers(port), "nothing listens after the shutdown")

	// Nothing acknowledged was lost.
	again := serve(t, dir, cleanEnv(), args...)
	again.waitReady(t, port)
	for _, slug := range []string{"before-sigterm", "in-flight"} {
		resp, err := http.Get(base + "/api/internal/community/" + slug)
		require.NoError(t, err)
		var c struct {
			Slug string `json:"slug"`
		}
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&c))
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, slug)
		require.Equal(t, slug, c.Slug)
	}
	require.NoError(t, again.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-again.done:
		require.NoError(t, again.err)
	case <-time.After(10 * time.Second):
		t.Fatal("metagov did not exit within 10 s of SIGTERM")
	}
}

// TestEgressSettings: the egress policy's settings reach the gateway, from
// flags and the environment, the allow-list under its old name too. The event
// receiver URL is checked at start, so each shows without a request.
func TestEgressSettings(t *testing.T) {
	t.Parallel()
	metadataReceiver := "--event-receiver-url=http://169.254.10.1/events"
	addr := func() string { return fmt.Sprintf("--addr=127.0.0.1:%d", freePort(t)) }
	refused := []struct {
		name     string
		env      []string
		args     []string
		fragment string
	}{
		{"link-local by default", nil, []string{metadataReceiver}, "169.254.10.1 is in 169.254.0.0/16 (link-local / cloud metadata)"},
		{"deny private from the environment", []string{"METAGOV_EGRESS_DENY_PRIVATE=true"},
			[]string{"--event-receiver-url=http://127.0.0.1:9/events"}, "127.0.0.1 is in 127.0.0.0/8 (loopback)"},
		{"deny private flag", nil, []string{"--egress-deny-private", "--event-receiver-url=http://10.0.0.1/events"}, "10.0.0.1 is in 10.0.0.0/8"},
		{"bad proxy", []string{"METAGOV_EGRESS_PROXY=ftp://proxy.internal:21"}, nil, "egress proxy"},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, err := run(t, t.TempDir(), cleanEnv(tc.env...), append([]string{"serve", addr()}, tc.args...)...)
			require.Error(t, err, "serve must refuse to start")
			require.Contains(t, stderr, tc.fragment)
		})
	}
	for name, allow := range map[string]struct {
		env  []string
		args []string
	}{
		"METAGOV_EGRESS_ALLOW":   {env: []string{"METAGOV_EGRESS_ALLOW=169.254.10.0/24"}},
		"METAGOV_DELIVERY_ALLOW": {env: []string{"METAGOV_DELIVERY_ALLOW=169.254.10.0/24"}},
		"--egress-allow":         {args: []string{"--egress-allow=169.254.10.1"}},
		"--delivery-allow":       {args: []string{"--delivery-allow=169.254.10.1"}},
	} {
		t.Run("allowed by "+name, func(t *testing.T) {
			port := freePort(t)
			s := serve(t, t.TempDir(), cleanEnv(allow.env...),
				append([]string{fmt.Sprintf("--addr=127.0.0.1:%d", port), metadataReceiver}, allow.args...)...)
			s.waitReady(t, port)
		})
	}
}

// A key that could not be printed is shown to nobody, so it must not stay
// live: apikey create revokes it and fails.
func TestAPIKeyCreateRevokesAKeyItCannotPrint(t *testing.T) {
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skipf("no /dev/full here: %v", err)
	}
	defer full.Close()
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, "apikey", "create", "--name", "lost")
	cmd.Dir, cmd.Env = dir, cleanEnv()
	var errOut strings.Builder
	cmd.Stdout, cmd.Stderr = full, &errOut
	require.Error(t, cmd.Run())
	require.Contains(t, errOut.String(), "printing API key 1")
	require.Contains(t, errOut.String(), "the key was revoked")

	stdout, stderr, err := run(t, dir, cleanEnv(), "apikey", "list")
	require.NoError(t, err, stderr)
	require.Contains(t, stdout, "lost")
	require.Contains(t, stdout, "revoked")
}
