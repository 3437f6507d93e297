package httpapi_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/internal/app"
	"github.com/metagov/metagov-go/internal/apptest"
)

const (
	secretA = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	secretB = "whsec_c2Vjb25kIHNlY3JldCBmb3Igcm90YXRpb24="
)

// verifyStandardWebhook checks a delivery's signature as a driver would,
// following the Standard Webhooks spec, written here independently of the
// gateway's signer. It returns how many of the signatures verify.
func verifyStandardWebhook(t *testing.T, secret string, h http.Header, body []byte) int {
	t.Helper()
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	require.NoError(t, err)
	id, ts := h.Get("webhook-id"), h.Get("webhook-timestamp")
	require.NotEmpty(t, id)
	sent, err := strconv.ParseInt(ts, 10, 64)
	require.NoError(t, err)
	require.InDelta(t, time.Now().Unix(), sent, 300, "timestamp within the 5 minute tolerance")
	mac := hmac.New(sha256.New, key)
	fmt.Fprintf(mac, "%s.%s.%s", id, ts, body)
	want := mac.Sum(nil)
	valid := 0
	for _, sig := range strings.Fields(h.Get("webhook-signature")) {
		version, b64, ok := strings.Cut(sig, ",")
		require.True(t, ok, sig)
		got, err := base64.StdEncoding.DecodeString(b64)
		require.NoError(t, err)
		if version == "v1" && hmac.Equal(got, want) {
			valid++
		}
	}
	return valid
}

// fastRetries makes retries wait 100 ms, six attempts in all.
var fastRetries = []time.Duration{0, 100 * time.Millisecond, 100 * time.Millisecond, 100 * time.Millisecond,
	100 * time.Millisecond, 100 * time.Millisecond}

func startTally(t *testing.T, s *apptest.Server, callbackURL string) string {
	t.Helper()
	r := s.Do("POST", "/api/internal/process/testkit.tally", map[string]any{"title": "t", "callback_url": callbackURL}, header...)
	require.Equal(t, http.StatusAccepted, r.Status, string(r.Body))
	return r.Header.Get("Location")
}

func vote(t *testing.T, s *apptest.Server) {
	t.Helper()
	r := s.Do("POST", "/api/hooks/"+community+"/testkit/s3cr3tslug", `{"vote":"yes"}`, "X-Test-Token", "secret-token")
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
}

func deliveries(t *testing.T, s *apptest.Server, query string) []any {
	t.Helper()
	r := s.Do("GET", "/api/internal/deliveries"+query, nil)
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	return r.JSON(t)["deliveries"].([]any)
}

func TestDeliveriesAreSignedAndRetried(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		rcv := apptest.NewReceiver(t)
		rcv.Respond = func(n int) int {
			if n < 2 {
				return http.StatusInternalServerError
			}
			return http.StatusOK
		}
		s := startTestkit(t, db, app.Config{WebhookSecret: secretA + " " + secretB, RetrySchedule: fastRetries})
		startTally(t, s, rcv.URL+"/cb")
		vote(t, s)

		got := rcv.WaitFor(t, 3, 30*time.Second)
		for _, g := range got {
			require.Equal(t, 1, verifyStandardWebhook(t, secretA, g.Header, g.Body), "signed with the current secret")
			require.Equal(t, 1, verifyStandardWebhook(t, secretB, g.Header, g.Body), "and with the one being rotated out")
			require.Equal(t, got[0].Header.Get("webhook-id"), g.Header.Get("webhook-id"), "the id is stable across retries")
			require.Equal(t, got[0].Body, g.Body)
		}
		require.Equal(t, 0, verifyStandardWebhook(t, "whsec_"+base64.StdEncoding.EncodeToString([]byte("some other secret")), got[0].Header, got[0].Body))

		require.Eventually(t, func() bool {
			list := deliveries(t, s, "?status=succeeded")
			return len(list) == 1 && len(list[0].(map[string]any)["attempts"].([]any)) == 3
		}, 10*time.Second, 50*time.Millisecond)
		d := deliveries(t, s, "?kind=callback")[0].(map[string]any)
		require.Equal(t, got[0].Header.Get("webhook-id"), d["message_id"])
		attempts := d["attempts"].([]any)
		require.Equal(t, 500.0, attempts[0].(map[string]any)["status_code"])
		require.Equal(t, 200.0, attempts[2].(map[string]any)["status_code"])
		require.Empty(t, deliveries(t, s, "?status=failed"))
		require.Empty(t, deliveries(t, s, "?kind=event"))

		// A redelivery sends it again, with the same id.
		r := s.Do("POST", fmt.Sprintf("/api/internal/deliveries/%v/redeliver", d["id"]), nil)
		require.Equal(t, http.StatusAccepted, r.Status, string(r.Body))
		again := rcv.WaitFor(t, 4, 15*time.Second)[3]
		require.Equal(t, got[0].Header.Get("webhook-id"), again.Header.Get("webhook-id"))
		s.Do("POST", "/api/internal/deliveries/999999/redeliver", nil).RequireError(t, http.StatusNotFound, "delivery_not_found")
		s.Do("GET", "/api/internal/deliveries?status=lost", nil).RequireError(t, http.StatusBadRequest, "invalid_filter")
		s.Do("GET", "/api/internal/deliveries?after=-1", nil).RequireError(t, http.StatusBadRequest, "invalid_query")
	})
}

func TestDeliveryStopsOnGoneAndHonoursRetryAfter(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		gone := apptest.NewReceiver(t)
		gone.Respond = func(int) int { return http.StatusGone }
		busy := apptest.NewReceiver(t)
		busy.Respond = func(n int) int {
			if n == 0 {
				return http.StatusTooManyRequests
			}
			return http.StatusOK
		}
		busy.Headers = func(int) http.Header { return http.Header{"Retry-After": {"2"}} }
		// Without Retry-After, the next retry would come after 100 ms.
		s := startTestkit(t, db, app.Config{RetrySchedule: fastRetries})

		startTally(t, s, gone.URL)
		vote(t, s)
		gone.WaitFor(t, 1, 10*time.Second)
		require.Eventually(t, func() bool { return len(deliveries(t, s, "?status=failed")) == 1 }, 10*time.Second, 50*time.Millisecond)
		time.Sleep(time.Second) // ten times longer than a retry would take
		require.Len(t, gone.All(), 1, "410 Gone is not retried")

		startTally(t, s, busy.URL)
		vote(t, s)
		got := busy.WaitFor(t, 2, 20*time.Second)
		require.Equal(t, got[0].Header.Get("webhook-id"), got[1].Header.Get("webhook-id"))
		var list []any
		require.Eventually(t, func() bool { list = deliveries(t, s, "?status=succeeded"); return len(list) == 1 },
			10*time.Second, 50*time.Millisecond)
		attempts := list[0].(map[string]any)["attempts"].([]any)
		require.Len(t, attempts, 2)
		first, _ := time.Parse(time.RFC3339Nano, attempts[0].(map[string]any)["attempted_at"].(string))
		second, _ := time.Parse(time.RFC3339Nano, attempts[1].(map[string]any)["attempted_at"].(string))
		require.GreaterOrEqual(t, second.Sub(first), 2*time.Second, "Retry-After is honoured")
	})
}

func TestEventsCanBePulled(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		s := startTestkit(t, db, app.Config{}) // no event receiver: pull only
		for i := 0; i < 3; i++ {
			r := s.Do("POST", "/api/hooks/"+community+"/testkit/s3cr3tslug", fmt.Sprintf(`{"event":"e%d"}`, i), "X-Test-Token", "secret-token")
			require.Equal(t, http.StatusOK, r.Status)
		}
		r := s.Do("GET", "/api/internal/events?limit=2", nil)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		page := r.JSON(t)
		events := page["events"].([]any)
		require.Len(t, events, 2)
		require.Equal(t, "e0", events[0].(map[string]any)["event_type"])
		require.Equal(t, community, events[0].(map[string]any)["community"])
		r = s.Do("GET", fmt.Sprintf("/api/internal/events?after=%v&community=%s", page["next"], community), nil)
		rest := r.JSON(t)["events"].([]any)
		require.Len(t, rest, 1)
		require.Equal(t, "e2", rest[0].(map[string]any)["event_type"])
		s.Do("GET", "/api/internal/events?community=nope", nil).RequireError(t, http.StatusNotFound, "community_not_found")
	})
}

func TestOperations(t *testing.T) {
	s := startTestkit(t, apptest.SQLite(t), app.Config{})
	r := s.Do("GET", "/healthz", nil)
	require.Equal(t, http.StatusOK, r.Status)
	r = s.Do("GET", "/readyz", nil)
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	s.Do("POST", "/api/internal/action/testkit.echo", map[string]any{"parameters": map[string]any{"value": "x"}}, header...)
	r = s.Do("GET", "/metrics", nil)
	require.Equal(t, http.StatusOK, r.Status)
	for _, m := range []string{
		`metagov_http_requests_total{method="POST",route="POST /api/internal/action/{id}",status="200"}`,
		`metagov_action_duration_seconds_count{action="echo",outcome="ok",plugin="testkit"}`,
		"metagov_delivery_lag_seconds", "metagov_jobs_pending",
	} {
		require.Contains(t, string(r.Body), m)
	}
	// Callback URLs may not aim at link-local or metadata addresses.
	r = s.Do("POST", "/api/internal/process/testkit.tally", map[string]any{"title": "t", "callback_url": "http://169.254.169.254/latest"}, header...)
	r.RequireError(t, http.StatusBadRequest, "invalid_callback_url")
	var body map[string]any
	require.NoError(t, json.Unmarshal(r.Body, &body))
	require.Equal(t, "/callback_url", body["field"])
}

// TestDeliveryTimesOut: an attempt that outlasts the timeout fails and is
// retried, with the same webhook-id.
func TestDeliveryTimesOut(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		slow := apptest.NewReceiver(t)
		slow.Delay = func(n int) time.Duration {
			if n == 0 {
				return 2 * time.Second
			}
			return 0
		}
		s := startTestkit(t, db, app.Config{RetrySchedule: fastRetries, DeliveryTimeout: 300 * time.Millisecond})
		startTally(t, s, slow.URL)
		vote(t, s)
		got := slow.WaitFor(t, 2, 20*time.Second)
		require.Equal(t, got[0].Header.Get("webhook-id"), got[1].Header.Get("webhook-id"))
		var list []any
		require.Eventually(t, func() bool { list = deliveries(t, s, "?status=succeeded"); return len(list) == 1 },
			10*time.Second, 50*time.Millisecond)
		attempts := list[0].(map[string]any)["attempts"].([]any)
		require.Len(t, attempts, 2)
		require.Contains(t, attempts[0].(map[string]any)["error"], "Timeout")
		require.Equal(t, 200.0, attempts[1].(map[string]any)["status_code"])
	})
}
