package app_test

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/internal/app"
	"github.com/metagov/metagov-go/internal/apptest"
	"github.com/metagov/metagov-go/internal/store"
)

// TestConcurrentMigrate migrates an empty PostgreSQL schema from three
// connection pools at once, as gateways starting together do, ten times
// over: all must succeed and leave nothing pending. The starts are spread a
// little more in each trial (0 to 45 ms apart), so the gateways collide on
// goose's version table, on the gateway's first migration and on River's;
// without the migration lock most trials fail on a duplicate key in pg_type.
func TestConcurrentMigrate(t *testing.T) {
	if os.Getenv(apptest.PostgresEnv) == "" {
		t.Skipf("%s is not set: concurrent migrations need PostgreSQL", apptest.PostgresEnv)
	}
	ctx := context.Background()
	for trial := range 10 {
		db := apptest.Postgres(t)
		stores := make([]*store.Store, 3)
		for i := range stores {
			st, err := store.Open(ctx, db.DSN)
			require.NoError(t, err)
			t.Cleanup(func() { st.Close() })
			stores[i] = st
		}
		errs := make([]error, len(stores))
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i, st := range stores {
			wg.Go(func() {
				<-start
				time.Sleep(time.Duration(i*trial) * 5 * time.Millisecond)
				errs[i] = app.Migrate(ctx, st)
			})
		}
		close(start)
		wg.Wait()
		for i, err := range errs {
			require.NoError(t, err, "trial %d, gateway %d", trial, i)
		}
		for _, st := range stores {
			pending, err := st.MigrationsPending(ctx)
			require.NoError(t, err)
			require.False(t, pending, "trial %d", trial)
		}
	}
}
