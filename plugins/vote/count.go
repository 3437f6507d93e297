package vote

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/metagov/metagov-go/plugin"
	"github.com/metagov/metagov-go/plugins/vote/tally"
)

// A poll keeps its running count (a tally.Count) in its process state, so
// a cast adds one ballot (and takes back the voter's earlier one) instead
// of counting them all again: its cost does not grow with the vote. The
// count is made from the ballots when it is missing (a vote started by an
// older version) or stale (a changed ballot left a full users list short),
// and at the close, where the recount is what the record seals.
//
// Instant runoff cannot be counted that way: its rounds need every ranking.
// A ranked-choice poll's outcome is its last full count, with "pending"
// ballots cast since; a timer counts again at most every recountMin, or
// every recountFactor times as long as the last count took, whichever is
// longer (capped at recountMax), so counting takes a bounded share of the
// time however large the vote grows.
const (
	recountMin    = time.Second
	recountMax    = time.Minute
	recountFactor = 20
)

// ranked is what a ranked-choice poll keeps about its full counts.
type ranked struct {
	// Due is when the next count is scheduled (zero: none is).
	Due time.Time `json:"due,omitzero"`
	// Every is how long to wait between counts, from how long the last
	// one took.
	Every time.Duration `json:"every,omitempty"`
	// Last is when the last count was made.
	Last time.Time `json:"last,omitzero"`
}

// loadRules reads a poll's rules and schedule.
func loadRules(ctx context.Context, p *plugin.Process) (tally.Rules, schedule, error) {
	var rules tally.Rules
	var s schedule
	if _, err := p.State().Get(ctx, "rules", &rules); err != nil {
		return rules, s, err
	}
	if _, err := p.State().Get(ctx, "schedule", &s); err != nil {
		return rules, s, err
	}
	return rules, s, nil
}

// loadBallots reads a poll's ballots, one per voter, sorted by voter.
func loadBallots(ctx context.Context, c *plugin.Call, p *plugin.Process) ([]tally.Ballot, error) {
	ballots, err := loadUnsorted(ctx, c, p)
	slices.SortFunc(ballots, func(a, b tally.Ballot) int { return strings.Compare(a.Voter, b.Voter) })
	return ballots, err
}

// loadUnsorted reads a poll's ballots, one per voter, in no order: enough
// to count them.
func loadUnsorted(ctx context.Context, c *plugin.Call, p *plugin.Process) ([]tally.Ballot, error) {
	stored, err := c.State().List(ctx, ballotPrefix(p.ID()))
	if err != nil {
		return nil, err
	}
	ballots := make([]tally.Ballot, 0, len(stored))
	for key, raw := range stored {
		var b tally.Ballot
		if err := json.Unmarshal(raw, &b); err != nil {
			return nil, fmt.Errorf("decoding ballot %s: %w", key, err)
		}
		ballots = append(ballots, b)
	}
	return ballots, nil
}

// counter continues the poll's running count, making it from the ballots
// when the state has none.
func counter(ctx context.Context, c *plugin.Call, p *plugin.Process, rules tally.Rules) (*tally.Counter, error) {
	var count tally.Count
	found, err := p.State().Get(ctx, "count", &count)
	if err != nil {
		return nil, err
	}
	if !found || count.Stale {
		return recount(ctx, c, p, rules)
	}
	return tally.NewCounter(rules, count)
}

// recount makes the running count again from the stored ballots (this
// invocation's writes included).
func recount(ctx context.Context, c *plugin.Call, p *plugin.Process, rules tally.Rules) (*tally.Counter, error) {
	ballots, err := loadUnsorted(ctx, c, p)
	if err != nil {
		return nil, err
	}
	count, err := tally.CountBallots(rules, ballots)
	if err != nil {
		return nil, err
	}
	return tally.NewCounter(rules, count)
}

// publish stores the running count and sets the outcome from it. A
// ranked-choice poll keeps its last full count as its outcome, counts one
// more pending ballot, and schedules the next full count.
func publish(ctx context.Context, c *plugin.Call, p *plugin.Process, rules tally.Rules, s schedule, k *tally.Counter) error {
	if err := p.State().Set("count", k.Count()); err != nil {
		return err
	}
	if out, ok := k.Outcome(); ok {
		return p.SetOutcome(finalOutcome{Outcome: out, ClosesAt: s.ClosesAt})
	}
	var cur finalOutcome
	if err := p.DecodeOutcome(&cur); err != nil {
		return err
	}
	cur.Pending++
	if err := p.SetOutcome(cur); err != nil {
		return err
	}
	var rk ranked
	if _, err := p.State().Get(ctx, "ranked", &rk); err != nil {
		return err
	}
	if !rk.Due.IsZero() {
		return nil // a count is scheduled: it will include this ballot
	}
	rk.Due = c.Now().UTC()
	if next := rk.Last.Add(max(rk.Every, recountMin)); next.After(rk.Due) {
		rk.Due = next
	}
	p.WakeAt(rk.Due)
	return p.State().Set("ranked", rk)
}

// countRanked makes a ranked-choice poll's full count, if one is due, and
// publishes it.
func countRanked(ctx context.Context, c *plugin.Call, p *plugin.Process, s schedule) error {
	var rk ranked
	if _, err := p.State().Get(ctx, "ranked", &rk); err != nil {
		return err
	}
	now := c.Now().UTC()
	if rk.Due.IsZero() || now.Before(rk.Due) {
		return nil
	}
	rules, _, err := loadRules(ctx, p)
	if err != nil {
		return err
	}
	// How long the count takes, on the real clock: it sets how often to
	// count again, whatever time the gateway's clock says it is.
	started := time.Now()
	ballots, err := loadUnsorted(ctx, c, p)
	if err != nil {
		return err
	}
	out, err := tally.Tally(rules, ballots)
	if err != nil {
		return err
	}
	took := time.Since(started)
	rk = ranked{Last: now, Every: min(max(recountFactor*took, recountMin), recountMax)}
	if err := p.State().Set("ranked", rk); err != nil {
		return err
	}
	return p.SetOutcome(finalOutcome{Outcome: out, ClosesAt: s.ClosesAt})
}
