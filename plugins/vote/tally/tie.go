package tally

import (
	"bytes"
	"crypto/sha256"
	"slices"
)

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
