package fault_test

import (
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/internal/apptest"
)

// TestTwoGatewaysColdStart starts two gateway processes together on an
// empty PostgreSQL schema, five times over, the second 0 to 40 ms after the
// first: both must come up and be ready, the second waiting for the first
// one's migrations and then finding none to apply. Without the migration lock
// both create the same tables at once and one fails on a duplicate key in
// pg_type. (internal/app's TestConcurrentMigrate covers more collisions.)
func TestTwoGatewaysColdStart(t *testing.T) {
	if os.Getenv(apptest.PostgresEnv) == "" {
		t.Skipf("%s is not set: two processes need PostgreSQL", apptest.PostgresEnv)
	}
	for trial := range 5 {
		db := apptest.Postgres(t)
		addrs := []string{freeAddr(t), freeAddr(t)}
		gateways := make([]*gateway, 2)
		for i, addr := range addrs {
			time.Sleep(time.Duration(i*trial) * 10 * time.Millisecond)
			gateways[i] = launch(t, db, addr, "http://127.0.0.1:9")
		}
		for i, g := range gateways {
			waitReady(t, g)
			resp, err := http.Get("http://" + addrs[i] + "/readyz")
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, http.StatusOK, resp.StatusCode, "trial %d, gateway %d not ready: %s", trial, i, g.logs)
		}
		for _, g := range gateways {
			g.kill()
		}
	}
}
