package tally

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// messyBallots adds to generated ballots what real ones have: changed
// ballots, invalid ones, and voters who are not eligible.
func messyBallots(t *testing.T, r Rules, n int, seed uint64) []Ballot {
	ballots := genBallots(t, r, n, seed)
	rng := rand.New(rand.NewPCG(seed, 7))
	for i := range n / 10 {
		b := ballots[rng.IntN(n)]
		b.Revision, b.Choice = 1, ballots[rng.IntN(n)].Choice // a change
		ballots = append(ballots, b)
		bad := Ballot{Voter: fmt.Sprintf("bad-%d", i), Choice: json.RawMessage(`"nope"`)}
		ballots = append(ballots, bad)
	}
	return ballots
}

// propertyRules are the benchmark rules, and variants with fractional
// weights, an eligible list and changeable ballots.
func propertyRules(n int) []Rules {
	rules := slices.Clone(benchRules)
	for _, r := range benchRules {
		r.AllowChange = true
		r.Weights = map[string]float64{}
		for i := range n {
			r.Weights[fmt.Sprintf("voter-%07d", i)] = float64(i%7) / 3
		}
		r.Eligible = []string{"bad-1", "someone-else"}
		for i := range n * 9 / 10 {
			r.Eligible = append(r.Eligible, fmt.Sprintf("voter-%07d", i))
		}
		rules = append(rules, r)
	}
	return rules
}

// TestOrderIndependence checks that shuffling the ballots changes nothing
// in the outcome, to the bit, users lists included.
func TestOrderIndependence(t *testing.T) {
	const n = 400
	for k, r := range propertyRules(n) {
		t.Run(fmt.Sprintf("%s/%d", r.Method, k), func(t *testing.T) {
			ballots := messyBallots(t, r, n, uint64(k))
			out, err := Tally(r, ballots)
			require.NoError(t, err)
			require.Positive(t, out.Participation.Voted)
			want := outcomeJSON(t, out)
			rng := rand.New(rand.NewPCG(uint64(k), 99))
			for range 5 {
				rng.Shuffle(len(ballots), func(i, j int) { ballots[i], ballots[j] = ballots[j], ballots[i] })
				out, err := Tally(r, ballots)
				require.NoError(t, err)
				require.Equal(t, want, outcomeJSON(t, out))
			}
		})
	}
}

// randomRankings makes small random elections, where ties and cycles
// are common.
func randomRankings(rng *rand.Rand) (Rules, []Ballot) {
	opts := []string{"a", "b", "c", "d", "e", "f"}[:3+rng.IntN(4)]
	ballots := make([]Ballot, 3+rng.IntN(25))
	for i := range ballots {
		perm := rng.Perm(len(opts))[:rng.IntN(len(opts)+1)]
		var rank []string
		for _, p := range perm {
			rank = append(rank, opts[p])
		}
		raw, _ := json.Marshal(rank)
		if rank == nil {
			raw = []byte(`[]`)
		}
		ballots[i] = Ballot{Voter: fmt.Sprint(i), Choice: raw}
	}
	return Rules{Options: opts}, ballots
}

// TestCondorcetWinnerWins checks that an option beating every other one
// head to head, counted here independently, wins under both Condorcet
// methods.
func TestCondorcetWinnerWins(t *testing.T) {
	rng := rand.New(rand.NewPCG(2026, 1))
	found := 0
	for range 500 {
		r, ballots := randomRankings(rng)
		n := len(r.Options)
		beats := func(a, b int) int { // voters ranking a above b
			count := 0
			for _, bl := range ballots {
				var rank []string
				require.NoError(t, json.Unmarshal(bl.Choice, &rank))
				ia, ib := slices.Index(rank, r.Options[a]), slices.Index(rank, r.Options[b])
				if ia >= 0 && (ib < 0 || ia < ib) {
					count++
				}
			}
			return count
		}
		winner := ""
		for a := range n {
			all := true
			for b := range n {
				all = all && (a == b || beats(a, b) > beats(b, a))
			}
			if all {
				winner = r.Options[a]
			}
		}
		if winner == "" {
			continue
		}
		found++
		for _, m := range []Method{CondorcetSchulze, CondorcetCopeland} {
			r.Method = m
			out, err := Tally(r, ballots)
			require.NoError(t, err)
			require.Equal(t, []string{winner}, out.Winners, "%s", m)
			require.Nil(t, out.Tie)
		}
	}
	require.Greater(t, found, 100, "enough elections had a Condorcet winner")
}

// TestTotalsCountBallots checks that, with weights 1, single-choice totals
// and first-round runoff totals (with exhausted ballots) add up to the
// ballots counted.
func TestTotalsCountBallots(t *testing.T) {
	for seed := range uint64(20) {
		for _, r := range []Rules{benchRules[0], benchRules[2]} {
			out, err := Tally(r, messyBallots(t, r, 200, seed))
			require.NoError(t, err)
			var sum float64
			for _, v := range out.Totals {
				sum += v
			}
			if r.Method == RankedChoice {
				sum += out.Rounds[0].Exhausted
			}
			require.Equal(t, float64(out.Participation.Voted), sum, "%s seed %d", r.Method, seed)
			require.Equal(t, 200, out.Participation.Voted, "one ballot per voter")
		}
	}
}
