package delivery_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/metagov/metagov-go/internal/apptest"
	"github.com/metagov/metagov-go/internal/delivery"
	"github.com/metagov/metagov-go/internal/egress"
	"github.com/metagov/metagov-go/internal/store"
)

// countingReceiver is a driver endpoint that counts deliveries by webhook-id
// and says when it has seen want distinct ones.
type countingReceiver struct {
	URL  string
	want int

	mu    sync.Mutex
	seen  map[string]int
	done  chan struct{}
	dupes int
}

func newCountingReceiver(tb testing.TB, want int) *countingReceiver {
	r := &countingReceiver{want: want, seen: make(map[string]int, want), done: make(chan struct{})}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		_, _ = io.Copy(io.Discard, req.Body)
		id := req.Header.Get("webhook-id")
		r.mu.Lock()
		r.seen[id]++
		if r.seen[id] > 1 {
			r.dupes++
		}
		if len(r.seen) == r.want && r.seen[id] == 1 {
			close(r.done)
		}
		r.mu.Unlock()
	}))
	tb.Cleanup(srv.Close)
	r.URL = srv.URL
	return r
}

// backlog queues n event deliveries to url in the outbox of db, as commits
// would while no dispatcher runs.
func backlog(tb testing.TB, st *store.Store, n int, url string) {
	tb.Helper()
	ctx := context.Background()
	err := st.InTx(ctx, func(tx *store.Tx) error {
		c, err := tx.CommunityInsert(ctx, "bench-"+strconv.FormatInt(time.Now().UnixNano(), 36), "")
		if err != nil {
			return err
		}
		for i := range n {
			_, err := tx.DeliveryInsert(ctx, &store.DeliveryInsertParams{
				CommunityID: c.ID, Kind: store.DeliveryEvent, MessageID: fmt.Sprintf("msg_bench_%d_%d", time.Now().UnixNano(), i),
				URL: url, Payload: []byte(`{"event_type":"bench","data":{}}`),
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatalf("queueing the backlog: %v", err)
	}
}

func openStore(tb testing.TB, dsn string) *store.Store {
	tb.Helper()
	st, err := store.Open(context.Background(), dsn)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	if err := st.Migrate(context.Background()); err != nil {
		tb.Fatal(err)
	}
	return st
}

// startDispatchers runs one dispatcher per store (each stands for a gateway
// process) and returns a function that stops them.
func startDispatchers(tb testing.TB, stores []*store.Store) func() {
	tb.Helper()
	policy, err := egress.New(egress.Config{})
	if err != nil {
		tb.Fatal(err)
	}
	signer, err := delivery.NewSigner(delivery.NewSecret())
	if err != nil {
		tb.Fatal(err)
	}
	var ds []*delivery.Dispatcher
	for _, st := range stores {
		d := delivery.NewDispatcher(st, delivery.DispatcherConfig{
			Client: policy.DeliveryClient(15 * time.Second), Signer: signer,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		})
		d.Start(context.Background())
		ds = append(ds, d)
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for _, d := range ds {
			if err := d.Stop(ctx); err != nil {
				tb.Error(err)
			}
		}
	}
}

// BenchmarkDeliveryBacklog measures how fast a backlog of deliveries drains
// once dispatchers start: BENCH_BACKLOG (default 10,000) deliveries are
// queued with no dispatcher running, then one or two dispatchers (two
// gateway processes, PostgreSQL only) send them to a local receiver. b.N
// backlogs are drained; deliveries/s is the figure. Every delivery must
// arrive exactly once.
func BenchmarkDeliveryBacklog(b *testing.B) {
	n := 10_000
	if v, err := strconv.Atoi(os.Getenv("BENCH_BACKLOG")); err == nil && v > 0 {
		n = v
	}
	run := func(b *testing.B, dsn string, gateways int) {
		var stores []*store.Store
		for range gateways {
			stores = append(stores, openStore(b, dsn))
		}
		var total time.Duration
		for b.Loop() {
			b.StopTimer()
			rcv := newCountingReceiver(b, n)
			backlog(b, stores[0], n, rcv.URL)
			b.StartTimer()
			start := time.Now()
			stop := startDispatchers(b, stores)
			select {
			case <-rcv.done:
			case <-time.After(5 * time.Minute):
				b.Fatalf("the backlog did not drain: %d of %d arrived", len(rcv.seen), n)
			}
			total += time.Since(start)
			b.StopTimer()
			stop()
			if rcv.dupes > 0 {
				b.Errorf("%d deliveries arrived twice", rcv.dupes)
			}
			b.StartTimer()
		}
		b.ReportMetric(float64(n*b.N)/total.Seconds(), "deliveries/s")
	}
	b.Run("sqlite", func(b *testing.B) { run(b, apptest.SQLite(b).DSN, 1) })
	if os.Getenv(apptest.PostgresEnv) == "" {
		return
	}
	b.Run("postgres-1", func(b *testing.B) { run(b, apptest.Postgres(b).DSN, 1) })
	b.Run("postgres-2", func(b *testing.B) { run(b, apptest.Postgres(b).DSN, 2) })
}
