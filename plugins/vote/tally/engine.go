package tally

import (
	"math"
	"math/bits"
)

// Tally counts ballots under the rules. Give it every ballot kept so far
// (at least each voter's latest; earlier revisions may stay, as the rules
// pick which one counts). Voters who are not eligible, or whose ballot
// CheckBallot would refuse, are counted in Outcome.Rejected and nothing
// else. The error is a *FieldError for invalid rules.
func Tally(r Rules, ballots []Ballot) (Outcome, error) {
	return tally(r, ballots, UsersLimit)
}

// UsersLimit is how many voters an outcome's users list names per option:
// the first in voter id order. VoteSummary.UsersTruncated counts the rest;
// the ballots (a Record, GET ?include=ballots) name them all.
const UsersLimit = 100

// tally is Tally with users lists of at most limit voters.
func tally(r Rules, ballots []Ballot, limit int) (Outcome, error) {
	if err := r.Validate(); err != nil {
		return Outcome{}, err
	}
	e := &engine{r: &r, p: newParser(&r), ballots: ballots, sel: selectBallots(&r, ballots, maxValue(&r)), limit: limit}
	e.opts = e.p.opts
	e.out = Outcome{Method: r.Method, Rejected: e.sel.rejected, Winners: []string{}}
	if !r.Anonymous {
		// The users lists are sorted by voter id. That sort runs beside
		// the count, which does not need it, unless the ballots came
		// sorted by voter and canon is in that order already.
		e.byVoter = make(chan struct{})
		if e.sel.voterOrder {
			close(e.byVoter)
		} else {
			go func() {
				sortByVoter(e.sel.canon)
				close(e.byVoter)
			}()
		}
		e.words = (len(e.opts) + 63) / 64
		e.mask = make([]uint64, len(ballots)*e.words)
		e.nusers = make([]int, len(e.opts))
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

// maxValue bounds what one ballot adds to one total, per unit of weight.
func maxValue(r *Rules) float64 {
	switch r.Method {
	case Score:
		return float64(max(r.ScoreMax-r.ScoreMin, r.ScoreMax, -r.ScoreMin))
	case Quadratic:
		return math.Sqrt(float64(r.Credits))
	case Weighted:
		return float64(r.Points)
	}
	return 1
}

// engine holds one tally's state, shared by the methods.
type engine struct {
	r       *Rules
	opts    []string
	p       *parser
	ballots []Ballot
	sel     selection
	out     Outcome
	voted   int
	// Who supports what, for the users lists (nil when anonymous): a bit
	// set of options per ballot index, words uint64s each, written in
	// counting order and read in voter order (sel.canon once byVoter is
	// closed); nusers counts per option.
	byVoter chan struct{}
	touched byte // keeps each's reads ahead from being optimized away
	mask    []uint64
	words   int
	cur     int32 // the ballot being counted
	nusers  []int
	limit   int // users listed per option
	// lists are the users lists when they come ready-made (from a
	// Counter) rather than from mask; nusers then counts each option's
	// users, listed or not.
	lists [][]string
}

// each parses the selected ballots in counting order and calls count with
// each valid one. An invalid ballot is rejected, and its voter is still
// to vote.
func (e *engine) each(count func(w float64, c *choice)) {
	var c choice
	var touched byte
	order := e.sel.order
	for k, i := range order {
		// Read a byte of a ballot a few ahead: its choice lies elsewhere
		// in memory, and loading it now overlaps that wait with this
		// ballot's parsing (about a third of the time a count takes).
		if k+prefetch < len(order) {
			if ch := e.ballots[order[k+prefetch]].Choice; len(ch) > 0 {
				touched |= ch[0]
			}
		}
		w := e.sel.weight(i)
		if e.p.parse(e.ballots[i].Choice, &c) != nil {
			e.out.Rejected++
			if e.r.eligibleCount() > 0 {
				e.sel.remainCount++
				e.sel.remainWeight += w
			}
			continue
		}
		e.voted++
		e.cur = i
		count(w, &c)
	}
	e.touched = touched
}

// prefetch is how many ballots ahead each touches.
const prefetch = 6

// support notes that the ballot being counted supports option i.
func (e *engine) support(i int) {
	if e.mask != nil {
		e.mask[int(e.cur)*e.words+i/64] |= 1 << (i % 64)
		e.nusers[i]++
	}
}

// usersLists turns the support noted per ballot into users lists sorted
// by voter id, each of at most e.limit voters.
func (e *engine) usersLists() [][]string {
	if e.lists != nil {
		return e.lists
	}
	<-e.byVoter
	users := make([][]string, len(e.opts))
	for i, n := range e.nusers {
		users[i] = make([]string, 0, min(n, e.limit))
	}
	for _, k := range e.sel.canon {
		for w, m := range e.mask[int(k.i)*e.words : int(k.i+1)*e.words] {
			for ; m != 0; m &= m - 1 {
				o := w*64 + bits.TrailingZeros64(m)
				if len(users[o]) < e.limit {
					users[o] = append(users[o], k.voter)
				}
			}
		}
	}
	return users
}

// finish fills what every method reports alike: participation, quorum,
// votes, the winner and, with a threshold, passed.
func (e *engine) finish(counts []float64, winner int, support, decisive float64) {
	o, r := &e.out, e.r
	o.Participation = Participation{Voted: e.voted, Eligible: r.eligibleCount()}
	if n := r.eligibleCount(); n > 0 {
		o.Participation.Share = float64(e.voted) / float64(n)
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
	var users [][]string
	if e.mask != nil || e.lists != nil {
		users = e.usersLists()
	}
	for i, opt := range e.opts {
		v := VoteSummary{Count: counts[i]}
		if users != nil {
			v.Users = users[i]
			v.UsersTruncated = e.nusers[i] - len(users[i])
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
	return q.Share == 0 || float64(n)/float64(e.r.eligibleCount()) >= q.Share
}

// canDecide reports whether an early decision is possible at all: it needs
// to know who may still vote, and that nobody who voted may change.
func (e *engine) canDecide() bool {
	return e.r.eligibleCount() > 0 && !e.r.AllowChange
}

// quorumFixed reports whether the remaining voters cannot change QuorumMet.
func (e *engine) quorumFixed() bool {
	return e.quorumAt(e.voted) || !e.quorumAt(e.voted+e.sel.remainCount)
}
