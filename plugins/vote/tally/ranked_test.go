package tally

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// tennessee is the example of Wikipedia's instant-runoff and Condorcet
// articles: the state picks a capital, each voter preferring cities near
// them. Percentages of the electorate become 100 voters.
var tennessee = join(
	group("memphis", 42, `["Memphis","Nashville","Chattanooga","Knoxville"]`),
	group("nashville", 26, `["Nashville","Chattanooga","Knoxville","Memphis"]`),
	group("chattanooga", 15, `["Chattanooga","Knoxville","Nashville","Memphis"]`),
	group("knoxville", 17, `["Knoxville","Chattanooga","Nashville","Memphis"]`),
)

var cities = []string{"Memphis", "Nashville", "Chattanooga", "Knoxville"}

// schulzeExample is the 45-voter example of Wikipedia's Schulze method
// article (after Schulze's paper); E wins.
var schulzeExample = join(
	group("acbed", 5, `["A","C","B","E","D"]`),
	group("adecb", 5, `["A","D","E","C","B"]`),
	group("bedac", 8, `["B","E","D","A","C"]`),
	group("cabed", 3, `["C","A","B","E","D"]`),
	group("caebd", 7, `["C","A","E","B","D"]`),
	group("cbade", 2, `["C","B","A","D","E"]`),
	group("dceba", 7, `["D","C","E","B","A"]`),
	group("ebadc", 8, `["E","B","A","D","C"]`),
)

// TestRunoff checks instant runoff, round by round.
func TestRunoff(t *testing.T) {
	tests := []struct {
		name    string
		rules   Rules
		ballots []Ballot
		want    want
		rounds  []Round
	}{
		{"tennessee: Knoxville after two eliminations", Rules{Method: RankedChoice, Options: cities}, tennessee,
			want{winners: []string{"Knoxville"}, support: 0.58, totals: map[string]float64{"Memphis": 42, "Nashville": 26, "Chattanooga": 15, "Knoxville": 17}},
			[]Round{
				{Totals: map[string]float64{"Memphis": 42, "Nashville": 26, "Chattanooga": 15, "Knoxville": 17}, Eliminated: "Chattanooga"},
				{Totals: map[string]float64{"Memphis": 42, "Nashville": 26, "Knoxville": 32}, Eliminated: "Nashville"},
				{Totals: map[string]float64{"Memphis": 42, "Knoxville": 58}},
			}},
		{"exhausted ballots and a tie for last place", Rules{Method: RankedChoice, Options: abc},
			join(group("a", 4, `["a"]`), group("b", 3, `["b"]`), group("cb", 2, `["c","b"]`), group("c", 1, `["c"]`)),
			want{winners: []string{"b"}, support: 5.0 / 9},
			[]Round{
				{Totals: map[string]float64{"a": 4, "b": 3, "c": 3}, Eliminated: "c",
					Tie: &TieBreak{Between: []string{"b", "c"}, Rule: "the last in the rules' option order is eliminated", Chosen: "c"}},
				{Totals: map[string]float64{"a": 4, "b": 5}, Exhausted: 1},
			}},
		{"final tie eliminates the last listed", Rules{Method: RankedChoice, Options: []string{"a", "b"}},
			join(group("a", 2, `["a","b"]`), group("b", 2, `["b","a"]`)),
			want{winners: []string{"a"}, tie: "b", support: 1},
			[]Round{
				{Totals: map[string]float64{"a": 2, "b": 2}, Eliminated: "b",
					Tie: &TieBreak{Between: []string{"a", "b"}, Rule: "the last in the rules' option order is eliminated", Chosen: "b"}},
				{Totals: map[string]float64{"a": 4}},
			}},
		{"blank ballots count for participation only", Rules{Method: RankedChoice, Options: abc, Quorum: Quorum{Count: 3}},
			join(group("a", 2, `["a"]`), group("blank", 1, `[]`)),
			want{winners: []string{"a"}, voted: 3, quorum: ptr(true), support: 1},
			[]Round{{Totals: map[string]float64{"a": 2, "b": 0, "c": 0}, Exhausted: 1}}},
		{"nobody voted", Rules{Method: RankedChoice, Options: abc}, nil, want{},
			[]Round{{Totals: map[string]float64{"a": 0, "b": 0, "c": 0}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := Tally(tt.rules, tt.ballots)
			require.NoError(t, err)
			tt.want.check(t, out)
			require.Equal(t, tt.rounds, out.Rounds)
		})
	}
}

// TestCondorcet checks Schulze and Copeland on published and hand-made
// examples, with the pairwise matrix.
func TestCondorcet(t *testing.T) {
	tennesseeMatrix := [][]float64{{0, 42, 42, 42}, {58, 0, 68, 68}, {58, 32, 0, 83}, {58, 32, 17, 0}}
	schulzeMatrix := [][]float64{
		{0, 20, 26, 30, 22},
		{25, 0, 16, 33, 18},
		{19, 29, 0, 17, 24},
		{15, 12, 28, 0, 14},
		{23, 27, 21, 31, 0},
	}
	abcde := []string{"A", "B", "C", "D", "E"}
	cycle := join(group("x", 1, `["a","b","c"]`), group("y", 1, `["b","c","a"]`), group("z", 1, `["c","a","b"]`))
	tests := []struct {
		name     string
		rules    Rules
		ballots  []Ballot
		want     want
		pairwise [][]float64
	}{
		{"schulze: wikipedia's 45 voters elect E", Rules{Method: CondorcetSchulze, Options: abcde}, schulzeExample,
			want{winners: []string{"E"}, totals: map[string]float64{"A": 3, "B": 1, "C": 2, "D": 0, "E": 4}, support: 21.0 / 45}, schulzeMatrix},
		{"copeland: the same 45 voters, E beats three", Rules{Method: CondorcetCopeland, Options: abcde}, schulzeExample,
			want{winners: []string{"E"}, totals: map[string]float64{"A": 2, "B": 2, "C": 2, "D": 1, "E": 3}}, schulzeMatrix},
		{"schulze: tennessee elects Nashville, the Condorcet winner", Rules{Method: CondorcetSchulze, Options: cities}, tennessee,
			want{winners: []string{"Nashville"}, support: 0.58}, tennesseeMatrix},
		{"copeland: tennessee", Rules{Method: CondorcetCopeland, Options: cities}, tennessee,
			want{winners: []string{"Nashville"}, totals: map[string]float64{"Memphis": 0, "Nashville": 3, "Chattanooga": 2, "Knoxville": 1}}, tennesseeMatrix},
		{"schulze: a cycle is a three-way tie", Rules{Method: CondorcetSchulze, Options: abc}, cycle,
			want{winners: []string{"a"}, tie: "a"}, [][]float64{{0, 2, 1}, {1, 0, 2}, {2, 1, 0}}},
		{"copeland: a cycle is a three-way tie", Rules{Method: CondorcetCopeland, Options: abc}, cycle,
			want{winners: []string{"a"}, tie: "a", totals: map[string]float64{"a": 1, "b": 1, "c": 1}}, nil},
		{"copeland: a pairwise tie scores one half", Rules{Method: CondorcetCopeland, Options: abc},
			join(group("x", 1, `["a","b","c"]`), group("y", 1, `["b","a","c"]`)),
			want{winners: []string{"a"}, tie: "a", totals: map[string]float64{"a": 1.5, "b": 1.5, "c": 0}}, nil},
		{"partial rankings put unranked options below, level", Rules{Method: CondorcetSchulze, Options: abc},
			join(group("x", 2, `["c"]`), group("y", 1, `["a","b"]`)),
			want{winners: []string{"c"}}, [][]float64{{0, 1, 1}, {0, 0, 1}, {2, 2, 0}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := Tally(tt.rules, tt.ballots)
			require.NoError(t, err)
			tt.want.check(t, out)
			if tt.pairwise != nil {
				require.Equal(t, tt.pairwise, out.Pairwise)
			}
		})
	}
}
