package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/internal/store"
)

// TestFilesArePrivate starts the real binary with a umask that would leave
// new files world-writable and checks that the SQLite database, its WAL and
// shared-memory files and the key file are created readable by the owner
// only; and that the webhook secret the gateway generated is kept
// encrypted, printed by `metagov webhook-secret`, and re-encrypted by
// `metagov secrets rotate`.
func TestFilesArePrivate(t *testing.T) {
	dir := t.TempDir()
	port := freePort(t)
	s := &server{output: &syncBuffer{}, done: make(chan struct{})}
	// A shell sets the umask, then becomes the gateway.
	s.cmd = exec.Command("/bin/sh", "-c", `umask 000 && exec "$@"`, "sh",
		binary, "serve", "--addr", fmt.Sprintf("127.0.0.1:%d", port), "--database", "gw.db")
	s.cmd.Dir, s.cmd.Env = dir, cleanEnv()
	s.cmd.Stdout, s.cmd.Stderr = s.output, s.output
	require.NoError(t, s.cmd.Start())
	go func() {
		s.err = s.cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(func() {
		if !s.exited() {
			_ = s.cmd.Process.Kill()
			<-s.done
		}
	})
	s.waitReady(t, port)
	for _, name := range []string{"gw.db", "gw.db-wal", "gw.db-shm", "gw.db.key"} {
		info, err := os.Stat(filepath.Join(dir, name))
		require.NoError(t, err, name)
		require.Equal(t, os.FileMode(0o600), info.Mode().Perm(), "%s is %v", name, info.Mode().Perm())
	}

	require.NoError(t, s.cmd.Process.Signal(syscall.SIGTERM))
	<-s.done

	// The generated webhook secret is kept encrypted, and printed in the clear.
	secret, stderr, err := run(t, dir, cleanEnv(), "webhook-secret", "--database", "gw.db")
	require.NoError(t, err, stderr)
	secret = strings.TrimSpace(secret)
	require.True(t, strings.HasPrefix(secret, "whsec_"), secret)
	stored := func() string {
		st, err := store.Open(context.Background(), filepath.Join(dir, "gw.db"))
		require.NoError(t, err)
		defer st.Close()
		v, err := st.SettingGet(context.Background(), "webhook_secret")
		require.NoError(t, err)
		require.NotContains(t, v, "whsec_")
		require.NotContains(t, v, strings.TrimPrefix(secret, "whsec_"))
		return v
	}
	before := stored()
	require.True(t, strings.HasPrefix(before, "enc:v1:"), before)

	_, stderr, err = run(t, dir, cleanEnv(), "secrets", "rotate", "--database", "gw.db")
	require.NoError(t, err, stderr)
	after := stored()
	require.NotEqual(t, before[:len("enc:v1:")+8], after[:len("enc:v1:")+8], "sealed with the new key")
	again, stderr, err := run(t, dir, cleanEnv(), "webhook-secret", "--database", "gw.db")
	require.NoError(t, err, stderr)
	require.Equal(t, secret, strings.TrimSpace(again))
	info, err := os.Stat(filepath.Join(dir, "gw.db.key"))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), info.Mode().Perm(), "the rotated key file")
}
