package httpapi_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/internal/app"
	"github.com/metagov/metagov-go/internal/apptest"
)

// TestTwoGatewaysDeliverEachOnce runs two gateway processes on one
// PostgreSQL database, both dispatching the same outbox, and checks at the
// driver's receiver, by webhook-id, that every delivery is attempted exactly
// twice: once refused with a Retry-After, once accepted; never by both
// gateways at once.
func TestTwoGatewaysDeliverEachOnce(t *testing.T) {
	if os.Getenv(apptest.PostgresEnv) == "" {
		t.Skipf("%s is not set: two gateways need PostgreSQL", apptest.PostgresEnv)
	}
	const n = 400
	var mu sync.Mutex
	refused, accepted := map[string]int{}, map[string]int{}
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		id := r.Header.Get("webhook-id")
		mu.Lock()
		defer mu.Unlock()
		if refused[id] == 0 {
			// Holds every delivery back once, so that the retries fall due
			// together and both gateways compete for them.
			refused[id]++
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		accepted[id]++
	}))
	t.Cleanup(rcv.Close)

	db := apptest.Postgres(t)
	cfg := app.Config{EventReceiverURL: rcv.URL, WebhookSecret: secretA}
	gateways := []*apptest.Server{startTestkit(t, db, cfg), apptest.Start(t, db, cfg)}

	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := w; i < n; i += 8 {
				s := gateways[i%2]
				r := s.Do("POST", "/api/hooks/"+community+"/testkit/s3cr3tslug", fmt.Sprintf(`{"event": "load", "n": %d}`, i), "X-Test-Token", "secret-token")
				if r.Status != http.StatusOK {
					t.Errorf("webhook %d: %d %s", i, r.Status, r.Body)
				}
			}
		})
	}
	wg.Wait()

	// Wait until no delivery is pending any more: then no attempt can come.
	deadline := time.Now().Add(time.Minute)
	for {
		r := gateways[0].Do("GET", "/api/internal/deliveries?status=pending&limit=1", nil)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		if len(r.JSON(t)["deliveries"].([]any)) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("deliveries still pending after a minute")
		}
		time.Sleep(50 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, refused, n, "every event was delivered")
	require.Len(t, accepted, n, "every event was retried and accepted")
	for id := range refused {
		require.Equal(t, 1, refused[id], "delivery %s attempted twice at first", id)
		require.Equal(t, 1, accepted[id], "delivery %s accepted %d times", id, accepted[id])
	}
}
