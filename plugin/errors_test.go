package plugin_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/plugin"
)

func TestCheckResponseStatus(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		status      int
		body        string
		wantMessage string // empty: no error
		rejected    bool   // the platform refused the input (422 to the caller)
	}{
		{name: "200", status: http.StatusOK, body: `{"ok":true}`},
		{name: "201", status: http.StatusCreated, body: `{"id":1}`},
		{name: "204", status: http.StatusNoContent},
		{name: "299", status: 299, body: "odd but fine"},
		{name: "400 with a body", status: http.StatusBadRequest, body: "  \n{\"error\": \"title is required\"}\n\t ",
			wantMessage: `{"error": "title is required"}`, rejected: true},
		{name: "422", status: http.StatusUnprocessableEntity, body: `{"errors":["Title is too short"]}`,
			wantMessage: `{"errors":["Title is too short"]}`, rejected: true},
		{name: "401", status: http.StatusUnauthorized, body: "invalid token\n", wantMessage: "invalid token"},
		{name: "404 empty body", status: http.StatusNotFound, wantMessage: "404 Not Found"},
		{name: "429 blank body", status: http.StatusTooManyRequests, body: " \n ", wantMessage: "429 Too Many Requests"},
		{name: "500 empty body", status: http.StatusInternalServerError, wantMessage: "500 Internal Server Error"},
		{name: "503 with a body", status: http.StatusServiceUnavailable, body: "maintenance until noon",
			wantMessage: "maintenance until noon"},
		{name: "300 is not success", status: http.StatusMultipleChoices, body: "choose", wantMessage: "choose"},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, tc := range tests {
			if r.URL.Path == "/"+tc.name {
				w.WriteHeader(tc.status)
				_, _ = io.WriteString(w, tc.body)
				return
			}
		}
		http.Error(w, "unknown test", http.StatusTeapot)
	}))
	t.Cleanup(srv.Close)

	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req, err := http.NewRequest(http.MethodGet, srv.URL+"/"+tc.name, nil)
			require.NoError(t, err)
			resp, err := srv.Client().Do(req)
			got := plugin.CheckResponse("loomio", resp, err)
			if tc.wantMessage == "" {
				require.NoError(t, got)
				// The body of a success is left for the caller.
				body, err := io.ReadAll(resp.Body)
				require.NoError(t, err)
				require.Equal(t, tc.body, string(body))
				require.NoError(t, resp.Body.Close())
				return
			}
			var pe *plugin.PlatformError
			require.ErrorAs(t, got, &pe)
			require.Equal(t, "loomio", pe.Platform)
			require.Equal(t, tc.status, pe.Status)
			require.Equal(t, tc.wantMessage, pe.Message)
			require.False(t, pe.Timeout)
			require.Equal(t, tc.rejected, pe.Rejected, "only 400 and 422 are refused input")
			if tc.rejected {
				require.Contains(t, got.Error(), fmt.Sprintf("loomio refused the input (%d)", tc.status))
			} else {
				require.Contains(t, got.Error(), fmt.Sprintf("loomio answered %d", tc.status))
			}
		})
	}
}

func TestCheckResponseTransportError(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens there any more

	resp, err := http.Get(url)
	if resp != nil {
		resp.Body.Close()
	}
	require.Error(t, err)
	got := plugin.CheckResponse("discourse", resp, err)
	var pe *plugin.PlatformError
	require.ErrorAs(t, got, &pe)
	require.Equal(t, "discourse", pe.Platform)
	require.Zero(t, pe.Status)
	require.False(t, pe.Timeout)
	require.NotEmpty(t, pe.Message)
	require.ErrorIs(t, got, err, "the transport error is wrapped")
}

func TestCheckResponseTimeout(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select { // stall until the client gives up or the test ends
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })

	tests := []struct {
		name string
		do   func() (*http.Response, error)
	}{
		{name: "client timeout", do: func() (*http.Response, error) {
			c := &http.Client{Timeout: 50 * time.Millisecond}
			return c.Get(srv.URL)
		}},
		{name: "context deadline", do: func() (*http.Response, error) {
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
			if err != nil {
				return nil, err
			}
			return http.DefaultClient.Do(req)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			resp, err := tc.do()
			if resp != nil {
				resp.Body.Close()
			}
			got := plugin.CheckResponse("slack", resp, err)
			var pe *plugin.PlatformError
			require.ErrorAs(t, got, &pe)
			require.True(t, pe.Timeout, "a call that timed out must be marked Timeout: %v", err)
			require.Zero(t, pe.Status)
			require.Contains(t, got.Error(), "slack did not answer in time")
		})
	}

	t.Run("cancelled is not a timeout", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
		require.NoError(t, err)
		resp, err := http.DefaultClient.Do(req)
		if resp != nil {
			resp.Body.Close()
		}
		var pe *plugin.PlatformError
		require.ErrorAs(t, plugin.CheckResponse("slack", resp, err), &pe)
		require.False(t, pe.Timeout)
		require.ErrorIs(t, pe, context.Canceled)
	})
}

func TestErrorText(t *testing.T) {
	t.Parallel()
	cause := errors.New("connection reset")
	tests := []struct {
		name string
		err  error
		want string
	}{
		{name: "input error with field", err: &plugin.InputError{Field: "/high", Message: "must be greater than low"},
			want: "/high: must be greater than low"},
		{name: "input error without field", err: &plugin.InputError{Message: "low must be less than high"},
			want: "low must be less than high"},
		{name: "platform status", err: &plugin.PlatformError{Platform: "loomio", Status: 422, Message: "title is required"},
			want: "loomio answered 422: title is required"},
		{name: "platform timeout", err: &plugin.PlatformError{Platform: "slack", Timeout: true, Message: "no answer after 10s"},
			want: "slack did not answer in time: no answer after 10s"},
		{name: "platform timeout wins over status", err: &plugin.PlatformError{Platform: "slack", Status: 504, Timeout: true, Message: "gateway timeout"},
			want: "slack did not answer in time: gateway timeout"},
		{name: "platform transport error", err: &plugin.PlatformError{Platform: "discourse", Message: "connection reset", Err: cause},
			want: "discourse: connection reset"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, tc.err.Error())
		})
	}

	require.ErrorIs(t, &plugin.PlatformError{Platform: "x", Err: cause}, cause)
	require.NoError(t, errors.Unwrap(&plugin.PlatformError{Platform: "x"}))
	require.NotErrorIs(t, plugin.ErrNotFound, plugin.ErrUnauthorized)
}
