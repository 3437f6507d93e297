package tally

// condorcet counts Schulze or Copeland from the pairwise matrix: d[i][j] is
// the weight of the voters ranking i above j, where a ranked option is
// above every option its ballot leaves unranked, and unranked options are
// level with each other. Building it costs options² per ballot; the
// methods then only look at the matrix.
func (e *engine) condorcet() {
	n := len(e.opts)
	d := make([]float64, n*n)
	first := make([]float64, n)
	ranked := make([]bool, n)
	var unranked []int
	e.each(func(w float64, c *choice) {
		for _, a := range c.idx {
			ranked[a] = true
		}
		unranked = unranked[:0]
		for b, in := range ranked {
			if !in {
				unranked = append(unranked, b)
			}
		}
		for p, a := range c.idx {
			row := d[a*n : a*n+n]
			for _, b := range c.idx[p+1:] {
				row[b] += w
			}
			for _, b := range unranked {
				row[b] += w
			}
			ranked[a] = false
		}
		if len(c.idx) > 0 {
			first[c.idx[0]] += w
			e.support(c.idx[0])
		}
	})
	e.condorcetResult(d, first)
}

// condorcetResult completes a Condorcet count from the pairwise matrix d
// (n×n, row-major) and the first preferences.
func (e *engine) condorcetResult(d, first []float64) {
	n := len(e.opts)
	var scores []float64
	var top []int
	if e.r.Method == CondorcetSchulze {
		scores, top = schulze(d, n)
	} else {
		scores = copeland(d, n)
		top = best(scores, nil)
	}
	winner := e.pickAmong(top)
	// Support is the winner's weakest pairwise result: its share of the
	// voters deciding between it and the option that comes closest.
	var support, decisive float64
	for j := 0; winner >= 0 && j < n; j++ {
		s, t := d[winner*n+j], d[winner*n+j]+d[j*n+winner]
		if j != winner && t > 0 && (decisive == 0 || s*decisive < support*t) {
			support, decisive = s, t
		}
	}
	e.out.Pairwise = make([][]float64, n)
	for i := range n {
		e.out.Pairwise[i] = d[i*n : i*n+n : i*n+n]
	}
	e.out.Totals = optionMap(e.opts, scores)
	e.finish(first, winner, support, decisive)
	e.out.Decided = e.canDecide() && e.sel.remainCount == 0
}

// copeland scores each option 1 per option it beats pairwise and ½ per tie.
func copeland(d []float64, n int) []float64 {
	score := make([]float64, n)
	for i := range n {
		for j := range n {
			switch {
			case i == j:
			case d[i*n+j] > d[j*n+i]:
				score[i]++
			case d[i*n+j] == d[j*n+i]:
				score[i] += 0.5
			}
		}
	}
	return score
}

// schulze computes the strongest paths (winning votes: a defeat's strength
// is the weight of its winners) by a widest-path Floyd–Warshall, options³.
// It scores each option by how many options it beats by path strength and
// returns the winners: the options no other beats that way.
func schulze(d []float64, n int) ([]float64, []int) {
	p := make([]float64, n*n)
	for i := range n {
		for j := range n {
			if i != j && d[i*n+j] > d[j*n+i] {
				p[i*n+j] = d[i*n+j]
			}
		}
	}
	for k := range n {
		for i := range n {
			if i == k {
				continue
			}
			for j := range n {
				if j != i && j != k {
					p[i*n+j] = max(p[i*n+j], min(p[i*n+k], p[k*n+j]))
				}
			}
		}
	}
	score := make([]float64, n)
	beaten := make([]bool, n)
	for i := range n {
		for j := range n {
			if i != j && p[i*n+j] > p[j*n+i] {
				score[i]++
				beaten[j] = true
			}
		}
	}
	var winners []int
	for i := range n {
		if !beaten[i] {
			winners = append(winners, i)
		}
	}
	return score, winners
}
