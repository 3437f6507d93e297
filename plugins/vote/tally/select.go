package tally

import (
	"bytes"
	"cmp"
	"slices"
	"strings"
)

// entry is the one ballot of a voter that counts, with the voter's weight.
type entry struct {
	b *Ballot
	w float64
}

// selection is what the ballots leave to count.
type selection struct {
	entries  []entry // sorted by voter id
	rejected int     // ballots of voters not eligible
	// Eligible voters without a ballot here, for Decided; the methods add
	// those whose ballot turns out invalid.
	remainCount  int
	remainWeight float64
}

// compareBallots orders ballots by voter, then revision, cast time and
// choice, so that the pick does not depend on the order ballots come in.
func compareBallots(a, b *Ballot) int {
	if c := strings.Compare(a.Voter, b.Voter); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Revision, b.Revision); c != 0 {
		return c
	}
	if c := a.CastAt.Compare(b.CastAt); c != 0 {
		return c
	}
	return bytes.Compare(a.Choice, b.Choice)
}

// selectBallots keeps one ballot per voter (the last in compareBallots
// order when ballots may change, else the first), drops voters who are not
// eligible, and finds who has yet to vote. Sorting by voter, rather than
// hashing, makes everything after it independent of the ballots' order:
// the users lists come out sorted and the sums add up in one fixed order,
// so even fractional weights give the same bits however ballots arrive.
func selectBallots(r *Rules, ballots []Ballot) selection {
	order := make([]*Ballot, len(ballots))
	for i := range ballots {
		order[i] = &ballots[i]
	}
	if !slices.IsSortedFunc(order, compareBallots) {
		slices.SortFunc(order, compareBallots)
	}
	eligible := slices.Sorted(slices.Values(r.Eligible))
	weighted := len(r.Weights) > 0
	var s selection
	s.entries = make([]entry, 0, len(order))
	e := 0 // next eligible voter not yet matched
	for i := 0; i < len(order); {
		j := i + 1
		for j < len(order) && order[j].Voter == order[i].Voter {
			j++
		}
		b := order[i]
		if r.AllowChange {
			b = order[j-1]
		}
		i = j
		if len(eligible) > 0 {
			for e < len(eligible) && eligible[e] < b.Voter {
				s.remain(r, eligible[e])
				e++
			}
			if e == len(eligible) || eligible[e] != b.Voter {
				s.rejected++
				continue
			}
			e++
		}
		w := 1.0
		if weighted {
			w = r.weight(b.Voter)
		}
		s.entries = append(s.entries, entry{b: b, w: w})
	}
	for ; e < len(eligible); e++ {
		s.remain(r, eligible[e])
	}
	return s
}

func (s *selection) remain(r *Rules, voter string) {
	s.remainCount++
	s.remainWeight += r.weight(voter)
}
