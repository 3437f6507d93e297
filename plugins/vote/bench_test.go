package vote_test

import (
	"bytes"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/metagov/metagov-go/internal/app"
	"github.com/metagov/metagov-go/internal/apptest"
)

// BenchmarkCastBallot casts ballots over HTTP on SQLite from parallel
// clients, each ballot from a new voter into one approval vote, so every
// cast recounts all the ballots before it.
func BenchmarkCastBallot(b *testing.B) {
	s := apptest.Start(b, apptest.SQLite(b), app.Config{})
	s.Do("PUT", "/api/internal/community/"+community, map[string]any{"plugins": []map[string]any{{"name": "vote"}}})
	r := s.Do("POST", "/api/internal/process/vote.poll", map[string]any{
		"method": "approval", "options": []string{"a", "b", "c", "d", "e"}, "duration_minutes": 60,
	}, header...)
	if r.Status != http.StatusAccepted {
		b.Fatalf("starting vote: %d %s", r.Status, r.Body)
	}
	id := r.JSON(b)["id"]
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 32}}
	var voter atomic.Int64
	start := time.Now()
	b.ResetTimer()
	b.SetParallelism(8)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			body := fmt.Sprintf(`{"parameters": {"process_id": %v, "voter": "v%d", "ballot": ["a", "c"]}}`, id, voter.Add(1))
			req, _ := http.NewRequest("POST", s.URL+"/api/internal/action/vote.cast", bytes.NewBufferString(body))
			req.Header.Set("X-Metagov-Community", community)
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Errorf("cast answered %d", resp.StatusCode)
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "ballots/s")
}
