package tally

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var abc = []string{"a", "b", "c"}

// seededFirst is which of two options the seeded tie-break picks, computed
// here from the documented rule rather than by the code under test.
func seededFirst(seed, x, y string) string {
	hx, hy := sha256.Sum256([]byte(seed+"\x00"+x)), sha256.Sum256([]byte(seed+"\x00"+y))
	if bytes.Compare(hx[:], hy[:]) < 0 {
		return x
	}
	return y
}

// TestAdditive checks hand-counted examples of the methods that add up.
func TestAdditive(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	changed := []Ballot{
		{Voter: "x", Choice: json.RawMessage(`"a"`), CastAt: t0},
		{Voter: "x", Choice: json.RawMessage(`"c"`), Revision: 1, CastAt: t0.Add(time.Hour)},
		{Voter: "y", Choice: json.RawMessage(`"b"`)},
	}
	single := Rules{Method: SingleChoice, Options: abc}
	with := func(f func(*Rules)) Rules { r := single; f(&r); return r }
	tests := []struct {
		name    string
		rules   Rules
		ballots []Ballot
		want    want
	}{
		{"single-choice plurality", single, join(group("a", 3, `"a"`), group("b", 2, `"b"`), group("c", 1, `"c"`)),
			want{winners: []string{"a"}, totals: map[string]float64{"a": 3, "b": 2, "c": 1}, support: 0.5, voted: 6}},
		{"single-choice no ballots", single, nil, want{totals: map[string]float64{"a": 0, "b": 0, "c": 0}}},
		{"single-choice tie goes to the first option listed", single, join(group("b", 2, `"b"`), group("c", 2, `"c"`), group("a", 1, `"a"`)),
			want{winners: []string{"b"}, tie: "b"}},
		{"single-choice tie by seeded hash", with(func(r *Rules) { r.TieSeed = "process-42" }),
			join(group("b", 2, `"b"`), group("c", 2, `"c"`), group("a", 1, `"a"`)),
			want{winners: []string{seededFirst("process-42", "b", "c")}, tie: seededFirst("process-42", "b", "c")}},
		{"single-choice weights multiply", with(func(r *Rules) { r.Weights = map[string]float64{"big": 3} }),
			join(group("a", 2, `"a"`), []Ballot{{Voter: "big", Choice: json.RawMessage(`"c"`)}}),
			want{winners: []string{"c"}, totals: map[string]float64{"a": 2, "b": 0, "c": 3}, support: 0.6}},
		{"single-choice threshold met", with(func(r *Rules) { r.Threshold = Threshold{Share: 0.6} }),
			join(group("a", 3, `"a"`), group("b", 2, `"b"`)), want{winners: []string{"a"}, passed: ptr(true), support: 0.6}},
		{"single-choice strict threshold not met", with(func(r *Rules) { r.Threshold = Threshold{Share: 0.6, Strict: true} }),
			join(group("a", 3, `"a"`), group("b", 2, `"b"`)), want{winners: []string{"a"}, passed: ptr(false)}},
		{"single-choice quorum count not met fails", with(func(r *Rules) { r.Quorum.Count = 10; r.Threshold.Share = 0.5 }),
			join(group("a", 5, `"a"`), group("b", 1, `"b"`)), want{winners: []string{"a"}, passed: ptr(false), quorum: ptr(false)}},
		{"single-choice quorum share met exactly", with(func(r *Rules) { r.Eligible = voters(10); r.Quorum.Share = 0.3 }),
			group("v", 3, `"a"`), want{winners: []string{"a"}, quorum: ptr(true), decided: ptr(false)}},
		{"single-choice quorum share not met", with(func(r *Rules) { r.Eligible = voters(10); r.Quorum.Share = 0.31 }),
			group("v", 3, `"a"`), want{winners: []string{"a"}, quorum: ptr(false), decided: ptr(false)}},
		{"single-choice ineligible and invalid ballots rejected", with(func(r *Rules) { r.Eligible = []string{"v0", "v1", "v2"} }),
			join(group("v", 2, `"a"`), []Ballot{{Voter: "intruder", Choice: json.RawMessage(`"b"`)}, {Voter: "v2", Choice: json.RawMessage(`"zzz"`)}}),
			want{winners: []string{"a"}, totals: map[string]float64{"a": 2, "b": 0, "c": 0}, voted: 2, rejected: 2}},
		{"single-choice change allowed: latest revision counts", with(func(r *Rules) { r.AllowChange = true }), changed,
			want{winners: []string{"b"}, totals: map[string]float64{"a": 0, "b": 1, "c": 1}, tie: "b"}},
		{"single-choice change not allowed: first ballot counts", single, changed,
			want{winners: []string{"a"}, totals: map[string]float64{"a": 1, "b": 1, "c": 0}, tie: "a"}},
		{"approval", Rules{Method: Approval, Options: abc},
			join(group("ab", 2, `["a","b"]`), group("b", 1, `["b"]`), group("c", 1, `["c"]`), group("none", 1, `[]`)),
			want{winners: []string{"b"}, totals: map[string]float64{"a": 2, "b": 3, "c": 1}, support: 0.75, voted: 5}},
		{"score", Rules{Method: Score, Options: abc, ScoreMax: 5},
			join(group("x", 1, `{"a":5,"b":3}`), group("y", 1, `{"a":1,"b":4,"c":5}`), group("z", 1, `{"b":5}`)),
			want{winners: []string{"b"}, totals: map[string]float64{"a": 6, "b": 12, "c": 5}, support: 0.8}},
		{"score unscored options get score_min, tie", Rules{Method: Score, Options: abc, ScoreMin: 1, ScoreMax: 5},
			join(group("x", 1, `{"a":5}`), group("y", 1, `{"b":5}`), group("z", 1, `{"a":2,"b":2}`)),
			want{winners: []string{"a"}, totals: map[string]float64{"a": 8, "b": 8, "c": 3}, tie: "a", support: 5.0 / 12}},
		{"quadratic", Rules{Method: Quadratic, Options: abc, Credits: 10},
			join(group("x", 1, `{"a":3,"b":-1}`), group("y", 1, `{"b":2,"c":2}`), group("z", 1, `{"a":-2,"c":1}`)),
			want{winners: []string{"c"}, totals: map[string]float64{"a": 1, "b": 1, "c": 3}, support: 1}},
		{"quadratic votes against count in support", Rules{Method: Quadratic, Options: abc, Credits: 9, Threshold: Threshold{Share: 0.8}},
			join(group("x", 2, `{"a":3}`), group("y", 1, `{"a":-2}`)),
			want{winners: []string{"a"}, totals: map[string]float64{"a": 4, "b": 0, "c": 0}, support: 0.75, passed: ptr(false)}},
		{"weighted", Rules{Method: Weighted, Options: abc, Points: 100},
			join(group("x", 1, `{"a":60,"b":40}`), group("y", 1, `{"b":100}`), group("z", 1, `{"a":50}`)),
			want{winners: []string{"b"}, totals: map[string]float64{"a": 110, "b": 140, "c": 0}, support: 0.56}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := Tally(tt.rules, tt.ballots)
			require.NoError(t, err)
			tt.want.check(t, out)
		})
	}
}

// TestConsent checks consent proposals, blocks included.
func TestConsent(t *testing.T) {
	base := join(group("yes", 3, `"agree"`), group("no", 1, `"disagree"`), group("meh", 2, `"abstain"`))
	tests := []struct {
		name    string
		rules   Rules
		ballots []Ballot
		want    want
	}{
		{"majority passes", Rules{Method: Consent}, base, want{passed: ptr(true), support: 0.75,
			totals: map[string]float64{"agree": 3, "abstain": 2, "disagree": 1, "block": 0}}},
		{"one block fails", Rules{Method: Consent}, join(base, group("stop", 1, `"block"`)), want{passed: ptr(false), support: 0.75}},
		{"a block of weight 0 does not", Rules{Method: Consent, Weights: map[string]float64{"stop0": 0}},
			join(base, group("stop", 1, `"block"`)), want{passed: ptr(true)}},
		{"even split fails the default majority", Rules{Method: Consent}, join(group("yes", 2, `"agree"`), group("no", 2, `"disagree"`)),
			want{passed: ptr(false), support: 0.5}},
		{"only abstentions fail", Rules{Method: Consent}, group("meh", 3, `"abstain"`), want{passed: ptr(false)}},
		{"threshold reached", Rules{Method: Consent, Threshold: Threshold{Share: 0.75}}, base, want{passed: ptr(true)}},
		{"strict threshold not exceeded", Rules{Method: Consent, Threshold: Threshold{Share: 0.75, Strict: true}}, base, want{passed: ptr(false)}},
		{"quorum not met fails", Rules{Method: Consent, Quorum: Quorum{Count: 7}}, base, want{passed: ptr(false), quorum: ptr(false)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := Tally(tt.rules, tt.ballots)
			require.NoError(t, err)
			tt.want.check(t, out)
		})
	}
}

// TestVotesUsers checks the votes map drivers read, with and without
// anonymity.
func TestVotesUsers(t *testing.T) {
	ballots := join(group("a", 2, `["a","b"]`), group("c", 1, `["c"]`))
	out, err := Tally(Rules{Method: Approval, Options: abc}, ballots)
	require.NoError(t, err)
	require.Equal(t, map[string]VoteSummary{
		"a": {Count: 2, Users: []string{"a0", "a1"}},
		"b": {Count: 2, Users: []string{"a0", "a1"}},
		"c": {Count: 1, Users: []string{"c0"}},
	}, out.Votes)

	out, err = Tally(Rules{Method: Approval, Options: abc, Anonymous: true}, ballots)
	require.NoError(t, err)
	raw := outcomeJSON(t, out)
	require.NotContains(t, raw, "users")
	require.NotContains(t, raw, "a0")
	require.Equal(t, VoteSummary{Count: 2}, out.Votes["a"])

	out, err = Tally(Rules{Method: SingleChoice, Options: abc}, group("a", 1, `"a"`))
	require.NoError(t, err)
	require.Contains(t, outcomeJSON(t, out), `"b":{"count":0,"users":[]}`, "an option nobody chose lists nobody, but lists")
}
