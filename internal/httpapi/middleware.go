package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"regexp"
	"runtime/debug"
	"time"

	"github.com/metagov/metagov-go/internal/requestid"
)

// requestID returns the request's id, for logs and error bodies.
func requestID(ctx context.Context) string { return requestid.From(ctx) }

var validRequestID = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// withRequestID takes the caller's X-Request-Id when it is sane, or makes
// one, and echoes it in the response.
func withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if !validRequestID.MatchString(id) {
			var b [8]byte
			_, _ = rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		w.Header().Set("X-Request-Id", id)
		next.ServeHTTP(w, r.WithContext(requestid.With(r.Context(), id)))
	})
}

// statusWriter remembers the status a handler wrote, for the access log.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// withLogAndRecover logs each request at debug level and turns a panic in a
// handler into a logged 500 with a JSON body. It labels the request's metrics
// with the pattern of mux's route, looked up here rather than read from
// r.Pattern afterwards: the mux sets that on the request it is handed, which
// is a copy whenever a middleware in between adds to the context (as
// authentication does), and this also labels refused requests by route.
func (h *handler) withLogAndRecover(mux *http.ServeMux, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w}
		start := time.Now()
		_, route := mux.Handler(r)
		defer func() {
			if p := recover(); p != nil {
				h.log.ErrorContext(r.Context(), "handler panicked", slog.Any("panic", p), slog.String("stack", string(debug.Stack())))
				if sw.status == 0 {
					h.writeError(sw, r, newAPIError(http.StatusInternalServerError, "internal_error", "internal server error"))
				}
			}
			h.cfg.Metrics.HTTPRequest(route, r.Method, sw.status, time.Since(start))
			if h.log.Enabled(r.Context(), slog.LevelDebug) {
				h.log.DebugContext(r.Context(), "request", slog.String("method", r.Method), slog.String("path", r.URL.Path),
					slog.Int("status", sw.status), slog.Duration("duration", time.Since(start)),
					slog.String("request_id", requestID(r.Context())))
			}
		}()
		next.ServeHTTP(sw, r)
	})
}

// discardWriter captures the status and headers of the mux's own plain-text
// 404 and 405 answers, so they can be answered as JSON instead.
type discardWriter struct {
	header http.Header
	status int
}

func (d *discardWriter) Header() http.Header         { return d.header }
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardWriter) WriteHeader(code int)        { d.status = code }

// withJSONNotFound answers unmatched routes and wrong methods with JSON.
func (h *handler) withJSONNotFound(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		handler, pattern := mux.Handler(r)
		if pattern != "" {
			mux.ServeHTTP(w, r)
			return
		}
		probe := &discardWriter{header: http.Header{}}
		handler.ServeHTTP(probe, r)
		switch probe.status {
		case http.StatusMethodNotAllowed:
			w.Header().Set("Allow", probe.header.Get("Allow"))
			h.writeError(w, r, newAPIError(http.StatusMethodNotAllowed, "method_not_allowed",
				"method %s is not allowed on %s (allowed: %s)", r.Method, r.URL.Path, probe.header.Get("Allow")))
		case http.StatusNotFound, 0:
			h.writeError(w, r, newAPIError(http.StatusNotFound, "route_not_found", "no route for %s %s", r.Method, r.URL.Path))
		default:
			// A redirect (such as a cleaned path): let the mux answer.
			mux.ServeHTTP(w, r)
		}
	})
}
