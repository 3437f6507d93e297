package app_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/internal/app"
	"github.com/metagov/metagov-go/internal/apptest"
)

// smallBuffers gives every accepted connection a small send buffer, as a
// distant client's connection effectively has, so a test needs kilobytes,
// not megabytes, of unread response to fill it.
type smallBuffers struct{ net.Listener }

func (l smallBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		_ = c.(*net.TCPConn).SetWriteBuffer(4096)
	}
	return c, err
}

// serveWithTimeouts runs the gateway the way `metagov serve` does, with
// small server timeouts, and returns its address.
func serveWithTimeouts(t *testing.T, timeout time.Duration) string {
	t.Helper()
	db := apptest.SQLite(t)
	a, err := app.Open(context.Background(), app.Config{
		Database: db.DSN, SecretKey: db.SecretKey, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		ReadHeaderTimeout: timeout, WriteTimeout: timeout,
	})
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.ServeListener(ctx, smallBuffers{ln}) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
	return ln.Addr().String()
}

// dialSmall connects with a small receive window.
func dialSmall(t *testing.T, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		})
		return errors.Join(err, serr)
	}}
	conn, err := d.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	return conn
}

// requireClosedByServer reads what is left and requires the server to have
// closed the connection: EOF or a reset, not the long read deadline that a
// connection the server still holds would reach.
func requireClosedByServer(t *testing.T, conn net.Conn) int64 {
	t.Helper()
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(20*time.Second)))
	n, err := io.Copy(io.Discard, conn)
	require.False(t, errors.Is(err, os.ErrDeadlineExceeded), "the server still held the connection after reading %d bytes", n)
	return n
}

// TestSlowClientsAreDisconnected: a client that asks for a large response
// and never reads it, and one that never finishes its headers, are both
// disconnected by the server instead of pinning a connection and a handler.
func TestSlowClientsAreDisconnected(t *testing.T) {
	const timeout = 300 * time.Millisecond
	addr := serveWithTimeouts(t, timeout)

	resp, err := http.Get("http://" + addr + "/openapi.json")
	require.NoError(t, err)
	full, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	require.Greater(t, full, int64(64<<10), "the response must be far larger than the buffers")

	t.Run("never reads", func(t *testing.T) {
		conn := dialSmall(t, addr)
		_, err := fmt.Fprintf(conn, "GET /openapi.json HTTP/1.1\r\nHost: %s\r\n\r\n", addr)
		require.NoError(t, err)
		// The client stops reading for a while: longer than the write
		// timeout, which is what lets the server give up on it.
		time.Sleep(4 * timeout)
		n := requireClosedByServer(t, conn)
		require.Less(t, n, full, "the response was cut short")
	})

	t.Run("never finishes its headers", func(t *testing.T) {
		conn := dialSmall(t, addr)
		_, err := fmt.Fprintf(conn, "GET /healthz HTTP/1.1\r\nHost: %s\r\nX-Slow: ", addr)
		require.NoError(t, err)
		requireClosedByServer(t, conn)
	})
}
