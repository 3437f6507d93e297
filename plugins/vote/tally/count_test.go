package tally

import (
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// countRules are the benchmark rules, and variants with whole weights, an
// eligible list, a quorum and a threshold, anonymity and a tie seed: every
// input the running count must treat as Tally does.
func countRules(n int) []Rules {
	rules := slices.Clone(benchRules)
	for i, r := range benchRules {
		r.AllowChange = true
		r.Weights = map[string]float64{}
		for v := range n {
			r.Weights[fmt.Sprintf("voter-%07d", v)] = float64(v % 4) // 0 to 3, zero weights included
		}
		r.Eligible = []string{"someone-else"}
		for v := range n * 9 / 10 {
			r.Eligible = append(r.Eligible, fmt.Sprintf("voter-%07d", v))
		}
		r.Quorum = Quorum{Count: n / 3}
		r.Threshold = Threshold{Share: 0.3}
		r.Anonymous = i%3 == 0
		r.TieSeed = "seed"
		rules = append(rules, r)
	}
	return rules
}

// TestCounterMatchesTally is the property the plugin relies on: after any
// sequence of new, changed and invalid ballots, the running count's outcome
// is Tally's for the ballots as they stand (JSON to the byte: totals, users
// lists and their truncation, decided), and so is a count made again from
// those ballots. A stale count is made again, as the plugin does.
func TestCounterMatchesTally(t *testing.T) {
	const n = 300 // voters: enough for users lists past UsersLimit
	for k, r := range countRules(n) {
		t.Run(fmt.Sprintf("%s/%d", r.Method, k), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(k), 5))
			pool := genBallots(t, r, n, uint64(k)) // choices to draw from
			ballots := map[string]Ballot{}
			counter, err := NewCounter(r, Count{})
			require.NoError(t, err)
			stale := 0
			for step := range 3 * n {
				voter := fmt.Sprintf("voter-%07d", rng.IntN(n+n/10)) // some not eligible
				b := Ballot{Voter: voter, Choice: pool[rng.IntN(n)].Choice}
				if rng.IntN(20) == 0 {
					b.Choice = json.RawMessage(`"nope"`)
				}
				if old, ok := ballots[voter]; ok {
					counter.Remove(old)
					b.Revision = old.Revision + 1
				}
				counter.Add(b)
				ballots[voter] = b
				if counter.Stale() {
					stale++
					c, err := CountBallots(r, slices.Collect(maps.Values(ballots)))
					require.NoError(t, err)
					require.False(t, c.Stale)
					counter, err = NewCounter(r, roundTrip(t, c))
					require.NoError(t, err)
				}
				if step%37 != 0 && step != 3*n-1 {
					continue
				}
				all := slices.Collect(maps.Values(ballots))
				want, err := Tally(r, all)
				require.NoError(t, err)
				got, ok := counter.Outcome()
				if r.Method == RankedChoice {
					require.False(t, ok)
					require.Equal(t, want.Participation.Voted, counter.Count().Voted)
					require.Equal(t, want.Totals, optionMap(r.options(), counter.Count().Pos), "first preferences")
				} else {
					require.True(t, ok)
					require.Equal(t, outcomeJSON(t, want), outcomeJSON(t, got), "step %d", step)
				}
				fresh, err := CountBallots(r, all)
				require.NoError(t, err)
				require.Equal(t, fresh, roundTrip(t, counter.Count()), "a count made again from the ballots")
				// Closing early treats the ballots as final.
				final := r
				final.AllowChange = false
				wantFinal, err := Tally(final, all)
				require.NoError(t, err)
				require.Equal(t, wantFinal.Decided, counter.DecidedIfFinal())
				// The count survives storage as JSON.
				counter, err = NewCounter(r, roundTrip(t, counter.Count()))
				require.NoError(t, err)
			}
			if !r.Anonymous && r.Method == Approval {
				require.Positive(t, stale, "some changes should have emptied a full users list")
			}
		})
	}
}

func roundTrip(t *testing.T, c Count) Count {
	t.Helper()
	raw, err := json.Marshal(c)
	require.NoError(t, err)
	var back Count
	require.NoError(t, json.Unmarshal(raw, &back))
	return back
}

// TestCounterFractionalWeights: with fractional weights the running sums
// are taken in casting order, so they may differ from Tally's in the last
// bits, and no more.
func TestCounterFractionalWeights(t *testing.T) {
	const n = 200
	for k, r := range propertyRules(n)[len(benchRules):] {
		t.Run(string(r.Method), func(t *testing.T) {
			ballots := genBallots(t, r, n, uint64(k))
			counter, err := NewCounter(r, Count{})
			require.NoError(t, err)
			for _, b := range ballots {
				counter.Add(b)
			}
			want, err := Tally(r, ballots)
			require.NoError(t, err)
			got, ok := counter.Outcome()
			if !ok {
				return
			}
			require.Equal(t, want.Winners, got.Winners)
			for o, v := range want.Totals {
				require.InDelta(t, v, got.Totals[o], 1e-9*max(1, v), o)
			}
		})
	}
}

// TestUsersListsBounded: an outcome names at most UsersLimit voters per
// option, the first by voter id, and counts the others; a record made
// before the limit, naming them all, still verifies.
func TestUsersListsBounded(t *testing.T) {
	r := Rules{Method: Approval, Options: []string{"x", "y"}}
	ballots := join(group("a", 150, `["x"]`), group("b", 3, `["x","y"]`))
	out, err := Tally(r, ballots)
	require.NoError(t, err)
	x := out.Votes["x"]
	require.Equal(t, 153.0, x.Count)
	require.Len(t, x.Users, UsersLimit)
	require.Equal(t, 53, x.UsersTruncated)
	require.Equal(t, "a0", x.Users[0])
	require.True(t, slices.IsSorted(x.Users))
	require.Equal(t, VoteSummary{Count: 3, Users: []string{"b0", "b1", "b2"}}, out.Votes["y"])
	raw := outcomeJSON(t, out)
	require.Contains(t, raw, `"users_truncated":53`)
	require.NotContains(t, raw, `"a99"`) // a0…a98 sort before it, with a1, a10, a100…

	rec, err := NewRecord(r, ballots)
	require.NoError(t, err)
	require.NoError(t, Verify(rec))
	full, err := tally(r, ballots, 1<<30)
	require.NoError(t, err)
	require.Len(t, full.Votes["x"].Users, 153)
	old := rec
	old.Outcome = full
	require.NoError(t, Verify(old), "a record listing every voter still verifies")
	old.Outcome.Votes["x"] = VoteSummary{Count: 153, Users: full.Votes["x"].Users[1:]}
	require.ErrorIs(t, Verify(old), ErrOutcomeChanged)
}

// TestLeanCounterMatchesTally: a running count kept with Lean rules (each
// ballot counted by a Counter of the rules without their lists, given the
// electorate and the voter's weight, as the plugin counts a cast) has
// Tally's outcome under the full rules, quorum shares, participation and
// decided included, when only eligible voters cast; and Validate takes the
// electorate's size from the lean rules.
func TestLeanCounterMatchesTally(t *testing.T) {
	const n = 300
	for k, r := range countRules(n) {
		if len(r.Eligible) == 0 {
			continue // anyone may vote: no list to leave out
		}
		r.Quorum = Quorum{Count: n / 3, Share: 0.2}
		t.Run(fmt.Sprintf("%s/%d", r.Method, k), func(t *testing.T) {
			el := r.Electorate()
			require.Equal(t, len(r.Eligible), el.Eligible)
			rng := rand.New(rand.NewPCG(uint64(k), 7))
			pool := genBallots(t, r, n, uint64(k))
			ballots := map[string]Ballot{}
			var count Count
			for step := range 2 * n {
				voter := r.Eligible[rng.IntN(len(r.Eligible))]
				lean := r.Lean(el, voter, r.weight(voter))
				require.NoError(t, lean.Validate())
				_, err := lean.CheckBallot(voter, pool[rng.IntN(n)].Choice)
				require.NoError(t, err)
				counter, err := NewCounter(lean, count)
				require.NoError(t, err)
				b := Ballot{Voter: voter, Choice: pool[rng.IntN(n)].Choice}
				if old, ok := ballots[voter]; ok {
					counter.Remove(old)
				}
				counter.Add(b)
				ballots[voter] = b
				if counter.Stale() {
					c, err := CountBallots(r, slices.Collect(maps.Values(ballots)))
					require.NoError(t, err)
					counter, err = NewCounter(r, c)
					require.NoError(t, err)
				}
				count = roundTrip(t, counter.Count())
				if step%41 != 0 && step != 2*n-1 {
					continue
				}
				all := slices.Collect(maps.Values(ballots))
				want, err := Tally(r, all)
				require.NoError(t, err)
				k, err := NewCounter(r.Lean(el, "", 1), count)
				require.NoError(t, err)
				if got, ok := k.Outcome(); ok {
					require.Equal(t, outcomeJSON(t, want), outcomeJSON(t, got), "step %d", step)
				}
				final := r
				final.AllowChange = false
				wantFinal, err := Tally(final, all)
				require.NoError(t, err)
				require.Equal(t, wantFinal.Decided, k.DecidedIfFinal(), "step %d", step)
			}
		})
	}
	r := Rules{Method: Approval, Options: []string{"a", "b"}, Eligible: []string{"x", "y"}, Quorum: Quorum{Count: 2, Share: 0.5}}
	require.NoError(t, r.Lean(r.Electorate(), "x", 1).Validate())
	require.ErrorContains(t, r.Lean(Electorate{Eligible: 1, Weight: 1}, "x", 1).Validate(), "can never be met by 1 eligible voters")
	require.ErrorContains(t, r.Lean(Electorate{}, "x", 1).Validate(), "a quorum share needs a list of eligible voters")
}
