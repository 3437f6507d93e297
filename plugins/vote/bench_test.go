package vote_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/metagov/metagov-go/internal/app"
	"github.com/metagov/metagov-go/internal/apptest"
	"github.com/metagov/metagov-go/internal/store"
	"github.com/metagov/metagov-go/plugins/vote"
	"github.com/metagov/metagov-go/plugins/vote/tally"
)

// benchDatabase is the database the benchmarks run on: a fresh SQLite file,
// or a fresh PostgreSQL schema with BENCH_DATABASE=postgres (and
// METAGOV_TEST_POSTGRES_URL set).
func benchDatabase(b *testing.B) apptest.Database {
	if os.Getenv("BENCH_DATABASE") == "postgres" {
		return apptest.Postgres(b)
	}
	return apptest.SQLite(b)
}

// benchOptions are the options of the casting benchmarks.
var benchOptions = []string{"alpha", "bravo", "charlie", "delta", "echo"}

// benchPolls are the poll parameters per method.
var benchPolls = []map[string]any{
	{"method": "single-choice"},
	{"method": "approval"},
	{"method": "ranked-choice"},
	{"method": "condorcet-schulze"},
	{"method": "condorcet-copeland"},
	{"method": "score", "score_min": 0, "score_max": 5},
	{"method": "quadratic", "credits": 100},
	{"method": "weighted", "points": 100},
	{"method": "consent"},
}

// benchBallot is voter i's ballot for a method: varied, valid and cheap to
// make, leaning towards the first options.
func benchBallot(method string, i int) any {
	o := func(k int) string { return benchOptions[(i/(k+1)+k)%len(benchOptions)] }
	ranking := func() []string {
		out := []string{}
		for k := range benchOptions {
			out = append(out, benchOptions[(i+k*(i%3+1))%len(benchOptions)])
		}
		seen := map[string]bool{}
		uniq := out[:0]
		for _, x := range out {
			if !seen[x] {
				seen[x] = true
				uniq = append(uniq, x)
			}
		}
		return uniq
	}
	switch method {
	case "single-choice":
		return o(0)
	case "approval":
		if o(0) == o(1) {
			return []string{o(0)}
		}
		return []string{o(0), o(1)}
	case "ranked-choice", "condorcet-schulze", "condorcet-copeland":
		r := ranking()
		return r[:1+i%len(r)]
	case "score":
		return map[string]int{o(0): 5, o(1): i % 4}
	case "quadratic":
		return map[string]int{o(0): 7, o(1): -(i % 5)}
	case "weighted":
		return map[string]int{o(0): 60, o(1): 20 + i%20}
	}
	return []string{"agree", "abstain", "disagree", "agree"}[i%4]
}

// BenchmarkCastAt measures casting over HTTP (SQLite or, with
// BENCH_DATABASE=postgres, PostgreSQL; 8 parallel clients,
// a callback receiver) into votes that already hold 1,000, 10,000 or
// 100,000 ballots, for every method: the rate should not fall as the vote
// grows. The ballots are loaded straight into the store, as a vote started
// before the running count existed would hold them, so loading them is
// quick; the first cast (not measured) then counts them once.
//
//	go test ./plugins/vote/ -run '^$' -bench CastAt -benchtime 500x
func BenchmarkCastAt(b *testing.B) {
	for _, poll := range benchPolls {
		for _, n := range []int{1_000, 10_000, 100_000} {
			b.Run(fmt.Sprintf("%s/%dk", poll["method"], n/1000), func(b *testing.B) { benchCastAt(b, poll, n) })
		}
	}
}

func benchCastAt(b *testing.B, poll map[string]any, n int) {
	method := poll["method"].(string)
	var callbacks atomic.Int64
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		callbacks.Add(1)
	}))
	b.Cleanup(rcv.Close)
	s := apptest.Start(b, benchDatabase(b), app.Config{})
	s.Do("PUT", "/api/internal/community/"+community, map[string]any{"plugins": []map[string]any{{"name": "vote"}}})
	body := map[string]any{"options": benchOptions, "duration_minutes": 600, "callback_url": rcv.URL}
	for k, v := range poll {
		body[k] = v
	}
	if method == "consent" {
		delete(body, "options")
	}
	r := s.Do("POST", "/api/internal/process/vote.poll", body, header...)
	if r.Status != http.StatusAccepted {
		b.Fatalf("starting vote: %d %s", r.Status, r.Body)
	}
	id := int64(r.JSON(b)["id"].(float64))
	preload(b, s.App.Store(), id, n)

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 32}}
	castOne := func(i int) error {
		raw, _ := json.Marshal(map[string]any{"parameters": map[string]any{
			"process_id": id, "voter": "bench-" + strconv.Itoa(i), "ballot": benchBallot(method, i)}})
		req, _ := http.NewRequest("POST", s.URL+"/api/internal/action/vote.cast", bytes.NewReader(raw))
		req.Header.Set("X-Metagov-Community", community)
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		out, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("cast answered %d: %s", resp.StatusCode, out)
		}
		return nil
	}
	if err := castOne(n + 1_000_000); err != nil { // counts the loaded ballots once
		b.Fatal(err)
	}
	// A ranked-choice vote counts them all again by timer at once, and
	// then only every 20 times as long as that took: measure after it.
	loc := fmt.Sprintf("/api/internal/process/vote.poll/%d", id)
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if out, _ := s.Do("GET", loc, nil).JSON(b)["outcome"].(map[string]any); out["pending"] == nil {
			break
		}
	}
	var voter atomic.Int64
	runtime.GC() // the loading's garbage is not the casts' cost
	b.ResetTimer()
	start, cpu := time.Now(), cpuTime(b)
	b.SetParallelism(4) // 4 × GOMAXPROCS clients
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := castOne(int(voter.Add(1))); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "ballots/s")
	// CPU time per ballot (server, dispatcher, clients and receiver: all
	// in this process) says more than the rate on a shared machine.
	b.ReportMetric(float64((cpuTime(b)-cpu).Microseconds())/float64(b.N), "cpu-µs/ballot")
	b.StopTimer()
}

// preload writes n ballots of new voters into the vote's state in one
// transaction, in the plugin's pages, and resets the process state to
// what Start wrote (the rules, electorate and schedule), as a vote whose
// ballots were cast before the running count existed.
func preload(b *testing.B, st *store.Store, id int64, n int) {
	ctx := context.Background()
	p, err := st.ProcessGetByID(ctx, id)
	if err != nil {
		b.Fatal(err)
	}
	var state map[string]json.RawMessage
	if err := json.Unmarshal(p.State, &state); err != nil {
		b.Fatal(err)
	}
	var rules tally.Rules
	if err := json.Unmarshal(state["rules"], &rules); err != nil {
		b.Fatal(err)
	}
	at := time.Now().UTC()
	ballots := make([]tally.Ballot, n)
	for i := range n {
		voter := "pre-" + strconv.Itoa(i)
		raw, _ := json.Marshal(benchBallot(string(rules.Method), i))
		norm, err := rules.CheckBallot(voter, raw)
		if err != nil {
			b.Fatal(err)
		}
		ballots[i] = tally.Ballot{Voter: voter, Choice: norm, CastAt: at}
	}
	slices.SortFunc(ballots, func(x, y tally.Ballot) int { return strings.Compare(x.Voter, y.Voter) })
	err = st.InTx(ctx, func(tx *store.Tx) error {
		err := vote.Paginate(id, ballots, func(key string, value json.RawMessage) error {
			return tx.PluginStatePut(ctx, p.InstanceID, key, value)
		})
		if err != nil {
			return err
		}
		reset, _ := json.Marshal(map[string]json.RawMessage{"rules": state["rules"], "schedule": state["schedule"],
			"electorate": state["electorate"], "paged": state["paged"]})
		_, err = tx.SQL().ExecContext(ctx, `UPDATE processes SET state = $1 WHERE id = $2`, string(reset), id)
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
}

// BenchmarkCloseAt measures closing (the final tally, sealed with its
// digest) of a vote holding a million ballots, over HTTP (DELETE on the
// process; SQLite, or PostgreSQL with BENCH_DATABASE=postgres): what a
// driver waits for at the close. BENCH_BALLOTS
// changes the size. Loading the ballots takes a while, so pick methods:
//
//	go test ./plugins/vote/ -run '^$' -bench 'CloseAt/(single-choice|ranked-choice)' -benchtime 1x
func BenchmarkCloseAt(b *testing.B) {
	n := 1_000_000
	if s := os.Getenv("BENCH_BALLOTS"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil {
			b.Fatalf("BENCH_BALLOTS: %v", err)
		}
	}
	for _, poll := range benchPolls {
		b.Run(fmt.Sprintf("%s/%dk", poll["method"], n/1000), func(b *testing.B) { benchCloseAt(b, poll, n) })
	}
}

func benchCloseAt(b *testing.B, poll map[string]any, n int) {
	s := apptest.Start(b, benchDatabase(b), app.Config{})
	s.Do("PUT", "/api/internal/community/"+community, map[string]any{"plugins": []map[string]any{{"name": "vote"}}})
	var took, cpu time.Duration
	for b.Loop() {
		b.StopTimer()
		body := map[string]any{"options": benchOptions, "duration_minutes": 600}
		for k, v := range poll {
			body[k] = v
		}
		if poll["method"] == "consent" {
			delete(body, "options")
		}
		r := s.Do("POST", "/api/internal/process/vote.poll", body, header...)
		if r.Status != http.StatusAccepted {
			b.Fatalf("starting vote: %d %s", r.Status, r.Body)
		}
		id := int64(r.JSON(b)["id"].(float64))
		preload(b, s.App.Store(), id, n)
		// One ballot over HTTP makes the running count, as a vote has.
		r = s.Do("POST", "/api/internal/action/vote.cast", map[string]any{"parameters": map[string]any{
			"process_id": id, "voter": "last", "ballot": benchBallot(poll["method"].(string), 0)}}, header...)
		if r.Status != http.StatusOK {
			b.Fatalf("casting: %d %s", r.Status, r.Body)
		}
		// A ranked-choice vote then counts by timer, under the process's
		// lock: close after that, not while it runs.
		loc := fmt.Sprintf("/api/internal/process/vote.poll/%d", id)
		for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if out, _ := s.Do("GET", loc, nil).JSON(b)["outcome"].(map[string]any); out["pending"] == nil {
				break
			}
		}
		runtime.GC()
		b.StartTimer()
		started, cpu0 := time.Now(), cpuTime(b)
		r = s.Do("DELETE", fmt.Sprintf("/api/internal/process/vote.poll/%d", id), nil, header...)
		took += time.Since(started)
		cpu += cpuTime(b) - cpu0
		if r.Status != http.StatusOK {
			b.Fatalf("closing vote: %d %s", r.Status, r.Body)
		}
		out := r.JSON(b)["outcome"].(map[string]any)
		if voted := out["participation"].(map[string]any)["voted"]; voted != float64(n+1) {
			b.Fatalf("closed with %v ballots counted, want %d", voted, n+1)
		}
	}
	b.ReportMetric(took.Seconds()/float64(b.N), "s/close")
	// The CPU time (the whole process's, the gateway's mostly) says more
	// than the wait on a shared machine.
	b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/close")
}

// BenchmarkCastEligible measures casting over HTTP (SQLite, 8 parallel
// clients) into a single-choice vote whose rules list 1,000 or 100,000
// eligible voters: a cast reads what it needs about its voter with one
// lookup, so the rate should not fall as the list grows.
//
//	go test ./plugins/vote/ -run '^$' -bench CastEligible -benchtime 500x
func BenchmarkCastEligible(b *testing.B) {
	for _, n := range []int{1_000, 100_000} {
		b.Run(fmt.Sprintf("%dk", n/1000), func(b *testing.B) {
			s := apptest.Start(b, benchDatabase(b), app.Config{})
			s.Do("PUT", "/api/internal/community/"+community, map[string]any{"plugins": []map[string]any{{"name": "vote"}}})
			eligible := make([]string, n)
			for i := range eligible {
				eligible[i] = "v" + strconv.Itoa(i) // short: the request body is at most 1 MB
			}
			r := s.Do("POST", "/api/internal/process/vote.poll", map[string]any{"method": "single-choice", "options": benchOptions,
				"duration_minutes": 600, "eligible": eligible}, header...)
			if r.Status != http.StatusAccepted {
				b.Fatalf("starting vote: %d %s", r.Status, r.Body)
			}
			id := int64(r.JSON(b)["id"].(float64))
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 32}}
			var voter atomic.Int64
			runtime.GC()
			b.ResetTimer()
			start := time.Now()
			b.SetParallelism(4)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := int(voter.Add(1)-1) % n // past n, voters change their ballots
					raw, _ := json.Marshal(map[string]any{"parameters": map[string]any{
						"process_id": id, "voter": eligible[i], "ballot": benchBallot("single-choice", i)}})
					req, _ := http.NewRequest("POST", s.URL+"/api/internal/action/vote.cast", bytes.NewReader(raw))
					req.Header.Set("X-Metagov-Community", community)
					resp, err := client.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					out, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						b.Errorf("cast answered %d: %s", resp.StatusCode, out)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "ballots/s")
		})
	}
}
