package tally

import (
	"bytes"
	"crypto/sha256"
	"slices"
)

// Tally counts ballots under the rules. Give it every ballot kept so far
// (at least each voter's latest; earlier revisions may stay, as the rules
// pick which one counts). Ballots of voters who are not eligible, or that
// CheckBallot would refuse, are counted in Outcome.Rejected and nothing
// else. The error is a *FieldError for invalid rules.
func Tally(r Rules, ballots []Ballot) (Outcome, error) {
	if err := r.Validate(); err != nil {
		return Outcome{}, err
	}
	e := &engine{r: &r, p: newParser(&r), sel: selectBallots(&r, ballots)}
	e.opts = e.p.opts
	e.out = Outcome{Method: r.Method, Rejected: e.sel.rejected, Winners: []string{}}
	if !r.Anonymous {
		e.users = make([][]string, len(e.opts))
	}
	switch r.Method {
	case Consent:
		e.consent()
	case RankedChoice:
		e.runoff()
	case CondorcetSchulze, CondorcetCopeland:
		e.condorcet()
	default:
		e.additive()
	}
	return e.out, nil
}

// engine holds one tally's state, shared by the methods.
type engine struct {
	r     *Rules
	opts  []string
	p     *parser
	sel   selection
	out   Outcome
	voted int
	users [][]string // per option; nil when anonymous
}

// take parses one selected ballot into c, reporting whether it counts. An
// invalid ballot is rejected, and its voter is still to vote.
func (e *engine) take(en *entry, c *choice) bool {
	if e.p.parse(en.b.Choice, c) != nil {
		e.out.Rejected++
		if len(e.r.Eligible) > 0 {
			e.sel.remainCount++
			e.sel.remainWeight += en.w
		}
		return false
	}
	e.voted++
	return true
}

func (e *engine) addUser(i int, voter string) {
	if e.users != nil {
		e.users[i] = append(e.users[i], voter)
	}
}

// finish fills what every method reports alike: participation, quorum,
// votes, the winner and, with a threshold, passed.
func (e *engine) finish(counts []float64, winner int, support, decisive float64) {
	o, r := &e.out, e.r
	o.Participation = Participation{Voted: e.voted, Eligible: len(r.Eligible)}
	if len(r.Eligible) > 0 {
		o.Participation.Share = float64(e.voted) / float64(len(r.Eligible))
	}
	o.QuorumMet = e.quorumAt(e.voted)
	if winner >= 0 {
		o.Winners = []string{e.opts[winner]}
	}
	if decisive > 0 {
		o.Support = support / decisive
	}
	if e.hasThreshold() {
		passed := o.QuorumMet && winner >= 0 && e.meets(support, decisive)
		o.Passed = &passed
	}
	o.Votes = make(map[string]VoteSummary, len(e.opts))
	for i, opt := range e.opts {
		v := VoteSummary{Count: counts[i]}
		if e.users != nil {
			v.Users = e.users[i]
			if v.Users == nil {
				v.Users = []string{}
			}
		}
		o.Votes[opt] = v
	}
}

func (e *engine) hasThreshold() bool {
	return e.r.Method == Consent || e.r.Threshold.Share > 0 || e.r.Threshold.Strict
}

// threshold is the rules' threshold; consent without one needs a simple
// majority of agree over disagree.
func (e *engine) threshold() Threshold {
	if e.r.Method == Consent && e.r.Threshold == (Threshold{}) {
		return Threshold{Share: 0.5, Strict: true}
	}
	return e.r.Threshold
}

// meets compares support/decisive with the threshold. Dividing (rather
// than multiplying the threshold) keeps 3 of 10 equal to a share of 0.3.
func (e *engine) meets(support, decisive float64) bool {
	if decisive <= 0 {
		return false
	}
	t, x := e.threshold(), support/decisive
	if t.Strict {
		return x > t.Share
	}
	return x >= t.Share
}

// quorumAt reports whether n voters meet the quorum.
func (e *engine) quorumAt(n int) bool {
	q := e.r.Quorum
	if n < q.Count {
		return false
	}
	return q.Share == 0 || float64(n)/float64(len(e.r.Eligible)) >= q.Share
}

// canDecide reports whether an early decision is possible at all: it needs
// to know who may still vote, and that nobody who voted may change.
func (e *engine) canDecide() bool {
	return len(e.r.Eligible) > 0 && !e.r.AllowChange
}

// quorumFixed reports whether the remaining voters cannot change QuorumMet.
func (e *engine) quorumFixed() bool {
	return e.quorumAt(e.voted) || !e.quorumAt(e.voted+e.sel.remainCount)
}

// breakTie picks among tied options (indices in rules order): the first in
// tie order to win, the last to be eliminated.
func (e *engine) breakTie(tied []int, eliminate bool) (int, *TieBreak) {
	rank := e.tieRanks()
	chosen := tied[0]
	for _, i := range tied[1:] {
		if (rank[i] < rank[chosen]) != eliminate {
			chosen = i
		}
	}
	rule := tieRules[[2]bool{e.r.TieSeed != "", eliminate}]
	tb := &TieBreak{Rule: rule, Chosen: e.opts[chosen]}
	for _, i := range tied {
		tb.Between = append(tb.Between, e.opts[i])
	}
	return chosen, tb
}

// tieRules describe the tie-break, keyed by {seeded, eliminating}.
var tieRules = map[[2]bool]string{
	{false, false}: "first in the rules' option order",
	{false, true}:  "the last in the rules' option order is eliminated",
	{true, false}:  "lowest SHA-256(tie_seed, 0x00, option)",
	{true, true}:   "the highest SHA-256(tie_seed, 0x00, option) is eliminated",
}

// pickWinner returns the option with the highest value; see pickAmong.
func (e *engine) pickWinner(vals []float64) int {
	return e.pickAmong(best(vals, nil))
}

// pickAmong returns the one winner among the top options, breaking a tie
// (and recording it in the outcome); -1 when nobody voted.
func (e *engine) pickAmong(top []int) int {
	if e.voted == 0 {
		return -1
	}
	if len(top) == 1 {
		return top[0]
	}
	w, tb := e.breakTie(top, false)
	e.out.Tie = tb
	return w
}

// tieRanks gives each option its place in the tie-break order.
func (e *engine) tieRanks() []int {
	n := len(e.opts)
	rank := make([]int, n)
	if e.r.TieSeed == "" {
		for i := range rank {
			rank[i] = i
		}
		return rank
	}
	sums := make([][]byte, n)
	for i, o := range e.opts {
		h := sha256.Sum256([]byte(e.r.TieSeed + "\x00" + o))
		sums[i] = h[:]
	}
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return bytes.Compare(sums[a], sums[b]) })
	for place, i := range order {
		rank[i] = place
	}
	return rank
}

// best returns the highest value's options in rules order.
func best(vals []float64, alive func(int) bool) []int {
	var top []int
	for i, v := range vals {
		if alive != nil && !alive(i) {
			continue
		}
		if len(top) == 0 || v > vals[top[0]] {
			top = append(top[:0], i)
		} else if v == vals[top[0]] {
			top = append(top, i)
		}
	}
	return top
}
