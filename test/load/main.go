// Command load is the gateway's load harness (issue 15): it starts a built
// metagov binary on a free port with a fresh database, creates a community
// with the randomness and webhook plugins, and drives each scenario for a
// fixed duration (or number of requests) at a fixed concurrency with vegeta
// (as a library), printing
// req/s and p50/p99 for each beside a bare Go JSON handler it starts itself
// in a separate process on the same machine, in the same run, so the ratio
// says how close the gateway comes to what net/http and encoding/json alone
// can do here.
//
//	go run ./test/load                       # builds ./cmd/metagov itself
//	go run ./test/load -binary ./metagov -duration 20s -c 32
//	go run ./test/load -database 'postgres://postgres@127.0.0.1:5432/test?sslmode=disable'
//	go run ./test/load -passes 2 -scenarios actions,get-process   # interleaved passes
//	go run ./test/load -database 'postgres://…' -gateways 2 -scenarios process-start
//	go run ./test/load -database 'postgres://…' -gateways 2 -scenarios process-start   # scale-out
//	go run ./test/load -scenarios vote-cast -vote-at 0,10000,100000  # the 1k/10k/100k figures
//
// Scenarios (-scenarios, comma separated, in this order):
//
//   - actions: POST /api/internal/action/randomness.random-int
//   - get-process: GET /api/internal/process/randomness.delayed-stochastic-vote/<id>, over 64 pending processes
//   - process-start: POST /api/internal/process/randomness.delayed-stochastic-vote (delay one hour, so nothing completes)
//   - webhook-event: signed POSTs to the webhook plugin's receiver; req/s and latency are the events'
//     as the harness's own event receiver gets them (sent → received)
//   - backlog: -backlog webhooks whose events the receiver holds (it does not answer) until all are
//     accepted, then releases; req/s is the rate the held backlog drains at
//   - vote-cast: POST /api/internal/action/vote.cast into one vote.poll per method (with a callback
//     receiver, so every cast queues the poll's coalesced callback), a new voter per ballot;
//     -vote-window ballots (1000) measured at each count of ballots already cast in -vote-at
//     ("0,10000": the first 1k, then at 10k; "0,10000,100000" for 100k, which casts 100k ballots
//     per method over HTTP first and takes a while), the ballots in between cast unmeasured as fast
//     as answered. At each count but 0 a fresh poll of the method is measured in turn with the
//     large one (4 rounds each), and the row notes the large poll's rate as a share of the fresh
//     poll's over its first -vote-window ballots (target: at least 80 %). -vote-methods picks methods (default all nine), -vote-eligible N lists N
//     eligible voters in each poll (0: anyone may vote).
//
// The bare handler answers POSTs by decoding the JSON body and encoding a
// small object, and GETs by encoding a process-like record: what a gateway
// route does minus the gateway. Its process, like the gateway's, competes for
// the same cores as the load generator, so the ratio is fairer than either
// absolute figure on a shared machine.
//
// With -gateways N (PostgreSQL only) it starts N gateway processes on the one
// database and sends each scenario's requests to them in turn, so each gets
// 1/N of the -c concurrent requests. Each scenario's note says where the
// machine's CPU went while it was measured (the gateways, PostgreSQL's
// processes, the harness itself, and the share of time the CPUs waited for
// I/O) and, on PostgreSQL, how many write transactions (transaction ids) and
// WAL bytes each request cost. Both are read machine- and server-wide, so
// other work on the machine shows in them: take interleaved passes.
package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, for the database's own counters
	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// options are the command's flags.
type options struct {
	binary     string
	database   string
	duration   time.Duration
	conc       int
	scenarios  string
	backlog    int
	warmup     time.Duration
	rate       int
	passes     int
	gatewayArg string
	gateways   int
	vote       voteOpts
	out        io.Writer
	// watch, when set, starts watching where the CPU goes; the function it
	// returns stops and writes the figures into a row's cpu.
	watch func() func(r *row)
}

func main() {
	var o options
	flag.StringVar(&o.binary, "binary", "", "the metagov binary to load (default: go build ./cmd/metagov into a temporary directory)")
	flag.StringVar(&o.database, "database", "", "a postgres:// URL to run the gateway on (default: a fresh SQLite file in a temporary directory)")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "how long each scenario runs")
	flag.IntVar(&o.conc, "c", 32, "concurrent requests (keep-alive connections) per scenario")
	flag.StringVar(&o.scenarios, "scenarios", "actions,get-process,process-start,webhook-event,backlog,vote-cast", "which scenarios to run, comma separated")
	flag.DurationVar(&o.warmup, "warmup", time.Second, "an unmeasured run of each request scenario before it is measured")
	flag.IntVar(&o.rate, "rate", 0, "requests per second for each scenario but the backlog (0: as fast as -c concurrent requests are answered); at most -c in flight, so a rate the server cannot answer is not reached")
	flag.IntVar(&o.passes, "passes", 1, "how many times to run the scenarios in turn (the bare handler again in each pass)")
	flag.IntVar(&o.backlog, "backlog", 2000, "how many deliveries the backlog scenario holds back before it measures the drain")
	flag.IntVar(&o.gateways, "gateways", 1, "how many gateway processes to start on the -database (PostgreSQL only); requests go to them in turn")
	flag.StringVar(&o.vote.at, "vote-at", "0,10000", "vote-cast: the ballots already cast at each measurement, comma separated (0: the first ballots)")
	flag.IntVar(&o.vote.window, "vote-window", 1000, "vote-cast: how many ballots each measurement casts")
	flag.StringVar(&o.vote.methods, "vote-methods", "", "vote-cast: the counting methods to measure, comma separated (default: all)")
	flag.IntVar(&o.vote.eligible, "vote-eligible", 0, "vote-cast: list this many eligible voters in each poll (0: anyone may vote)")
	flag.StringVar(&o.gatewayArg, "gateway-args", "", "extra arguments for `metagov serve`, space separated (e.g. --sqlite-synchronous normal)")
	serveBareIfAsked()
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	o.out = os.Stdout
	if _, err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
}

// row is one line of the table.
type row struct {
	name     string
	rps      float64
	p50, p99 time.Duration
	ok, all  uint64
	bare     float64 // the bare handler's req/s for the same kind of request; 0 for none
	note     string
	cpu      string // where the CPU went while it was measured (see watchCPU)
}

// bareEnv names the variable that tells the harness's own executable to
// serve the bare handler instead (an environment variable rather than a
// flag, so that the test binary can serve it too).
const bareEnv = "METAGOV_LOAD_BARE_ADDR"

// serveBareIfAsked serves the bare handler and exits when this process was
// started to be it.
func serveBareIfAsked() {
	if addr := os.Getenv(bareEnv); addr != "" {
		if err := serveBare(addr); err != nil {
			fmt.Fprintln(os.Stderr, "load: bare handler:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
}

// run runs the scenarios o asks for, prints the table to o.out and returns
// its rows.
func run(ctx context.Context, o options) ([]row, error) {
	if o.conc < 1 || o.duration <= 0 {
		return nil, errors.New("-c must be at least 1 and -duration positive")
	}
	if o.vote.at == "" {
		o.vote.at = "0,10000"
	}
	if o.vote.window <= 0 {
		o.vote.window = 1000
	}
	if _, err := o.vote.levels(); err != nil {
		return nil, err
	}
	o.gateways = max(o.gateways, 1)
	if o.gateways > 1 && o.database == "" {
		return nil, errors.New("-gateways above 1 needs a PostgreSQL -database: a SQLite file serves one gateway process")
	}
	dir, err := os.MkdirTemp("", "metagov-load")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)

	if o.binary == "" {
		o.binary = filepath.Join(dir, "metagov")
		gomod, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
		if err != nil || len(bytes.TrimSpace(gomod)) == 0 || string(bytes.TrimSpace(gomod)) == os.DevNull {
			return nil, fmt.Errorf("finding the module to build (run inside the repository, or pass -binary): %v", err)
		}
		build := exec.CommandContext(ctx, "go", "build", "-o", o.binary, "./cmd/metagov")
		build.Dir = filepath.Dir(string(bytes.TrimSpace(gomod)))
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			return nil, fmt.Errorf("building ./cmd/metagov: %w", err)
		}
	} else if o.binary, err = filepath.Abs(o.binary); err != nil {
		return nil, err
	}

	recv := newReceiver()
	recvSrv, recvURL, err := listenAndServe(recv)
	if err != nil {
		return nil, err
	}
	defer recvSrv.Close()
	defer recv.release() // never leave the gateway's deliveries hanging on a held receiver

	bareAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	bareCmd, err := startProcess(ctx, dir, "bare.log", self, nil, []string{bareEnv + "=" + bareAddr})
	if err != nil {
		return nil, err
	}
	defer stopProcess(bareCmd)

	db := o.database
	dbKind := "PostgreSQL"
	if db == "" {
		db = filepath.Join(dir, "load.db")
		dbKind = "SQLite (fresh file)"
	}
	env := []string{"METAGOV_WEBHOOK_SECRET=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "DRIVER_EVENT_RECEIVER_URL=" + recvURL + "/events"}
	// The gateways start one after the other: the first creates the key
	// file (in dir, beside the logs) that the others then read.
	var gwURLs []string
	var gwPIDs []int
	var gws []*exec.Cmd
	defer func() {
		for _, gw := range gws {
			stopProcess(gw)
		}
	}()
	var readyAfter time.Duration
	for i := range o.gateways {
		gwAddr, err := freeAddr()
		if err != nil {
			return nil, err
		}
		args := []string{"serve", "--addr", gwAddr, "--database", db, "--log-level", "warn", "--delivery-timeout", "120s"}
		args = append(args, strings.Fields(o.gatewayArg)...)
		logName := fmt.Sprintf("gateway-%d.log", i+1)
		started := time.Now()
		gw, err := startProcess(ctx, dir, logName, o.binary, args, env)
		if err != nil {
			return nil, err
		}
		gws = append(gws, gw)
		if err := waitReady(ctx, "http://"+gwAddr+"/readyz", 60*time.Second); err != nil {
			return nil, fmt.Errorf("gateway %d: %w (log: %s)", i+1, err, tail(filepath.Join(dir, logName)))
		}
		if i == 0 {
			readyAfter = time.Since(started)
		}
		gwURLs = append(gwURLs, "http://"+gwAddr)
		gwPIDs = append(gwPIDs, gw.Process.Pid)
	}
	if err := waitReady(ctx, "http://"+bareAddr+"/", 30*time.Second); err != nil {
		return nil, fmt.Errorf("bare handler: %w (log: %s)", err, tail(filepath.Join(dir, "bare.log")))
	}
	var pg *sql.DB // for the write transactions and WAL each request costs
	if o.database != "" {
		if pg, err = sql.Open("pgx", o.database); err != nil {
			return nil, err
		}
		defer pg.Close()
	}
	o.watch = func() func(r *row) { return watchCPU(ctx, gwPIDs, pg) }

	gwURL := gwURLs[0]
	// each sends a request to every gateway in turn.
	each := func(t vegeta.Target) vegeta.Targeter {
		var ts []vegeta.Target
		path := strings.TrimPrefix(t.URL, gwURL)
		for _, u := range gwURLs {
			t.URL = u + path
			ts = append(ts, t)
		}
		return vegeta.NewStaticTargeter(ts...)
	}
	community := "load-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	slug := "loadhook" + strconv.FormatInt(time.Now().UnixNano()%1_000_000, 10)
	const hookSecret = "load-shared-secret"
	if err := call(ctx, "PUT", gwURL+"/api/internal/community/"+community, "", fmt.Sprintf(`{"plugins": [
		{"name": "randomness", "config": {"default_low": 1, "default_high": 100}},
		{"name": "webhook", "config": {"secret": %q, "webhook_slug": %q}}, {"name": "vote"}]}`, hookSecret, slug), http.StatusCreated, nil); err != nil {
		return nil, fmt.Errorf("creating the community: %w", err)
	}

	pace := "as fast as answered"
	if o.rate > 0 {
		pace = fmt.Sprintf("at most %d req/s", o.rate)
	}
	fmt.Fprintf(o.out, "metagov load harness: %s, c=%d (%s), %s per scenario, %s; %d gateway process(es), the first ready %s after start\n",
		o.binary, o.conc, pace, o.duration, dbKind, o.gateways, readyAfter.Round(time.Millisecond))
	fmt.Fprintf(o.out, "machine: %d CPUs (GOMAXPROCS %d), load average before: %s\n", runtime.NumCPU(), runtime.GOMAXPROCS(0), loadavg())

	jsonHeader := http.Header{"Content-Type": {"application/json"}, "X-Metagov-Community": {community}}
	bareURL := "http://" + bareAddr
	want := map[string]bool{}
	for s := range strings.SplitSeq(o.scenarios, ",") {
		want[strings.TrimSpace(s)] = true
	}
	startBody := fmt.Sprintf(`{"options": ["one", "two", "three"], "delay": 3600, "callback_url": %q}`, recvURL+"/callback")
	startURL := gwURL + "/api/internal/process/randomness.delayed-stochastic-vote"
	var hookURLs []string
	for _, u := range gwURLs {
		hookURLs = append(hookURLs, u+"/api/hooks/"+community+"/webhook/"+slug)
	}
	var processes []vegeta.Target // pending processes for get-process
	if want["get-process"] {
		for i := range 64 {
			var loc string
			if err := call(ctx, "POST", startURL, community, startBody, http.StatusAccepted, &loc); err != nil {
				return nil, fmt.Errorf("starting a process to read: %w", err)
			}
			processes = append(processes, vegeta.Target{Method: "GET", URL: gwURLs[i%len(gwURLs)] + loc, Header: http.Header{"X-Metagov-Community": {community}}})
		}
	}

	var all []row
	for pass := 1; pass <= max(o.passes, 1); pass++ {
		var bareBase struct{ post, get float64 }
		var rows []row
		if want["actions"] || want["process-start"] || want["webhook-event"] || want["backlog"] {
			r := attack(ctx, unwatched(o), "bare JSON POST", vegeta.NewStaticTargeter(vegeta.Target{Method: "POST", URL: bareURL + "/post",
				Body: []byte(`{"parameters": {"low": 1, "high": 7}}`), Header: jsonHeader}))
			bareBase.post = r.rps
			rows = append(rows, r)
		}
		if want["get-process"] {
			r := attack(ctx, unwatched(o), "bare JSON GET", vegeta.NewStaticTargeter(vegeta.Target{Method: "GET", URL: bareURL + "/get"}))
			bareBase.get = r.rps
			rows = append(rows, r)
		}
		if want["actions"] {
			r := attack(ctx, o, "actions (random-int)", each(vegeta.Target{Method: "POST",
				URL:  gwURL + "/api/internal/action/randomness.random-int",
				Body: []byte(`{"parameters": {"low": 1, "high": 7}}`), Header: jsonHeader}))
			r.bare = bareBase.post
			rows = append(rows, r)
		}
		if want["get-process"] {
			r := attack(ctx, o, "GET process", vegeta.NewStaticTargeter(processes...))
			r.bare = bareBase.get
			rows = append(rows, r)
		}
		if want["process-start"] {
			r := attack(ctx, o, "process start", each(vegeta.Target{Method: "POST", URL: startURL,
				Body: []byte(startBody), Header: jsonHeader}))
			r.bare = bareBase.post
			rows = append(rows, r)
		}
		if want["webhook-event"] {
			r, err := webhookToEvent(ctx, o, recv, hookURLs, hookSecret, fmt.Sprintf("webhook-event-%d", pass))
			if err != nil {
				return nil, err
			}
			r.bare = bareBase.post
			rows = append(rows, r)
		}
		if want["backlog"] {
			r, err := backlogDrain(ctx, o, recv, hookURLs, hookSecret, fmt.Sprintf("backlog-%d", pass))
			if err != nil {
				return nil, err
			}
			rows = append(rows, r)
		}
		if want["vote-cast"] {
			r, err := voteCast(ctx, o, gwURLs, community, recvURL+"/callback")
			if err != nil {
				return nil, err
			}
			rows = append(rows, r...)
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if o.passes > 1 {
			fmt.Fprintf(o.out, "\npass %d of %d\n", pass, o.passes)
		}
		if o.rate > 0 { // both sides run at the set rate: their ratio says nothing
			for i := range rows {
				rows[i].bare = 0
			}
		}
		if err := printTable(o.out, rows); err != nil {
			return nil, err
		}
		all = append(all, rows...)
	}
	fmt.Fprintf(o.out, "load average after: %s\n", loadavg())
	return all, nil
}

// printTable prints one pass's rows, then their notes.
func printTable(out io.Writer, rows []row) error {
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "scenario\treq/s\tp50\tp99\tok/sent\tbare req/s\tratio\t")
	for _, r := range rows {
		bare, ratio := "-", "-"
		if r.bare > 0 {
			bare, ratio = fmt.Sprintf("%.0f", r.bare), fmt.Sprintf("%.2f", r.rps/r.bare)
		}
		fmt.Fprintf(w, "%s\t%.0f\t%s\t%s\t%d/%d\t%s\t%s\t\n", r.name, r.rps, ms(r.p50), ms(r.p99), r.ok, r.all, bare, ratio)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	for _, r := range rows {
		if r.note != "" {
			fmt.Fprintf(out, "%s: %s\n", r.name, r.note)
		}
		if r.cpu != "" {
			fmt.Fprintf(out, "%s: %s\n", r.name, r.cpu)
		}
	}
	return nil
}

// unwatched is o without the CPU watch, for the bare handler's rows.
func unwatched(o options) options {
	o.watch = nil
	return o
}

// attack runs one scenario for o.duration at o.conc concurrent requests,
// as fast as the server answers (vegeta's infinite rate with a fixed number
// of workers, i.e. a closed loop like wrk's).
func attack(ctx context.Context, o options, name string, tr vegeta.Targeter) row {
	if o.warmup > 0 {
		drain(ctx, newAttacker(o), tr, vegeta.Rate{Freq: o.rate, Per: time.Second}, o.warmup, name+" (warm-up)")
	}
	var stop func(*row)
	if o.watch != nil {
		stop = o.watch()
	}
	m := drain(ctx, newAttacker(o), tr, vegeta.Rate{Freq: o.rate, Per: time.Second}, o.duration, name)
	r := row{name: name, rps: m.Throughput, p50: m.Latencies.P50, p99: m.Latencies.P99, all: m.Requests,
		ok: uint64(float64(m.Requests)*m.Success + 0.5)}
	if r.ok < r.all {
		r.note = fmt.Sprintf("status codes %v", m.StatusCodes)
		if len(m.Errors) > 0 {
			r.note += "; errors: " + strings.Join(m.Errors[:min(len(m.Errors), 3)], "; ")
		}
	}
	if stop != nil {
		stop(&r)
	}
	return r
}

// newAttacker is a closed loop of o.conc workers over o.conc keep-alive
// connections.
func newAttacker(o options) *vegeta.Attacker {
	return vegeta.NewAttacker(vegeta.Workers(uint64(o.conc)), vegeta.MaxWorkers(uint64(o.conc)),
		vegeta.Connections(o.conc), vegeta.KeepAlive(true), vegeta.Timeout(30*time.Second))
}

// drain runs an attack for du (until the targeter runs out when du is 0,
// or ctx ends) at the rate (Freq 0: as fast as the workers are answered),
// and returns the metrics of its requests.
func drain(ctx context.Context, a *vegeta.Attacker, tr vegeta.Targeter, rate vegeta.Rate, du time.Duration, name string) *vegeta.Metrics {
	var m vegeta.Metrics
	drainInto(ctx, a, tr, rate, du, name, &m)
	m.Close()
	return &m
}

// drainInto is drain adding the requests' results to m, which the caller
// closes.
func drainInto(ctx context.Context, a *vegeta.Attacker, tr vegeta.Targeter, rate vegeta.Rate, du time.Duration, name string, m *vegeta.Metrics) {
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-ctx.Done():
			a.Stop()
		case <-done:
		}
	}()
	for res := range a.Attack(tr, rate, du, name) {
		// vegeta reports a targeter running out as a result; it is no
		// request.
		if res.Error != vegeta.ErrNoTargets.Error() {
			m.Add(res)
		}
	}
}

// signedHook returns a targeter of webhook POSTs signed as the webhook
// plugin checks them (X-Hub-Signature-256), each carrying its send time so
// the receiver can measure how long the event took to arrive, sent to the
// urls in turn. It stops after limit targets when limit > 0.
func signedHook(urls []string, secret, phase string, limit int) vegeta.Targeter {
	var mu sync.Mutex
	n := 0
	return func(t *vegeta.Target) error {
		mu.Lock()
		n++
		i := n
		mu.Unlock()
		if limit > 0 && i > limit {
			return vegeta.ErrNoTargets
		}
		body := fmt.Sprintf(`{"type": "load", "phase": %q, "n": %d, "sent": %d}`, phase, i, time.Now().UnixNano())
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write([]byte(body))
		*t = vegeta.Target{Method: "POST", URL: urls[i%len(urls)], Body: []byte(body), Header: http.Header{
			"Content-Type": {"application/json"}, "X-Hub-Signature-256": {"sha256=" + hex.EncodeToString(mac.Sum(nil))}}}
		return nil
	}
}

// webhookToEvent sends signed webhooks for o.duration and measures, at the
// receiver, how many events arrive per second and how long each took from
// the webhook's send to the event's arrival.
func webhookToEvent(ctx context.Context, o options, recv *receiver, urls []string, secret, phase string) (row, error) {
	o.warmup = 0 // the gateway is warm by now, and warm-up events would still be arriving
	start := time.Now()
	var stop func(*row)
	if o.watch != nil {
		stop = o.watch()
	}
	sent := attack(ctx, unwatched(o), "webhook POST", signedHook(urls, secret, phase, 0))
	if sent.ok == 0 {
		return row{}, fmt.Errorf("no webhook was accepted: %s", sent.note)
	}
	if err := recv.wait(ctx, phase, int(sent.ok), 60*time.Second); err != nil {
		return row{}, err
	}
	got, last, lat := recv.stats(phase)
	r := row{name: "webhook → event", all: sent.all, ok: uint64(got),
		note: fmt.Sprintf("at the receiver; the webhook POSTs: %.0f/s, p50 %s, p99 %s", sent.rps, ms(sent.p50), ms(sent.p99))}
	r.rps = float64(got) / last.Sub(start).Seconds()
	r.p50, r.p99 = quantile(lat, 0.50), quantile(lat, 0.99)
	if stop != nil {
		stop(&r)
	}
	return r, nil
}

// backlogDrain holds the receiver (it accepts connections but does not
// answer) while o.backlog webhooks queue their events, then releases it and
// measures how fast the backlog drains.
func backlogDrain(ctx context.Context, o options, recv *receiver, urls []string, secret, phase string) (row, error) {
	recv.hold()
	m := drain(ctx, newAttacker(o), signedHook(urls, secret, phase, o.backlog), vegeta.Rate{}, 0, phase)
	ok := int(float64(m.Requests)*m.Success + 0.5)
	if ok < o.backlog {
		recv.release()
		return row{}, fmt.Errorf("backlog: only %d of %d webhooks accepted: %v", ok, o.backlog, m.Errors)
	}
	// Let the dispatcher fill its slots with held requests, so the drain
	// starts from a full backlog rather than racing its first claims.
	time.Sleep(time.Second)
	var stop func(*row)
	if o.watch != nil {
		stop = o.watch()
	}
	released := time.Now()
	recv.release()
	if err := recv.wait(ctx, phase, ok, 5*time.Minute); err != nil {
		return row{}, err
	}
	got, last, _ := recv.stats(phase)
	r := row{name: fmt.Sprintf("backlog drain (%d)", o.backlog), rps: float64(got) / last.Sub(released).Seconds(),
		all: uint64(ok), ok: uint64(got), note: fmt.Sprintf("events held back, then drained in %s", last.Sub(released).Round(time.Millisecond))}
	if stop != nil {
		stop(&r)
	}
	return r, nil
}

// receiver is the driver's side: it takes events (and process callbacks),
// counts each webhook-id once per phase, and records how long each event
// took from its webhook's send time.
type receiver struct {
	mu      sync.Mutex
	seen    map[string]bool
	count   map[string]int
	last    map[string]time.Time
	lat     map[string][]time.Duration
	holding chan struct{} // non-nil while held: requests wait for it to close
	changed chan struct{} // closed and replaced on every new event
}

func newReceiver() *receiver {
	return &receiver{seen: map[string]bool{}, count: map[string]int{}, last: map[string]time.Time{},
		lat: map[string][]time.Duration{}, changed: make(chan struct{})}
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	rc.mu.Lock()
	held := rc.holding
	rc.mu.Unlock()
	if held != nil {
		select {
		case <-held:
		case <-r.Context().Done():
			return
		}
	}
	now := time.Now()
	if r.URL.Path != "/events" {
		w.WriteHeader(http.StatusNoContent) // process callbacks: not measured
		return
	}
	var ev struct {
		Data struct {
			Phase string `json:"phase"`
			Sent  int64  `json:"sent"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &ev); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	id := r.Header.Get("webhook-id")
	if !rc.seen[id] {
		rc.seen[id] = true
		p := ev.Data.Phase
		rc.count[p]++
		rc.last[p] = now
		rc.lat[p] = append(rc.lat[p], now.Sub(time.Unix(0, ev.Data.Sent)))
		close(rc.changed)
		rc.changed = make(chan struct{})
	}
	w.WriteHeader(http.StatusNoContent)
}

func (rc *receiver) hold() {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.holding == nil {
		rc.holding = make(chan struct{})
	}
}

func (rc *receiver) release() {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.holding != nil {
		close(rc.holding)
		rc.holding = nil
	}
}

// wait waits until n events of the phase have arrived.
func (rc *receiver) wait(ctx context.Context, phase string, n int, timeout time.Duration) error {
	deadline := time.After(timeout)
	for {
		rc.mu.Lock()
		got, changed := rc.count[phase], rc.changed
		rc.mu.Unlock()
		if got >= n {
			return nil
		}
		select {
		case <-changed:
		case <-deadline:
			return fmt.Errorf("%s: only %d of %d events arrived within %s", phase, got, n, timeout)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (rc *receiver) stats(phase string) (int, time.Time, []time.Duration) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.count[phase], rc.last[phase], slices.Clone(rc.lat[phase])
}

func quantile(d []time.Duration, q float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	return d[min(len(d)-1, int(q*float64(len(d))))]
}

// serveBare serves the bare JSON handler the gateway is compared with.
func serveBare(addr string) error {
	type record struct {
		ID        int               `json:"id"`
		Name      string            `json:"name"`
		Community string            `json:"community"`
		Status    string            `json:"status"`
		URL       *string           `json:"url"`
		Errors    map[string]string `json:"errors"`
		Outcome   map[string]any    `json:"outcome"`
		Sequence  int               `json:"sequence"`
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {})
	mux.HandleFunc("POST /post", func(w http.ResponseWriter, r *http.Request) {
		var in map[string]any
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]int{"value": 4})
	})
	mux.HandleFunc("GET /get", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(record{ID: 1, Name: "randomness.delayed-stochastic-vote", Community: "load",
			Status: "pending", Errors: map[string]string{}, Outcome: map[string]any{}, Sequence: 1})
	})
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	return srv.ListenAndServe()
}

func listenAndServe(h http.Handler) (*http.Server, string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	return srv, "http://" + l.Addr().String(), nil
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// startProcess starts a child process logging to dir/logName.
func startProcess(ctx context.Context, dir, logName, bin string, args, env []string) (*exec.Cmd, error) {
	logf, err := os.Create(filepath.Join(dir, logName))
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir // the gateway's key file for PostgreSQL goes to its working directory
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("starting %s: %w", bin, err)
	}
	return cmd, nil
}

func stopProcess(cmd *exec.Cmd) {
	_ = cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

func waitReady(ctx context.Context, url string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	return fmt.Errorf("%s did not answer 200 within %s", url, timeout)
}

// call sends one setup request and checks its status; loc, if not nil,
// receives the Location header.
func call(ctx context.Context, method, url, community, body string, want int, loc *string) error {
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewBufferString(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if community != "" {
		req.Header.Set("X-Metagov-Community", community)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: %d %s", method, url, resp.StatusCode, b)
	}
	if loc != nil {
		*loc = resp.Header.Get("Location")
	}
	return nil
}

func ms(d time.Duration) string {
	if d == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	return strings.Join(strings.Fields(string(b))[:3], " ")
}

func tail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

// watchCPU starts watching where the machine's CPU goes: the gateway
// processes', PostgreSQL's (every process named postgres) and this
// harness's CPU time, the share of all CPU time spent waiting for I/O, and,
// when pg is set, the transaction ids (write transactions) and WAL bytes the
// server used, server-wide. The function it returns writes them into r.cpu,
// per request answered where that means something.
func watchCPU(ctx context.Context, gateways []int, pg *sql.DB) func(r *row) {
	type sample struct {
		at                 time.Time
		gw, postgres, self float64 // CPU seconds
		total, iowait      float64 // all CPUs' ticks, and those waiting for I/O
		switches           float64 // context switches, machine-wide
		xid                int64
		lsn                int64
		pgOK               bool
	}
	take := func() sample {
		s := sample{at: time.Now()}
		for _, pid := range gateways {
			s.gw += procCPU(strconv.Itoa(pid))
		}
		s.self = procCPU("self")
		if dirs, err := os.ReadDir("/proc"); err == nil {
			for _, d := range dirs {
				if comm, err := os.ReadFile("/proc/" + d.Name() + "/comm"); err == nil && strings.TrimSpace(string(comm)) == "postgres" {
					s.postgres += procCPU(d.Name())
				}
			}
		}
		s.total, s.iowait, s.switches = machineCPU()
		if pg != nil {
			// pg_current_xact_id takes a transaction id itself: the
			// difference counts one more than the writes in between.
			err := pg.QueryRowContext(ctx, `SELECT pg_current_xact_id()::text::bigint, pg_current_wal_lsn() - '0/0'::pg_lsn`).Scan(&s.xid, &s.lsn)
			s.pgOK = err == nil
		}
		return s
	}
	before := take()
	return func(r *row) {
		after := take()
		secs := after.at.Sub(before.at).Seconds()
		if secs <= 0 {
			return
		}
		perReq := func(cpu float64) string {
			if r.ok == 0 {
				return ""
			}
			return fmt.Sprintf(", %.0fµs/req", cpu/float64(r.ok)*1e6)
		}
		var b strings.Builder
		fmt.Fprintf(&b, "cpu (cores): gateway %.2f%s, postgres %.2f%s, harness %.2f; I/O wait %.0f%% of all CPU time; load average %s",
			(after.gw-before.gw)/secs, perReq(after.gw-before.gw), (after.postgres-before.postgres)/secs,
			perReq(after.postgres-before.postgres), (after.self-before.self)/secs,
			100*(after.iowait-before.iowait)/max(after.total-before.total, 1), loadavg())
		if r.ok > 0 {
			fmt.Fprintf(&b, "; %.0f context switches per request, machine-wide", (after.switches-before.switches)/float64(r.ok))
		}
		if before.pgOK && after.pgOK && r.ok > 0 {
			fmt.Fprintf(&b, "; server-wide %.2f write transactions and %.0f WAL bytes per request",
				float64(after.xid-before.xid-1)/float64(r.ok), float64(after.lsn-before.lsn)/float64(r.ok))
		}
		r.cpu = b.String()
	}
}

// clockTicks is Linux's USER_HZ, the unit of /proc's CPU times (100 on every
// architecture Go runs Linux on).
const clockTicks = 100

// procCPU is the CPU time, user and system, of /proc/<pid>, in seconds; 0
// when it cannot be read.
func procCPU(pid string) float64 {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0
	}
	// The command name (field 2) may hold spaces; the fields after its
	// closing parenthesis start with the state (field 3).
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseFloat(f[11], 64) // field 14
	stime, _ := strconv.ParseFloat(f[12], 64) // field 15
	return (utime + stime) / clockTicks
}

// machineCPU returns the machine's total CPU ticks, those spent waiting for
// I/O, and the context switches so far, from /proc/stat.
func machineCPU() (total, iowait, switches float64) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, 0
	}
	for l := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(l, "ctxt "); ok {
			switches, _ = strconv.ParseFloat(strings.TrimSpace(v), 64)
		}
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line) // cpu user nice system idle iowait irq softirq steal ...
	for i, v := range f[1:] {
		n, _ := strconv.ParseFloat(v, 64)
		if i < 8 {
			total += n
		}
		if i == 4 {
			iowait = n
		}
	}
	return total, iowait, switches
}
