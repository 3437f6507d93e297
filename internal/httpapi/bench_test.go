package httpapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/metagov/metagov-go/internal/app"
	"github.com/metagov/metagov-go/internal/apptest"
)

// benchServer starts a gateway on SQLite with the randomness plugin enabled
// and returns it with a keep-alive client sized for parallel benchmarks.
func benchServer(b *testing.B) (*apptest.Server, *http.Client) {
	return benchServerWith(b, app.Config{})
}

// benchServerWith is benchServer with a config.
func benchServerWith(b *testing.B, cfg app.Config) (*apptest.Server, *http.Client) {
	s := apptest.Start(b, apptest.SQLite(b), cfg)
	r := s.Do("PUT", "/api/internal/community/"+community, map[string]any{"plugins": []map[string]any{
		{"name": "randomness", "config": map[string]any{"default_low": 1, "default_high": 100}},
	}})
	if r.Status != http.StatusCreated {
		b.Fatalf("creating community: %d %s", r.Status, r.Body)
	}
	transport := &http.Transport{MaxIdleConnsPerHost: 64, MaxConnsPerHost: 64}
	b.Cleanup(transport.CloseIdleConnections)
	return s, &http.Client{Transport: transport, Timeout: 10 * time.Second}
}

func post(b *testing.B, c *http.Client, url string, body []byte, want int) *http.Response {
	req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
	req.Header.Set("X-Metagov-Community", community)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		b.Error(err)
		return nil
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != want {
		b.Errorf("status %d, want %d", resp.StatusCode, want)
	}
	return resp
}

// BenchmarkActionRoundTrip is POST /api/internal/action/randomness.random-int
// over HTTP with keep-alive, from parallel clients.
func BenchmarkActionRoundTrip(b *testing.B) {
	s, c := benchServer(b)
	url := s.URL + "/api/internal/action/randomness.random-int"
	body := []byte(`{"parameters": {"low": 1, "high": 1000}}`)
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			post(b, c, url, body, http.StatusOK)
		}
	})
}

// BenchmarkProcessStart is POST /api/internal/process/... on SQLite: two
// write transactions and a durable timer per start.
func BenchmarkProcessStart(b *testing.B) {
	// The default syncs every commit (a 2xx is on disk); NORMAL is the
	// documented faster setting, measured beside it.
	for _, sync := range []string{"full", "normal"} {
		b.Run("synchronous="+sync, func(b *testing.B) {
			s, c := benchServerWith(b, app.Config{SQLiteSynchronous: sync})
			url := s.URL + "/api/internal/process/randomness.delayed-stochastic-vote"
			body := []byte(`{"options": ["a", "b", "c"], "delay": 600, "callback_url": "http://127.0.0.1:9/cb"}`)
			b.SetParallelism(16)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					post(b, c, url, body, http.StatusAccepted)
				}
			})
		})
	}
}

// BenchmarkProcessGet is GET of a process record.
func BenchmarkProcessGet(b *testing.B) {
	s, c := benchServer(b)
	resp := post(b, c, s.URL+"/api/internal/process/randomness.delayed-stochastic-vote",
		[]byte(`{"options": ["a"], "delay": 600}`), http.StatusAccepted)
	url := s.URL + resp.Header.Get("Location")
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := c.Get(url)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Error(fmt.Sprint("status ", resp.StatusCode))
			}
		}
	})
}

// BenchmarkEventDelivery measures webhooks turned into events and delivered
// to a local driver receiver: b.N webhooks in, b.N signed deliveries out.
// It reports deliveries per second and the time from webhook to arrival.
func BenchmarkEventDelivery(b *testing.B) {
	rcv := apptest.NewReceiver(b)
	db := apptest.SQLite(b)
	if os.Getenv("BENCH_POSTGRES") != "" {
		db = apptest.Postgres(b)
	}
	s := apptest.Start(b, db, app.Config{EventReceiverURL: rcv.URL})
	r := s.Do("PUT", "/api/internal/community/"+community, map[string]any{"plugins": []map[string]any{
		{"name": "testkit", "config": map[string]any{"webhook_slug": "s3cr3tslug"}},
	}})
	if r.Status != http.StatusCreated {
		b.Fatalf("creating community: %d %s", r.Status, r.Body)
	}
	transport := &http.Transport{MaxIdleConnsPerHost: 64}
	c := &http.Client{Transport: transport}
	url := s.URL + "/api/hooks/" + community + "/testkit/s3cr3tslug"
	b.ResetTimer()
	start := time.Now()
	b.SetParallelism(4)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest("POST", url, bytes.NewBufferString(`{"event":"bench"}`))
			req.Header.Set("X-Test-Token", "secret-token")
			resp, err := c.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			resp.Body.Close()
		}
	})
	ingested := time.Since(start)
	rcv.WaitFor(b, b.N, time.Minute)
	elapsed := time.Since(start)
	b.ReportMetric(float64(b.N)/ingested.Seconds(), "webhooks/s")
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "deliveries/s")
}

// BenchmarkCallbackLatency measures, one at a time, the time from a process
// change (a vote arriving by webhook) to its callback arriving at the
// driver.
func BenchmarkCallbackLatency(b *testing.B) {
	rcv := apptest.NewReceiver(b)
	s := apptest.Start(b, apptest.SQLite(b), app.Config{})
	s.Do("PUT", "/api/internal/community/"+community, map[string]any{"plugins": []map[string]any{
		{"name": "testkit", "config": map[string]any{"webhook_slug": "s3cr3tslug"}},
	}})
	var total time.Duration
	var worst time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i%2 == 0 { // a tally completes at three votes: start a fresh one
			s.Do("POST", "/api/internal/process/testkit.tally", map[string]any{"title": "t", "callback_url": rcv.URL}, header...)
		}
		before := len(rcv.All())
		t0 := time.Now()
		s.Do("POST", "/api/hooks/"+community+"/testkit/s3cr3tslug", `{"vote":"yes"}`, "X-Test-Token", "secret-token")
		rcv.WaitFor(b, before+1, 30*time.Second)
		d := time.Since(t0)
		total += d
		worst = max(worst, d)
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/callback")
	b.ReportMetric(float64(worst.Milliseconds()), "worst-ms")
}

// BenchmarkWebhookToEventAt500 sends webhooks at a fixed 500 per second for
// five seconds (b.N is ignored) and reports percentiles of the time from a
// webhook's arrival to its event reaching the driver's receiver.
func BenchmarkWebhookToEventAt500(b *testing.B) {
	const rate, seconds = 500, 5
	var mu sync.Mutex
	arrived := map[int]time.Time{}
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev struct {
			Data struct {
				N int `json:"n"`
			} `json:"data"`
		}
		_ = json.NewDecoder(r.Body).Decode(&ev)
		mu.Lock()
		arrived[ev.Data.N] = time.Now()
		mu.Unlock()
	}))
	defer rcv.Close()
	s := apptest.Start(b, apptest.SQLite(b), app.Config{EventReceiverURL: rcv.URL})
	s.Do("PUT", "/api/internal/community/"+community, map[string]any{"plugins": []map[string]any{
		{"name": "testkit", "config": map[string]any{"webhook_slug": "s3cr3tslug"}},
	}})
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	url := s.URL + "/api/hooks/" + community + "/testkit/s3cr3tslug"
	total := rate * seconds
	sent := make([]time.Time, total)
	var wg sync.WaitGroup
	tick := time.NewTicker(time.Second / rate)
	b.ResetTimer()
	for i := 0; i < total; i++ {
		<-tick.C
		wg.Add(1)
		go func(n int) {
			defer wg.Done()
			req, _ := http.NewRequest("POST", url, bytes.NewBufferString(fmt.Sprintf(`{"event":"load","n":%d}`, n)))
			req.Header.Set("X-Test-Token", "secret-token")
			sent[n] = time.Now()
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			resp.Body.Close()
		}(i)
	}
	tick.Stop()
	wg.Wait()
	deadline := time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		n := len(arrived)
		mu.Unlock()
		if n >= total || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	b.StopTimer()
	lat := make([]time.Duration, 0, total)
	mu.Lock()
	for n, at := range arrived {
		lat = append(lat, at.Sub(sent[n]))
	}
	mu.Unlock()
	if len(lat) < total {
		b.Fatalf("%d of %d events arrived", len(lat), total)
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max-ms")
}
