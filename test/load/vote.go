package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"

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
// and cast unmeasured, as fast as answered, in between. The last row of
// each method notes its rate as a share of the first's.
func voteCast(ctx context.Context, o options, gwURLs []string, community, callbackURL string) ([]row, error) {
	gwURL := gwURLs[0]
	levels, err := o.vote.levels()
	if err != nil {
		return nil, err
	}
	var rows []row
	for _, m := range voteMethods {
		if o.vote.methods != "" && !slices.Contains(strings.Split(o.vote.methods, ","), m.name) {
			continue
		}
		poll := map[string]any{"method": m.name, "title": "load: " + m.name, "duration_minutes": 600, "callback_url": callbackURL}
		if m.name != "consent" {
			poll["options"] = voteOptions
		}
		for k, v := range m.rules {
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
		if err := call(ctx, "POST", gwURL+"/api/internal/process/vote.poll", community, string(body), http.StatusAccepted, &loc); err != nil {
			return nil, fmt.Errorf("starting a %s vote: %w", m.name, err)
		}
		id, err := strconv.ParseInt(loc[strings.LastIndexByte(loc, '/')+1:], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("the %s vote's location %q: %w", m.name, loc, err)
		}
		cast := castTargeter(gwURLs, community, m.name, id)
		cast.from(0)
		var first float64
		for li, at := range levels {
			if at > int(cast.next.Load()) { // fill up to the level, unmeasured
				cast.upTo(at)
				fill := drain(ctx, newAttacker(o), cast.targeter, vegeta.Rate{}, 0, "vote fill")
				if ok := uint64(float64(fill.Requests)*fill.Success + 0.5); ok < fill.Requests {
					return nil, fmt.Errorf("%s vote: %d of %d casts failed filling it to %d ballots: %v %v", m.name,
						fill.Requests-ok, fill.Requests, at, fill.StatusCodes, fill.Errors[:min(len(fill.Errors), 3)])
				}
			}
			label := kilo(at)
			if at == 0 {
				label = "first " + kilo(o.vote.window)
			}
			cast.upTo(at + o.vote.window)
			var stop func(*row)
			if o.watch != nil {
				stop = o.watch()
			}
			mt := drain(ctx, newAttacker(o), cast.targeter, vegeta.Rate{}, 0, "vote cast")
			r := row{name: fmt.Sprintf("vote.cast %s @ %s", m.name, label), rps: mt.Throughput, p50: mt.Latencies.P50, p99: mt.Latencies.P99,
				all: mt.Requests, ok: uint64(float64(mt.Requests)*mt.Success + 0.5)}
			if r.ok < r.all {
				r.note = fmt.Sprintf("status codes %v", mt.StatusCodes)
				if len(mt.Errors) > 0 {
					r.note += "; errors: " + strings.Join(mt.Errors[:min(len(mt.Errors), 3)], "; ")
				}
			}
			if li == 0 {
				first = r.rps
			} else if li == len(levels)-1 && first > 0 {
				share := fmt.Sprintf("%.0f %% of the rate over the first %s ballots (target >= 80 %%)", 100*r.rps/first, kilo(o.vote.window))
				r.note = strings.TrimPrefix(r.note+"; "+share, "; ")
			}
			if stop != nil {
				stop(&r)
			}
			rows = append(rows, r)
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
		}
	}
	return rows, nil
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

func (c *casts) from(i int) { c.next.Store(int64(i)) }
func (c *casts) upTo(n int) { c.limit.Store(int64(n)) }
