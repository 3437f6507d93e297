package tally

import (
	"slices"
	"strings"
)

// Count is a vote's running count: the sums a tally adds up, kept between
// ballots so that a new or changed ballot costs the same however many came
// before it. It is plain JSON, for a process to keep in its state; a
// Counter reads and changes it.
//
// For every method but ranked-choice the Counter's outcome is the one Tally
// gives for the same ballots (with fractional weights, up to the rounding
// of sums taken in another order). Instant runoff's rounds need every
// ranking again, so a Counter keeps only its first preferences,
// participation and users lists: count ranked-choice with Tally.
type Count struct {
	Voted    int     `json:"voted"`    // valid ballots of eligible voters
	Rejected int     `json:"rejected"` // ballots of voters not eligible, or invalid
	Weight   float64 `json:"weight"`   // the voted ballots' weight
	// Decisive is the support a threshold is measured against, where it
	// adds up: ballots choosing anything, or the values above zero.
	Decisive float64 `json:"decisive"`
	// Pos per option: support (above score_min for score), consent
	// stances, or first preferences (ranked and Condorcet methods).
	Pos []float64 `json:"pos"`
	// Neg per option: quadratic votes against.
	Neg []float64 `json:"neg,omitempty"`
	// Blocks counts consent voters of positive weight who block.
	Blocks int `json:"blocks,omitempty"`
	// Pairwise is the Condorcet matrix, n×n row-major: [i*n+j] is the
	// weight of the voters ranking option i above option j.
	Pairwise []float64 `json:"pairwise,omitempty"`
	// Users are the first UsersLimit supporters of each option by voter
	// id, and Supporters how many there are in all (absent when the vote
	// is anonymous).
	Users      [][]string `json:"users,omitempty"`
	Supporters []int      `json:"supporters,omitempty"`
	// Stale is set when a changed ballot took a voter off a full users
	// list: the next supporter by id is not known, so the count must be
	// made again from the ballots (Counter.Stale).
	Stale bool `json:"stale,omitempty"`
}

// Counter adds ballots to and removes them from a Count under one set of
// rules. Build one per invocation with NewCounter; it is not safe for
// concurrent use.
type Counter struct {
	r        Rules
	p        *parser
	c        choice
	eligible map[string]struct{}
	ranked   []bool
	count    Count
	all      float64 // the eligible voters' weight
}

// NewCounter continues count under the rules; a zero Count starts an empty
// one. The error is a *FieldError for invalid rules.
func NewCounter(r Rules, count Count) (*Counter, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	k := &Counter{r: r, count: count}
	k.p = newParser(&k.r)
	n := len(k.p.opts)
	if len(count.Pos) != n {
		k.count = Count{Pos: make([]float64, n)}
		switch r.Method {
		case Quadratic:
			k.count.Neg = make([]float64, n)
		case CondorcetSchulze, CondorcetCopeland:
			k.count.Pairwise = make([]float64, n*n)
		}
		if !r.Anonymous {
			k.count.Users, k.count.Supporters = make([][]string, n), make([]int, n)
		}
	}
	k.all = r.Electorate().Weight
	if len(r.Eligible) > 0 {
		k.eligible = make(map[string]struct{}, len(r.Eligible))
		for _, v := range r.Eligible {
			k.eligible[v] = struct{}{}
		}
	}
	k.ranked = make([]bool, n)
	return k, nil
}

// CountBallots counts ballots (one per voter, as stored) from scratch.
func CountBallots(r Rules, ballots []Ballot) (Count, error) {
	k, err := NewCounter(r, Count{})
	if err != nil {
		return Count{}, err
	}
	for _, b := range ballots {
		k.Add(b)
	}
	return k.Count(), nil
}

// Count returns the running count, to store.
func (k *Counter) Count() Count { return k.count }

// Stale reports whether the count must be made again from the ballots
// (CountBallots) before its outcome can be trusted.
func (k *Counter) Stale() bool { return k.count.Stale }

// Add counts a voter's ballot. A voter has one ballot in a count: to
// change it, Remove the old one first.
func (k *Counter) Add(b Ballot) { k.apply(b, 1) }

// Remove takes back a ballot that Add counted.
func (k *Counter) Remove(b Ballot) { k.apply(b, -1) }

func (k *Counter) apply(b Ballot, sign int) {
	cnt, r, c := &k.count, &k.r, &k.c
	if k.eligible != nil {
		if _, ok := k.eligible[b.Voter]; !ok {
			cnt.Rejected += sign
			return
		}
	}
	if k.p.parse(b.Choice, c) != nil {
		cnt.Rejected += sign
		return
	}
	s := float64(sign)
	w := r.weight(b.Voter)
	sw := s * w
	cnt.Voted += sign
	cnt.Weight += sw
	switch r.Method {
	case SingleChoice:
		cnt.Pos[c.idx[0]] += sw
		cnt.Decisive += sw
		k.user(c.idx[0], b.Voter, sign)
	case Approval:
		for _, i := range c.idx {
			cnt.Pos[i] += sw
			k.user(i, b.Voter, sign)
		}
		if len(c.idx) > 0 {
			cnt.Decisive += sw
		}
	case Consent:
		const block = 3
		st := c.idx[0]
		cnt.Pos[st] += sw
		if st == block && w > 0 {
			cnt.Blocks += sign
		}
		k.user(st, b.Voter, sign)
	case RankedChoice, CondorcetSchulze, CondorcetCopeland:
		if len(c.idx) > 0 {
			cnt.Pos[c.idx[0]] += sw
			k.user(c.idx[0], b.Voter, sign)
		}
		if cnt.Pairwise != nil {
			k.pairwise(c.idx, sw)
		}
	default:
		lo := float64(r.ScoreMin)
		for j, i := range c.idx {
			v := c.val[j]
			if r.Method == Score {
				v -= lo
			}
			switch {
			case v > 0:
				cnt.Pos[i] += v * sw
				cnt.Decisive += v * sw
				k.user(i, b.Voter, sign)
			case v < 0:
				cnt.Neg[i] -= v * sw
				k.user(i, b.Voter, sign)
			}
		}
	}
}

// pairwise adds a ranking to the Condorcet matrix as Tally does: a ranked
// option is above the options ranked after it and every unranked one.
func (k *Counter) pairwise(idx []int, sw float64) {
	d, n := k.count.Pairwise, len(k.ranked)
	for _, a := range idx {
		k.ranked[a] = true
	}
	for p, a := range idx {
		row := d[a*n : a*n+n]
		for _, b := range idx[p+1:] {
			row[b] += sw
		}
		for b, in := range k.ranked {
			if !in {
				row[b] += sw
			}
		}
	}
	for _, a := range idx {
		k.ranked[a] = false
	}
}

// user adds voter to (sign 1) or removes them from (-1) option o's users.
func (k *Counter) user(o int, voter string, sign int) {
	cnt := &k.count
	if cnt.Users == nil {
		return
	}
	cnt.Supporters[o] += sign
	list := cnt.Users[o]
	i, found := slices.BinarySearchFunc(list, voter, strings.Compare)
	switch {
	case sign > 0 && !found && i < UsersLimit:
		list = slices.Insert(list, i, voter)
		if len(list) > UsersLimit {
			list = list[:UsersLimit]
		}
	case sign < 0 && found:
		list = slices.Delete(list, i, i+1)
		if cnt.Supporters[o] > len(list) {
			cnt.Stale = true // who comes next is in the ballots only
		}
	}
	if len(list) == 0 {
		list = nil // as stored: an empty list reads back as none
	}
	cnt.Users[o] = list
}

// Outcome is the count's outcome, as Tally gives it for the same ballots;
// ok is false for ranked-choice, whose rounds need Tally.
func (k *Counter) Outcome() (out Outcome, ok bool) {
	return k.outcome(k.r)
}

// DecidedIfFinal reports whether the remaining eligible voters can no
// longer change the result if the ballots cast so far are final, which is
// what closing early makes them (Outcome.Decided with changes disallowed).
// For ranked-choice it is whether every eligible voter has voted.
func (k *Counter) DecidedIfFinal() bool {
	r := k.r
	r.AllowChange = false
	if r.Method == RankedChoice {
		return r.eligibleCount() > 0 && r.eligibleCount()-k.count.Voted == 0
	}
	out, _ := k.outcome(r)
	return out.Decided
}

func (k *Counter) outcome(r Rules) (Outcome, bool) {
	if r.Method == RankedChoice {
		return Outcome{}, false
	}
	cnt := &k.count
	e := &engine{r: &r, p: k.p, opts: k.p.opts, voted: cnt.Voted}
	e.out = Outcome{Method: r.Method, Rejected: cnt.Rejected, Winners: []string{}}
	if n := r.eligibleCount(); n > 0 {
		e.sel.remainCount, e.sel.remainWeight = n-cnt.Voted, k.all-cnt.Weight
	}
	if cnt.Users != nil && !r.Anonymous {
		e.lists, e.nusers = make([][]string, len(cnt.Users)), cnt.Supporters
		for i, l := range cnt.Users {
			e.lists[i] = slices.Clip(l)
			if e.lists[i] == nil {
				e.lists[i] = []string{}
			}
		}
	}
	switch r.Method {
	case Consent:
		e.consentResult(slices.Clone(cnt.Pos), cnt.Blocks > 0)
	case CondorcetSchulze, CondorcetCopeland:
		e.condorcetResult(slices.Clone(cnt.Pairwise), slices.Clone(cnt.Pos))
	default:
		neg := cnt.Neg
		if neg == nil {
			neg = make([]float64, len(cnt.Pos))
		}
		e.additiveResult(slices.Clone(cnt.Pos), slices.Clone(neg), cnt.Decisive, cnt.Weight)
	}
	return e.out, true
}
