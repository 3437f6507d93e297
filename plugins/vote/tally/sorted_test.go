package tally

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// sortedCase makes one vote's ballots, one per voter, for TestSortedBallots:
// voter ids of several shapes, so that byte order, hash order and numeric
// order all differ; some invalid ballots; with eligible set, voters who are
// not eligible and eligible voters who do not vote, some sorting before,
// between and after every voter. weights is "none", "whole", "fractional"
// or "heavy" (whole, up to a billion).
func sortedCase(t *testing.T, r Rules, seed uint64, eligible bool, weights string) (Rules, []Ballot) {
	rng := rand.New(rand.NewPCG(seed, 11))
	n := 150 + int(seed)*60
	id := func(i int) string {
		return fmt.Sprintf([]string{"v%d", "V%d", "v%d-x", "é%d", "m%03d", "z%d"}[i%6], i)
	}
	ballots := genBallots(t, r, n, seed)
	for i := range ballots {
		ballots[i].Voter = id(i)
		ballots[i].Revision = i % 3
		if seed%2 == 1 {
			ballots[i].CastAt = time.Date(2026, 5, 1, 0, 0, i, 0, time.UTC)
		}
		switch {
		case i%17 == 3:
			ballots[i].Choice = json.RawMessage(`"nope"`)
		case i%23 == 5:
			ballots[i].Choice = json.RawMessage(`{"zzz":1}`)
		}
	}
	// Eligible voters who do not vote: with ids like the voters', and
	// ones sorting before ("0…") and after ("ü…") everyone who votes.
	var absent []string
	for i := range []int{0, 3, 40, 200}[seed%4] {
		absent = append(absent, []string{id(n + i), "0-early-" + fmt.Sprint(i), "ü-late-" + fmt.Sprint(i)}[i%3])
	}
	if eligible {
		r.Eligible = nil
		for i := range ballots {
			if i%5 != 0 { // every fifth voter is not eligible
				r.Eligible = append(r.Eligible, ballots[i].Voter)
			}
		}
		r.Eligible = append(r.Eligible, absent...)
		if seed%2 == 0 {
			rng.Shuffle(len(r.Eligible), func(i, j int) { r.Eligible[i], r.Eligible[j] = r.Eligible[j], r.Eligible[i] })
		} else {
			slices.Sort(r.Eligible)
		}
		if seed%2 == 1 {
			r.Quorum = Quorum{Count: n / 2}
		}
	}
	if seed >= 2 {
		r.Threshold = Threshold{Share: 0.3}
	}
	if weights != "none" {
		r.Weights = map[string]float64{"nobody": 7}
		var everyone []string
		for _, b := range ballots {
			everyone = append(everyone, b.Voter)
		}
		for i, v := range append(everyone, absent...) {
			switch weights {
			case "whole":
				r.Weights[v] = float64(i % 4) // 0 too: a consent block of weight 0 does not count
			case "fractional":
				r.Weights[v] = float64(i%7) / 3
			case "heavy":
				r.Weights[v] = maxMagnitude - float64(i%3)
			}
		}
	}
	return r, ballots
}

// TestSortedBallots checks the fast path for ballots as the vote plugin
// stores them, one per voter sorted by voter id (selectSorted): for every
// method, with and without an eligible list, weights, anonymity and
// changeable ballots, the outcome (to the bit, users lists and Decided
// included) and the digest are those of the same ballots shuffled, which
// take the canonical path.
func TestSortedBallots(t *testing.T) {
	rules := slices.Clone(benchRules)
	// With heavy weights, this one's sums could pass 2^53: never the fast path.
	rules = append(rules, Rules{Method: Score, Options: benchOptions, ScoreMin: -maxMagnitude, ScoreMax: maxMagnitude})
	decided := map[bool]int{}
	for k, base := range rules {
		for _, eligible := range []bool{false, true} {
			for _, weights := range []string{"none", "whole", "fractional", "heavy"} {
				for _, anonymous := range []bool{false, true} {
					for _, change := range []bool{false, true} {
						name := fmt.Sprintf("%s/%d/eligible=%v/weights=%s/anonymous=%v/change=%v", base.Method, k, eligible, weights, anonymous, change)
						t.Run(name, func(t *testing.T) {
							for seed := range uint64(4) {
								r, ballots := sortedCase(t, base, seed, eligible, weights)
								r.Anonymous, r.AllowChange = anonymous, change
								sorted := slices.Clone(ballots)
								slices.SortFunc(sorted, func(a, b Ballot) int { return strings.Compare(a.Voter, b.Voter) })
								fast := weights != "fractional" && (weights != "heavy" || k < len(benchRules))
								require.Equal(t, fast, selectBallots(&r, sorted, maxValue(&r)).voterOrder, "fast path taken")

								out, err := Tally(r, sorted)
								require.NoError(t, err)
								require.Positive(t, out.Rejected)
								want, digest := outcomeJSON(t, out), Digest(r, sorted)
								if r.eligibleCount() > 0 && !change {
									decided[out.Decided]++
								}
								rng := rand.New(rand.NewPCG(seed, 5))
								for range 3 {
									shuffled := slices.Clone(sorted)
									rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
									out, err := Tally(r, shuffled)
									require.NoError(t, err)
									require.Equal(t, want, outcomeJSON(t, out), "seed %d", seed)
									require.Equal(t, digest, Digest(r, shuffled), "seed %d", seed)
								}

								// A voter who changed their ballot has two: sorted, they
								// are not one each, so the canonical path picks one.
								m := len(sorted) / 2
								c := sorted[m]
								c.Revision, c.Choice = c.Revision+1, sorted[0].Choice
								changed := slices.Insert(slices.Clone(sorted), m+1, c)
								require.False(t, selectBallots(&r, changed, maxValue(&r)).voterOrder, "fast path taken with a changed ballot")
								out, err = Tally(r, changed)
								require.NoError(t, err)
								want = outcomeJSON(t, out)
								rng.Shuffle(len(changed), func(i, j int) { changed[i], changed[j] = changed[j], changed[i] })
								out, err = Tally(r, changed)
								require.NoError(t, err)
								require.Equal(t, want, outcomeJSON(t, out), "seed %d, a changed ballot", seed)
							}
						})
					}
				}
			}
		}
	}
	// Decided reads the count of eligible voters yet to vote, which the
	// fast path finds its own way: the cases must show it both ways.
	require.Greater(t, decided[true], 20, "cases decided early")
	require.Greater(t, decided[false], 20, "cases not decided early")
}
