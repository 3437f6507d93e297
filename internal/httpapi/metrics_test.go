package httpapi_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/internal/app"
	"github.com/metagov/metagov-go/internal/apptest"
	"github.com/metagov/metagov-go/internal/core"
)

// requestSeries returns the metagov_http_requests_total series /metrics
// shows.
func requestSeries(t *testing.T, s *apptest.Server) []string {
	t.Helper()
	r := s.Do("GET", "/metrics", nil)
	require.Equal(t, http.StatusOK, r.Status)
	var series []string
	for line := range strings.Lines(string(r.Body)) {
		if strings.HasPrefix(line, "metagov_http_requests_total{") {
			series = append(series, line[:strings.LastIndexByte(line, ' ')]) // less the value
		}
	}
	return series
}

// TestMetricsLabelsAreBounded: 2,000 requests with made-up methods, on
// matched and unmatched paths, add no series to /metrics beyond the one
// "OTHER" method label; and an authenticated request is labelled with its
// route, not "unmatched".
func TestMetricsLabelsAreBounded(t *testing.T) {
	s := startTestkit(t, apptest.SQLite(t), app.Config{})
	key, _, err := core.CreateAPIKey(context.Background(), s.App.Store(), "driver", nil)
	require.NoError(t, err)

	r := s.Do("GET", "/api/internal/community/"+community, nil, bearer(key)...)
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	r = s.Do("GET", "/api/internal/community/"+community, nil, bearer("wrong")...)
	require.Equal(t, http.StatusUnauthorized, r.Status, string(r.Body))
	series := requestSeries(t, s)
	require.Contains(t, series, `metagov_http_requests_total{method="GET",route="GET /api/internal/community/{slug}",status="200"}`)
	require.Contains(t, series, `metagov_http_requests_total{method="GET",route="GET /api/internal/community/{slug}",status="401"}`)

	send := func(n int) {
		for i := range n {
			method := fmt.Sprintf("M%08X", rand.Uint32())
			path := []string{"/api/internal/community/" + community, "/nowhere/" + method, "/api/hooks/x"}[i%3]
			s.Do(method, path, nil, bearer(key)...)
		}
	}
	send(10)
	before := requestSeries(t, s)
	require.Contains(t, before, `metagov_http_requests_total{method="OTHER",route="unmatched",status="405"}`)
	send(2000)
	after := requestSeries(t, s)
	// /metrics itself was scraped once more in between; nothing else is new.
	require.ElementsMatch(t, before, after)
}
