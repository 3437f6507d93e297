package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// voteOptions are the options of the vote-cast scenario's polls.
var voteOptions = []string{"alpha", "bravo", "charlie", "delta", "echo"}

// voteMethods are the vote plugin's counting methods with the rules each
// needs besides options, in the order the table lists them.
var voteMethods = []struct {
	name  string
	rules map[string]any
}{
	{"single-choice", nil},
	{"approval", nil},
	{"ranked-choice", nil},
	{"condorcet-schulze", nil},
	{"condorcet-copeland", nil},
	{"score", map[string]any{"score_min": 0, "score_max": 5}},
	{"quadratic", map[string]any{"credits": 100}},
	{"weighted", map[string]any{"points": 100}},
	{"consent", nil},
}

// voteBallot is voter i's ballot under a method: varied and valid, leaning
// towards the first options as votes do.
func voteBallot(method string, i int) any {
	n := len(voteOptions)
	o := func(k int) string { return voteOptions[(i/(k+1)+k)%n] }
	switch method {
	case "single-choice":
		return o(0)
	case "approval":
		if o(0) == o(1) {
			return []string{o(0)}
		}
		return []string{o(0), o(1)}
	case "ranked-choice", "condorcet-schulze", "condorcet-copeland":
		var r []string
		for k := range n {
			if x := voteOptions[(i+k*(i%3+1))%n]; !slices.Contains(r, x) {
				r = append(r, x)
			}
		}
		return r[:1+i%len(r)]
	case "score":
		if o(0) == o(1) {
			return map[string]int{o(0): 5}
		}
		return map[string]int{o(0): 5, o(1): i % 4}
	case "quadratic":
		if o(0) == o(1) {
			return map[string]int{o(0): 7}
		}
		return map[string]int{o(0): 7, o(1): -(i % 5)}
	case "weighted":
		if o(0) == o(1) {
			return map[string]int{o(0): 60}
		}
		return map[string]int{o(0): 60, o(1): 20 + i%20}
	}
	return []string{"agree", "abstain", "disagree", "agree"}[i%4]
}

// voteOpts are the vote-cast scenario's flags.
type voteOpts struct {
	at       string // ballots already cast at each measurement, comma separated
	window   int    // ballots cast per measurement
	methods  string // methods to run, comma separated; empty for all
	eligible int    // eligible voters listed in each poll; 0 for anyone
}

// levels parses -vote-at: ascending ballot counts.
func (v voteOpts) levels() ([]int, error) {
	var out []int
	for s := range strings.SplitSeq(v.at, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 0 || (len(out) > 0 && n < out[len(out)-1]+v.window) {
			return nil, fmt.Errorf("-vote-at %q: ballot counts from 0, ascending, at least -vote-window (%d) apart", v.at, v.window)
		}
		out = append(out, n)
	}
	if v.eligible > 0 && out[len(out)-1]+v.window > v.eligible {
		return nil, fmt.Errorf("-vote-eligible %d is fewer voters than the %d ballots -vote-at and -vote-window cast", v.eligible, out[len(out)-1]+v.window)
	}
	return out, nil
}

// kilo writes a ballot count the short way: 1k, 2.5k, 100k, 500.
func kilo(n int) string {
	if n < 1000 {
		return strconv.Itoa(n)
	}
	return strconv.FormatFloat(float64(n)/1000, 'f', -1, 64) + "k"
}

// voteCast runs the vote-cast scenario: for each method, a vote.poll with a
// callback (so every cast also queues the coalesced callback, as a driver's
// vote would), and casts of new voters' ballots over HTTP, measured for
// -vote-window ballots at each count in -vote-at (0 is the first ballots)
// and cast unmeasured, as fast as answered, in between.
//
// A cast's cost drifts with the machine by more than the size of the vote
// moves it (on a shared two-core machine, ±50 % from one minute to the
// next), so a rate at N ballots is not compared with one taken minutes
// before: at each count but 0 the scenario also starts a fresh poll of the
// same method and measures the two in turn, voteRounds times each, the
// fresh poll's first -vote-window ballots against the large poll's next
// -vote-window. The row notes the large poll's rate as a share of the
// fresh one's.
func voteCast(ctx context.Context, o options, gwURLs []string, community, callbackURL string) ([]row, error) {
	levels, err := o.vote.levels()
	if err != nil {
		return nil, err
	}
	type poll struct {
		method string
		rules  map[string]any
		cast   *casts
		rows   []row
	}
	var polls []*poll
	for _, m := range voteMethods {
		if o.vote.methods != "" && !slices.Contains(strings.Split(o.vote.methods, ","), m.name) {
			continue
		}
		cast, err := startVote(ctx, o, gwURLs, community, callbackURL, m.name, m.rules)
		if err != nil {
			return nil, err
		}
		polls = append(polls, &poll{method: m.name, rules: m.rules, cast: cast})
	}
	for _, at := range levels {
		// Fill every poll up to the level at once, unmeasured: casts into
		// different polls commit together, so that is several times
		// faster than one poll after another.
		errs := make([]error, len(polls))
		var wg sync.WaitGroup
		for i, v := range polls {
			if at <= int(v.cast.next.Load()) {
				continue
			}
			wg.Go(func() { errs[i] = fillVote(ctx, o, v.method, v.cast, at, len(polls)) })
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return nil, err
		}
		for _, v := range polls {
			var stop func(*row)
			if o.watch != nil {
				stop = o.watch()
			}
			var r row
			var casted uint64 // by the fresh poll while the CPU was watched
			if at == 0 {
				r = measureCasts(ctx, o, []*casts{v.cast}, o.vote.window, 1)[0]
				r.name = fmt.Sprintf("vote.cast %s @ first %s", v.method, kilo(o.vote.window))
			} else {
				fresh, err := startVote(ctx, o, gwURLs, community, callbackURL, v.method, v.rules)
				if err != nil {
					return nil, err
				}
				both := measureCasts(ctx, o, []*casts{fresh, v.cast}, o.vote.window, voteRounds)
				r, casted = both[1], both[0].ok
				r.name = fmt.Sprintf("vote.cast %s @ %s", v.method, kilo(at))
				if both[0].rps > 0 {
					share := fmt.Sprintf("%.0f %% of a fresh poll's rate over its first %s ballots (%.0f/s), measured in turn (target >= 80 %%)",
						100*r.rps/both[0].rps, kilo(o.vote.window), both[0].rps)
					r.note = strings.TrimPrefix(r.note+"; "+share, "; ")
				}
			}
			if stop != nil {
				// The CPU per request is over both polls' casts.
				r.ok += casted
				stop(&r)
				r.ok -= casted
			}
			// The table comes at the end of a long run: say what was
			// measured as it is.
			fmt.Fprintf(os.Stderr, "load: %s: %.0f/s %s\n", r.name, r.rps, r.note)
			v.rows = append(v.rows, r)
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
		}
	}
	var rows []row
	for _, v := range polls {
		rows = append(rows, v.rows...)
	}
	return rows, nil
}

// fillVote casts ballots into a poll up to at ballots, unmeasured, with its
// share of -c connections (the polls being filled share them).
func fillVote(ctx context.Context, o options, method string, cast *casts, at, polls int) error {
	cast.upTo(at)
	fo := o
	fo.conc = max(2, o.conc/polls)
	fill := drain(ctx, newAttacker(fo), cast.targeter, vegeta.Rate{}, 0, "vote fill")
	if ok := uint64(float64(fill.Requests)*fill.Success + 0.5); ok < fill.Requests {
		return fmt.Errorf("%s vote: %d of %d casts failed filling it to %d ballots: %v %v", method,
			fill.Requests-ok, fill.Requests, at, fill.StatusCodes, fill.Errors[:min(len(fill.Errors), 3)])
	}
	return nil
}

// voteRounds is how many times the vote-cast scenario measures each of two
// polls in turn: often enough that the machine's drift falls on both.
const voteRounds = 4

// startVote starts a vote.poll of the method and returns the casts into it.
func startVote(ctx context.Context, o options, gwURLs []string, community, callbackURL, method string, rules map[string]any) (*casts, error) {
	poll := map[string]any{"method": method, "title": "load: " + method, "duration_minutes": 600, "callback_url": callbackURL}
	if method != "consent" {
		poll["options"] = voteOptions
	}
	for k, v := range rules {
		poll[k] = v
	}
	if o.vote.eligible > 0 {
		eligible := make([]string, o.vote.eligible)
		for i := range eligible {
			eligible[i] = voter(i)
		}
		poll["eligible"] = eligible
	}
	body, err := json.Marshal(poll)
	if err != nil {
		return nil, err
	}
	var loc string
	if err := call(ctx, "POST", gwURLs[0]+"/api/internal/process/vote.poll", community, string(body), http.StatusAccepted, &loc); err != nil {
		return nil, fmt.Errorf("starting a %s vote: %w", method, err)
	}
	id, err := strconv.ParseInt(loc[strings.LastIndexByte(loc, '/')+1:], 10, 64)
	if err != nil {
		return nil, fmt.Errorf("the %s vote's location %q: %w", method, loc, err)
	}
	return castTargeter(gwURLs, community, method, id), nil
}

// measureCasts casts n new voters' ballots into each poll, in rounds: each
// round casts n/rounds into each poll in turn. It returns a row per poll:
// its rate over the time its own rounds took, and their latencies.
func measureCasts(ctx context.Context, o options, polls []*casts, n, rounds int) []row {
	all := make([]vegeta.Metrics, len(polls))
	took := make([]time.Duration, len(polls))
	for round := range rounds {
		for i, c := range polls {
			c.upTo(int(c.next.Load()) + n*(round+1)/rounds - n*round/rounds)
			started := time.Now()
			drainInto(ctx, newAttacker(o), c.targeter, vegeta.Rate{}, 0, "vote cast", &all[i])
			took[i] += time.Since(started)
		}
	}
	rows := make([]row, len(polls))
	for i := range polls {
		m := &all[i]
		m.Close() // its own throughput counts the other poll's rounds too: took does not
		ok := uint64(float64(m.Requests)*m.Success + 0.5)
		r := row{rps: float64(ok) / took[i].Seconds(), p50: m.Latencies.P50, p99: m.Latencies.P99, all: m.Requests, ok: ok}
		if r.ok < r.all {
			r.note = fmt.Sprintf("status codes %v", m.StatusCodes)
			if len(m.Errors) > 0 {
				r.note += "; errors: " + strings.Join(m.Errors[:min(len(m.Errors), 3)], "; ")
			}
		}
		rows[i] = r
	}
	return rows
}

// voter is the id of the scenario's voter i: short, so that a list of
// 100,000 eligible voters fits in the gateway's 1 MB request body.
func voter(i int) string { return "v" + strconv.Itoa(i) }

// casts hands out casts of new voters' ballots into one vote, voter after
// voter, until a limit.
type casts struct {
	next, limit atomic.Int64
	targeter    vegeta.Targeter
}

func castTargeter(gwURLs []string, community, method string, id int64) *casts {
	c := &casts{}
	header := http.Header{"Content-Type": {"application/json"}, "X-Metagov-Community": {community}}
	c.targeter = func(t *vegeta.Target) error {
		i := c.next.Add(1) - 1
		if i >= c.limit.Load() {
			c.next.Add(-1) // not cast: the next measurement starts here
			return vegeta.ErrNoTargets
		}
		body, err := json.Marshal(map[string]any{"parameters": map[string]any{
			"process_id": id, "voter": voter(int(i)), "ballot": voteBallot(method, int(i))}})
		if err != nil {
			return err
		}
		url := gwURLs[int(i)%len(gwURLs)] + "/api/internal/action/vote.cast" // the gateways in turn
		*t = vegeta.Target{Method: "POST", URL: url, Body: body, Header: header}
		return nil
	}
	return c
}

func (c *casts) upTo(n int) { c.limit.Store(int64(n)) }
