package tally

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestDecided checks early-close decisions: whether the eligible voters
// who have not voted could still change the result.
func TestDecided(t *testing.T) {
	five := voters(5) // v0…v4
	single := Rules{Method: SingleChoice, Options: abc, Eligible: five}
	with := func(r Rules, f func(*Rules)) Rules { f(&r); return r }
	tests := []struct {
		name    string
		rules   Rules
		ballots []Ballot
		decided bool
	}{
		{"lead of 2 with 1 voter left", single, join(group("v", 3, `"a"`), group("v3", 1, `"b"`)), true},
		{"lead of 1 with 2 voters left", single, join(group("v", 2, `"a"`), group("v2", 1, `"b"`)), false},
		{"lead equal to the weight left could tie", with(single, func(r *Rules) { r.Weights = map[string]float64{"v4": 2} }),
			join(group("v", 3, `"a"`), group("v3", 1, `"b"`)), false},
		{"everyone voted", single, join(group("v", 3, `"a"`), []Ballot{{Voter: "v3", Choice: []byte(`"b"`)}, {Voter: "v4", Choice: []byte(`"b"`)}}), true},
		{"anyone may vote: never", Rules{Method: SingleChoice, Options: abc}, group("v", 5, `"a"`), false},
		{"ballots may change: never", with(single, func(r *Rules) { r.AllowChange = true }), group("v", 5, `"a"`), false},
		{"quorum not yet met", with(single, func(r *Rules) { r.Quorum.Count = 5 }), join(group("v", 4, `"a"`)), false},
		{"winner not settled", with(single, func(r *Rules) { r.Threshold.Share = 0.9 }),
			join(group("v", 2, `"a"`), []Ballot{{Voter: "v2", Choice: []byte(`"b"`)}}), false},
		{"passed whatever the last voter does", with(single, func(r *Rules) { r.Threshold.Share = 0.6 }),
			group("v", 4, `"a"`), true},
		{"could fall below the threshold", with(single, func(r *Rules) { r.Threshold.Share = 0.85 }),
			group("v", 4, `"a"`), false},
		{"score lead beyond the range left", Rules{Method: Score, Options: abc, ScoreMax: 5, Eligible: five},
			group("v", 4, `{"a":5,"b":2}`), true},
		{"score lead within the range left", Rules{Method: Score, Options: abc, ScoreMax: 5, Eligible: five},
			group("v", 4, `{"a":5,"b":4}`), false},
		{"consent blocked", Rules{Method: Consent, Eligible: five}, group("v", 1, `"block"`), true},
		{"consent passing could still be blocked", Rules{Method: Consent, Eligible: five}, group("v", 4, `"agree"`), false},
		{"consent failing for good", Rules{Method: Consent, Eligible: five, Threshold: Threshold{Share: 0.9}},
			join(group("v", 3, `"agree"`), []Ballot{{Voter: "v3", Choice: []byte(`"disagree"`)}}), true},
		{"ranked: only when everyone voted", Rules{Method: RankedChoice, Options: abc, Eligible: five}, group("v", 4, `["a"]`), false},
		{"ranked: everyone voted", Rules{Method: RankedChoice, Options: abc, Eligible: five}, group("v", 5, `["a"]`), true},
		{"condorcet: an invalid ballot leaves its voter to vote", Rules{Method: CondorcetCopeland, Options: abc, Eligible: five},
			join(group("v", 4, `["a"]`), []Ballot{{Voter: "v4", Choice: []byte(`["a","a"]`)}}), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := Tally(tt.rules, tt.ballots)
			require.NoError(t, err)
			require.Equal(t, tt.decided, out.Decided, "%s", outcomeJSON(t, out))
		})
	}
}
