package tally

import "math"

// additive counts the methods where a ballot adds to each option
// independently (single choice, approval, score, quadratic, weighted): one
// pass over the ballots.
func (e *engine) additive() {
	r, n := e.r, len(e.opts)
	pos := make([]float64, n) // support; for score, above score_min
	neg := make([]float64, n) // quadratic votes against
	var decisive, weight float64
	lo := float64(r.ScoreMin)
	e.each(func(w float64, c *choice) {
		weight += w
		switch r.Method {
		case SingleChoice:
			pos[c.idx[0]] += w
			decisive += w
			e.support(c.idx[0])
		case Approval:
			for _, i := range c.idx {
				pos[i] += w
				e.support(i)
			}
			if len(c.idx) > 0 {
				decisive += w
			}
		default:
			for j, i := range c.idx {
				v := c.val[j]
				if r.Method == Score {
					v -= lo
				}
				switch {
				case v > 0:
					pos[i] += v * w
					decisive += v * w
					e.support(i)
				case v < 0:
					neg[i] -= v * w
					e.support(i)
				}
			}
		}
	})
	e.additiveResult(pos, neg, decisive, weight)
}

// additiveResult completes an additive count from its sums: support per
// option (pos), votes against (neg, quadratic), the decisive support and
// the weight of the counted ballots.
func (e *engine) additiveResult(pos, neg []float64, decisive, weight float64) {
	r, n := e.r, len(e.opts)
	lo := float64(r.ScoreMin)
	totals := make([]float64, n)
	for i := range totals {
		totals[i] = pos[i] - neg[i]
		if r.Method == Score {
			totals[i] = pos[i] + lo*weight
		}
	}
	winner := e.pickWinner(totals)
	var support, unit float64
	if winner >= 0 {
		support = pos[winner]
	}
	gap := 1.0 // how far one unit of remaining weight can move one option past another
	switch r.Method {
	case Score:
		unit = float64(r.ScoreMax - r.ScoreMin)
		decisive, gap = unit*weight, unit
	case Quadratic:
		if winner >= 0 {
			decisive = pos[winner] + neg[winner]
		}
		unit, gap = math.Floor(math.Sqrt(float64(r.Credits))), math.Floor(math.Sqrt(2*float64(r.Credits)))
	case Weighted:
		unit, gap = float64(r.Points), float64(r.Points)
	default:
		unit = 1
	}
	e.out.Totals = optionMap(e.opts, totals)
	e.finish(totals, winner, support, decisive)
	e.out.Decided = e.additiveDecided(totals, winner, gap, support, decisive, unit)
}

// additiveDecided reports whether the remaining voters (weight R) can no
// longer change the outcome. The winner holds if its lead over every other
// option exceeds R × gap, the most R can move one option past another; the
// quorum holds if it is met or out of reach; then Passed holds if it is the
// same when all of R supports the winner and when all of R goes elsewhere,
// the two extremes of a share that moves monotonically with each voter.
func (e *engine) additiveDecided(totals []float64, winner int, gap, support, decisive, unit float64) bool {
	if !e.canDecide() || !e.quorumFixed() {
		return false
	}
	R := e.sel.remainWeight
	if winner < 0 {
		return e.sel.remainCount == 0
	}
	for i, t := range totals {
		if i != winner && totals[winner]-t <= R*gap && R > 0 {
			return false
		}
	}
	if e.out.Passed == nil {
		return true
	}
	q := e.quorumAt(e.voted + e.sel.remainCount)
	all := q && e.meets(support+R*unit, decisive+R*unit)
	none := q && e.meets(support, decisive+R*unit)
	// Decided when the extremes agree with each other and with the outcome.
	return all == none && *e.out.Passed == all
}

// consent counts agree, abstain, disagree and block. A block by any voter
// of positive weight fails the proposal; otherwise it passes when the
// quorum is met and agree / (agree + disagree) meets the threshold.
func (e *engine) consent() {
	const block = 3
	totals := make([]float64, len(e.opts))
	blocked := false
	e.each(func(w float64, c *choice) {
		s := c.idx[0]
		totals[s] += w
		blocked = blocked || (s == block && w > 0)
		e.support(s)
	})
	e.consentResult(totals, blocked)
}

// consentResult completes a consent count from the stances' totals.
func (e *engine) consentResult(totals []float64, blocked bool) {
	const agree, disagree = 0, 2
	e.out.Totals = optionMap(e.opts, totals)
	support, decisive := totals[agree], totals[agree]+totals[disagree]
	e.finish(totals, -1, support, decisive)
	passed := e.out.QuorumMet && !blocked && e.meets(support, decisive)
	e.out.Passed = &passed
	e.out.Decided = e.consentDecided(blocked, support, decisive)
}

// consentDecided: a block decides (fails) for good; otherwise any
// remaining weight could block, and all of it agreeing is the one way a
// failing proposal could pass.
func (e *engine) consentDecided(blocked bool, support, decisive float64) bool {
	if !e.canDecide() || !e.quorumFixed() {
		return false
	}
	R := e.sel.remainWeight
	if blocked || R == 0 {
		return true
	}
	if *e.out.Passed {
		return false
	}
	return !(e.quorumAt(e.voted+e.sel.remainCount) && e.meets(support+R, decisive+R))
}
