package vote

import (
	"context"
	"fmt"
	"strconv"
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

// loadRules reads a poll's rules as a cast and the running count use them,
// and its schedule. A poll keeps its rules in its state without the lists
// of eligible voters and weights, which can be long, with their sum
// (tally.Electorate) instead, and each listed voter's weight under its own
// key (voterKey): a cast then reads what it needs about its voter with one
// lookup, whatever the size of the electorate. The rules are then lean
// (tally.Rules.Lean); those of a poll started before are the full rules.
// Counting every ballot needs the full rules: fullRules.
func loadRules(ctx context.Context, p *plugin.Process) (tally.Rules, schedule, error) {
	var rules tally.Rules
	var s schedule
	if _, err := p.State().Get(ctx, "rules", &rules); err != nil {
		return rules, s, err
	}
	if _, err := p.State().Get(ctx, "schedule", &s); err != nil {
		return rules, s, err
	}
	var el tally.Electorate
	found, err := p.State().Get(ctx, "electorate", &el)
	if err != nil {
		return rules, s, err
	}
	if found {
		rules = rules.Lean(el, "", 1)
	}
	return rules, s, nil
}

// fullRules reads a poll's rules with their lists: the start parameters,
// which the lean rules in the state were made from, for a poll that keeps
// them lean.
func fullRules(ctx context.Context, p *plugin.Process) (tally.Rules, error) {
	var rules tally.Rules
	if _, err := p.State().Get(ctx, "rules", &rules); err != nil {
		return rules, err
	}
	found, err := p.State().Get(ctx, "electorate", new(tally.Electorate))
	if err != nil || !found {
		return rules, err
	}
	var in pollParams
	if err := p.DecodeInput(&in); err != nil {
		return rules, err
	}
	return in.Rules, nil
}

// voterKey is where a poll keeps the weight of a voter its rules list, as
// eligible or weighted, in the instance state.
func voterKey(processID int64, voter string) string {
	return "voter/" + strconv.FormatInt(processID, 10) + "/" + voter
}

// keepVoters stores the weight of each voter the rules list, for
// voterRules.
func keepVoters(c *plugin.Call, processID int64, r tally.Rules) error {
	weight := func(v string) float64 {
		if w, ok := r.Weights[v]; ok {
			return w
		}
		return 1
	}
	for _, v := range r.Eligible {
		if err := c.State().Set(voterKey(processID, v), weight(v)); err != nil {
			return err
		}
	}
	if len(r.Eligible) == 0 {
		for v, w := range r.Weights {
			if err := c.State().Set(voterKey(processID, v), w); err != nil {
				return err
			}
		}
	}
	return nil
}

// voterRules are the rules a voter's cast is checked and counted under:
// for lean rules, the voter's weight added, and an *plugin.InputError if
// the rules list eligible voters and the voter is not one. Full rules are
// returned as they are (CheckBallot checks them).
func voterRules(ctx context.Context, c *plugin.Call, processID int64, rules tally.Rules, voter string) (tally.Rules, error) {
	if !rules.IsLean() {
		return rules, nil
	}
	el := rules.Electorate()
	w := 1.0
	found, err := c.State().Get(ctx, voterKey(processID, voter), &w)
	if err != nil {
		return rules, err
	}
	if !found && el.Eligible > 0 {
		return rules, &plugin.InputError{Field: "/voter", Message: fmt.Sprintf("voter %q is not eligible to vote", voter)}
	}
	return rules.Lean(el, voter, w), nil
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
		return recount(ctx, c, p)
	}
	return tally.NewCounter(rules, count)
}

// recount makes the running count again from the stored ballots (this
// invocation's writes included), under the full rules, which its counter
// keeps.
func recount(ctx context.Context, c *plugin.Call, p *plugin.Process) (*tally.Counter, error) {
	rules, err := fullRules(ctx, p)
	if err != nil {
		return nil, err
	}
	ballots, err := loadBallots(ctx, c, p, 0)
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
	rules, err := fullRules(ctx, p)
	if err != nil {
		return err
	}
	// How long the count takes, on the real clock: it sets how often to
	// count again, whatever time the gateway's clock says it is.
	started := time.Now()
	ballots, err := loadBallots(ctx, c, p, 0)
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
