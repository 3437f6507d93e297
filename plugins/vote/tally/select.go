package tally

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"math"
	"slices"
	"strings"
)

// vkey places a ballot (index i) in the canonical order: by the 64-bit
// FNV-1a hash of the voter id, then the id, then as compareBallots says.
// Hashes sort by radix in linear time, where a million ids sort by string
// comparison in a third of a second; grouping a voter's ballots and
// fixing an order for sums need no more. (Users lists, which people read,
// are sorted by id apart: see sortByVoter.)
type vkey struct {
	h     uint64
	voter string
	i     int32
}

func fnv1a(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * 1099511628211
	}
	return h
}

func compareKeys(a, b vkey) int {
	if c := cmp.Compare(a.h, b.h); c != 0 {
		return c
	}
	return strings.Compare(a.voter, b.voter)
}

// compareBallots orders one voter's ballots: by revision, cast time, then
// choice bytes, so that the pick does not depend on the order they come in.
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

// selection is what the ballots leave to count.
type selection struct {
	canon []vkey    // one ballot per eligible voter, in canonical order (or voter order: see voterOrder)
	order []int32   // the same ballots in the order to count them
	w     []float64 // weight per ballot index; nil when everyone weighs 1
	// Voters of rejected ballots (not eligible; the methods add the
	// invalid ones) and, for Decided, eligible voters with no counted ballot.
	rejected     int
	remainCount  int
	remainWeight float64
	// voterOrder is set when canon is already sorted by voter id (the
	// sorted fast path, selectSorted), so the users lists need no
	// sortByVoter; canon's h is then unset.
	voterOrder bool
}

func (s *selection) weight(i int32) float64 {
	if s.w == nil {
		return 1
	}
	return s.w[i]
}

// selectBallots keeps one ballot per voter (the last in compareBallots
// order when ballots may change, else the first), drops voters who are not
// eligible, and finds who has yet to vote.
//
// Counting then goes in the ballots' own order, which reads memory in
// sequence (three times faster than hopping about a million ballots);
// sums cannot depend on that order as long as they are sums of whole
// numbers below 2^53. With fractional weights, or totals that could pass
// 2^53, counting goes in the canonical order instead, so that a float sum
// too gives the same bits however the ballots arrive.
//
// Ballots as the vote plugin stores them (one per voter, sorted by voter
// id) take a shorter way when the sums are exact: see selectSorted.
func selectBallots(r *Rules, ballots []Ballot, maxValue float64) selection {
	var s selection
	maxW := 1.0
	if len(r.Weights) > 0 {
		s.w = make([]float64, len(ballots))
		for i := range ballots {
			s.w[i] = r.weight(ballots[i].Voter)
			maxW = max(maxW, s.w[i])
		}
	}
	exact := maxW == math.Trunc(maxW) && maxW*maxValue*float64(len(ballots)) < 1<<53
	maxListed := 1.0 // the heaviest weight of anyone, voter or not
	for _, w := range r.Weights {
		exact = exact && w == math.Trunc(w)
		maxListed = max(maxListed, w)
	}
	// The weight of the eligible voters yet to vote is summed in the
	// order the eligible list is walked, which the fast path changes: it
	// too must be a sum of whole numbers below 2^53 (it is unless some
	// nine million voters weigh a billion each).
	if exact && maxListed*float64(len(r.Eligible)) < 1<<53 && oneEachByVoter(ballots) {
		s.selectSorted(r, ballots)
		return s
	}
	keys := make([]vkey, len(ballots))
	for i := range ballots {
		v := ballots[i].Voter
		keys[i] = vkey{h: fnv1a(v), voter: v, i: int32(i)}
	}
	sortKeys(keys, ballots)
	eligible := make([]vkey, len(r.Eligible))
	for i, v := range r.Eligible {
		eligible[i] = vkey{h: fnv1a(v), voter: v}
	}
	slices.SortFunc(eligible, compareKeys)
	s.canon = keys[:0] // filtered in place: the write index never passes the read
	e := 0             // next eligible voter not yet matched
	for i := 0; i < len(keys); {
		j := i + 1
		for j < len(keys) && keys[j].h == keys[i].h && keys[j].voter == keys[i].voter {
			j++
		}
		k := keys[i]
		if r.AllowChange {
			k = keys[j-1]
		}
		i = j
		if len(eligible) > 0 {
			for e < len(eligible) && compareKeys(eligible[e], k) < 0 {
				s.remain(r, eligible[e].voter)
				e++
			}
			if e == len(eligible) || compareKeys(eligible[e], k) != 0 {
				s.rejected++
				continue
			}
			e++
		}
		s.canon = append(s.canon, k)
	}
	for ; e < len(eligible); e++ {
		s.remain(r, eligible[e].voter)
	}
	s.order = make([]int32, 0, len(s.canon))
	if !exact {
		for _, k := range s.canon {
			s.order = append(s.order, k.i)
		}
		return s
	}
	counted := make([]bool, len(ballots))
	for _, k := range s.canon {
		counted[k.i] = true
	}
	for i, c := range counted {
		if c {
			s.order = append(s.order, int32(i))
		}
	}
	return s
}

// oneEachByVoter reports whether every ballot's voter id sorts strictly
// after the one before (strings.Compare order): one ballot per voter,
// sorted by voter, the way the vote plugin stores and reads them.
func oneEachByVoter(ballots []Ballot) bool {
	for i := 1; i < len(ballots); i++ {
		if ballots[i-1].Voter >= ballots[i].Voter {
			return false
		}
	}
	return true
}

// selectSorted is selectBallots for ballots that are one per voter and
// sorted by voter id (oneEachByVoter), when the sums are exact.
//
// Why it exists: the canonical path sorts a million voters by hash (a
// third of a second at the close of a large vote), then the engine sorts
// them again by id for the users lists (as long again). Both sorts are
// there to group each voter's ballots, to match them with the eligible
// list, and to fix an order for sums. Ballots sorted by voter, one each,
// need none of that: each ballot is its voter's pick, the eligible list
// is matched by walking it sorted the same way (by id, not by hash), and
// canon comes out in voter order already (voterOrder), ready for the users
// lists.
//
// Why only when exact: the ballots are then counted in their own order,
// as the canonical path counts them too when sums are exact, and the
// remaining voters' weights are summed in id order rather than hash
// order. Sums of whole numbers below 2^53 are the same whatever the
// order; sums with fractional weights are not, and only the canonical
// order makes those bits independent of how the ballots arrive. So the
// outcome here is, to the bit, the one the canonical path gives.
func (s *selection) selectSorted(r *Rules, ballots []Ballot) {
	eligible := r.Eligible
	if !slices.IsSorted(eligible) {
		eligible = slices.Sorted(slices.Values(eligible))
	}
	s.canon = make([]vkey, 0, len(ballots))
	s.order = make([]int32, 0, len(ballots))
	e := 0 // next eligible voter not yet matched
	for i := range ballots {
		v := ballots[i].Voter
		if len(eligible) > 0 {
			for e < len(eligible) && eligible[e] < v {
				s.remain(r, eligible[e])
				e++
			}
			if e == len(eligible) || eligible[e] != v {
				s.rejected++
				continue
			}
			e++
		}
		s.canon = append(s.canon, vkey{voter: v, i: int32(i)})
		s.order = append(s.order, int32(i))
	}
	for ; e < len(eligible); e++ {
		s.remain(r, eligible[e])
	}
	s.voterOrder = true
}

func (s *selection) remain(r *Rules, voter string) {
	s.remainCount++
	s.remainWeight += r.weight(voter)
}

// sortKeys sorts keys into the canonical order; see radixSort.
func sortKeys(keys []vkey, ballots []Ballot) {
	radixSort(keys, func(a, b vkey) int { return compareBallots(&ballots[a.i], &ballots[b.i]) })
}

// sortByVoter sorts keys (one per voter) by voter id: by radix on the 8
// bytes after the prefix all ids share (zero-padded, an order the ids'
// own order refines), then by comparison where those bytes tie. Ids like
// "voter-0001234" or UUIDs sort in a few linear passes, where comparing
// strings a million times costs several times more.
func sortByVoter(keys []vkey) {
	if len(keys) < 2 {
		return
	}
	first := keys[0].voter
	lcp := len(first)
	for _, k := range keys[1:] {
		lcp = min(lcp, len(k.voter))
		for i := 0; i < lcp; i++ {
			if k.voter[i] != first[i] {
				lcp = i
			}
		}
	}
	for i := range keys {
		var p [8]byte
		copy(p[:], keys[i].voter[lcp:])
		keys[i].h = binary.BigEndian.Uint64(p[:])
	}
	radixSort(keys, func(a, b vkey) int { return strings.Compare(a.voter, b.voter) })
}

// radixSort sorts keys by h, a stable LSD radix sort 11 bits a pass (a
// pass is skipped when all keys share its digit), then sorts each run of
// equal h with cmp.
func radixSort(keys []vkey, cmp func(a, b vkey) int) {
	const bits, size = 11, 1 << 11
	if len(keys) < 2 {
		return
	}
	tmp := make([]vkey, len(keys))
	src, dst := keys, tmp
	for shift := 0; shift < 64; shift += bits {
		var count [size + 1]int
		for _, k := range src {
			count[(k.h>>shift)&(size-1)+1]++
		}
		if count[(src[0].h>>shift)&(size-1)+1] == len(src) {
			continue
		}
		for d := 1; d <= size; d++ {
			count[d] += count[d-1]
		}
		for _, k := range src {
			d := (k.h >> shift) & (size - 1)
			dst[count[d]] = k
			count[d]++
		}
		src, dst = dst, src
	}
	if &src[0] != &keys[0] {
		copy(keys, src)
	}
	for i := 0; i < len(keys); {
		j := i + 1
		for j < len(keys) && keys[j].h == keys[i].h {
			j++
		}
		if j-i > 1 {
			slices.SortFunc(keys[i:j], cmp)
		}
		i = j
	}
}
