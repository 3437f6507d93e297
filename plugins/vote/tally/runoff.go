package tally

// rankings holds every counted ranking in one flat array, so a million
// ballots are a few allocations: ballot b ranks prefs[start[b]:start[b+1]].
type rankings struct {
	prefs []uint16
	start []int32
	w     []float64
}

// collect parses the selected ranked ballots, noting first preferences.
func (e *engine) collect() (rankings, []float64) {
	n := len(e.sel.order)
	rk := rankings{prefs: make([]uint16, 0, n*min(len(e.opts), 4)), start: make([]int32, 1, n+1), w: make([]float64, 0, n)}
	first := make([]float64, len(e.opts))
	e.each(func(w float64, c *choice) {
		for _, i := range c.idx {
			rk.prefs = append(rk.prefs, uint16(i))
		}
		rk.start = append(rk.start, int32(len(rk.prefs)))
		rk.w = append(rk.w, w)
		if len(c.idx) > 0 {
			first[c.idx[0]] += w
			e.support(c.idx[0])
		}
	})
	return rk, first
}

// runoff counts instant runoff. Each ballot sits in the pile of its highest
// option still running; eliminating an option moves only that option's
// pile, each ballot to its next option still running (or to exhausted), so
// the whole count reads each ranking once: ballots × options at worst.
// An option wins with more than half the weight of the ballots not
// exhausted, or as the last one running. One option goes per round; a tie
// for last place goes by the tie-break order.
func (e *engine) runoff() {
	rk, first := e.collect()
	n := len(e.opts)
	counts := make([]float64, n)
	piles := make([][]int32, n)
	pos := make([]int32, len(rk.w)) // each ballot's current place in prefs
	var exhausted float64
	for b := range rk.w {
		pos[b] = rk.start[b]
		if rk.start[b] == rk.start[b+1] {
			exhausted += rk.w[b]
			continue
		}
		o := rk.prefs[pos[b]]
		piles[o] = append(piles[o], int32(b))
		counts[o] += rk.w[b]
	}
	running := make([]bool, n)
	for i := range running {
		running[i] = true
	}
	alive := func(i int) bool { return running[i] }
	winner, active := -1, 0.0
	for left := n; ; left-- {
		round := Round{Totals: map[string]float64{}, Exhausted: exhausted}
		active = 0
		for i := range n {
			if running[i] {
				round.Totals[e.opts[i]] = counts[i]
				active += counts[i]
			}
		}
		top := best(counts, alive)
		if e.voted == 0 {
			e.out.Rounds = append(e.out.Rounds, round)
			break
		}
		if left == 1 || counts[top[0]]*2 > active {
			winner = top[0]
			e.out.Rounds = append(e.out.Rounds, round)
			break
		}
		out := e.lowest(counts, running, &round)
		e.out.Rounds = append(e.out.Rounds, round)
		running[out] = false
		for _, b := range piles[out] {
			p, end := pos[b]+1, rk.start[b+1]
			for p < end && !running[rk.prefs[p]] {
				p++
			}
			if p == end {
				exhausted += rk.w[b]
				continue
			}
			pos[b] = p
			o := rk.prefs[p]
			piles[o] = append(piles[o], b)
			counts[o] += rk.w[b]
		}
		piles[out], counts[out] = nil, 0
	}
	last := e.out.Rounds[len(e.out.Rounds)-1]
	var support, decisive float64
	if winner >= 0 {
		support, decisive = counts[winner], active
		if len(e.out.Rounds) > 1 && len(last.Totals) == 1 {
			e.out.Tie = e.out.Rounds[len(e.out.Rounds)-2].Tie
		}
	}
	e.out.Totals = optionMap(e.opts, first)
	e.finish(first, winner, support, decisive)
	e.out.Decided = e.canDecide() && e.sel.remainCount == 0
}

// lowest picks the option to eliminate: the one with the fewest votes, a
// tie going to the tie-break order (and recorded in the round).
func (e *engine) lowest(counts []float64, running []bool, round *Round) int {
	var low []int
	for i, v := range counts {
		if !running[i] {
			continue
		}
		if len(low) == 0 || v < counts[low[0]] {
			low = append(low[:0], i)
		} else if v == counts[low[0]] {
			low = append(low, i)
		}
	}
	out := low[0]
	if len(low) > 1 {
		out, round.Tie = e.breakTie(low, true)
	}
	round.Eliminated = e.opts[out]
	return out
}
