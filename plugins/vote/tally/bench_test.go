package tally

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// benchOptions are the ten options of the benchmarks.
var benchOptions = []string{"alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliett"}

// benchRules are the rules per method, as a community would set them.
var benchRules = []Rules{
	{Method: SingleChoice, Options: benchOptions},
	{Method: Approval, Options: benchOptions},
	{Method: RankedChoice, Options: benchOptions},
	{Method: CondorcetSchulze, Options: benchOptions},
	{Method: CondorcetCopeland, Options: benchOptions},
	{Method: Score, Options: benchOptions, ScoreMin: 0, ScoreMax: 5},
	{Method: Quadratic, Options: benchOptions, Credits: 100},
	{Method: Weighted, Options: benchOptions, Points: 100},
	{Method: Consent},
}

// genBallots makes n valid ballots deterministically (a fixed seed), from
// voters in shuffled order, as CheckBallot would store them. Preferences
// lean towards the first options so that rounds and ties look like votes.
func genBallots(t testing.TB, r Rules, n int, seed uint64) []Ballot {
	rng := rand.New(rand.NewPCG(seed, 42))
	check := r // ballots from voters not eligible are made too, for Tally to reject
	check.Eligible, check.Quorum = nil, Quorum{}
	opts := r.options()
	k := len(opts)
	ballots := make([]Ballot, n)
	ids := rng.Perm(n)
	pref := func() []string { // a ranking: options by a noisy preference
		keys := make([]float64, k)
		order := make([]int, k)
		for i := range k {
			keys[i], order[i] = float64(i)+rng.NormFloat64()*3, i
		}
		slices.SortFunc(order, func(a, b int) int { return cmp.Compare(keys[a], keys[b]) })
		out := make([]string, k)
		for i, o := range order {
			out[i] = opts[o]
		}
		return out
	}
	for b := range ballots {
		var v any
		switch r.Method {
		case SingleChoice, Consent:
			v = pref()[0]
		case Approval:
			v = pref()[:1+rng.IntN(k/2)]
		case RankedChoice:
			v = pref()[:1+rng.IntN(k)]
		case CondorcetSchulze, CondorcetCopeland:
			v = pref()
		case Score, Quadratic, Weighted:
			m := map[string]int{}
			p := pref()
			switch r.Method {
			case Score:
				for i, o := range p {
					m[o] = max(r.ScoreMax-i, r.ScoreMin)
				}
			case Quadratic:
				m[p[0]], m[p[1]], m[p[k-1]] = 7, 5, -4
			case Weighted:
				m[p[0]], m[p[1]], m[p[2]] = 50, 30, 20
			}
			v = m
		}
		raw, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		voter := fmt.Sprintf("voter-%07d", ids[b])
		norm, err := check.CheckBallot(voter, raw)
		if err != nil {
			t.Fatal(err)
		}
		ballots[b] = Ballot{Voter: voter, Choice: norm}
	}
	return ballots
}

// BenchmarkTally counts a million ballots with ten options per method.
func BenchmarkTally(b *testing.B) {
	for _, r := range benchRules {
		b.Run(string(r.Method), func(b *testing.B) {
			ballots := genBallots(b, r, 1_000_000, 1)
			for b.Loop() {
				out, err := Tally(r, ballots)
				if err != nil || out.Participation.Voted != len(ballots) {
					b.Fatal(err, out.Participation)
				}
			}
		})
	}
}

// BenchmarkTallySorted counts a million single-choice ballots, one per
// voter, as the vote plugin stores them (sorted by voter id, which lets
// Tally skip its sorts: see selectBallots), and the same ballots shuffled,
// which take the canonical path.
func BenchmarkTallySorted(b *testing.B) {
	r := benchRules[0]
	sorted := genBallots(b, r, 1_000_000, 1)
	slices.SortFunc(sorted, func(x, y Ballot) int { return strings.Compare(x.Voter, y.Voter) })
	shuffled := slices.Clone(sorted)
	rand.New(rand.NewPCG(3, 4)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	for _, c := range []struct {
		name    string
		ballots []Ballot
	}{{"sorted", sorted}, {"shuffled", shuffled}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				out, err := Tally(r, c.ballots)
				if err != nil || out.Participation.Voted != len(c.ballots) {
					b.Fatal(err, out.Participation)
				}
			}
		})
	}
}
