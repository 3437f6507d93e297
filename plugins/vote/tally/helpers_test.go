package tally

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

// group makes n ballots with the same choice, from voters prefix0,
// prefix1, ….
func group(prefix string, n int, choice string) []Ballot {
	out := make([]Ballot, n)
	for i := range out {
		out[i] = Ballot{Voter: fmt.Sprintf("%s%d", prefix, i), Choice: json.RawMessage(choice)}
	}
	return out
}

// join concatenates groups of ballots.
func join(groups ...[]Ballot) []Ballot {
	var out []Ballot
	for _, g := range groups {
		out = append(out, g...)
	}
	return out
}

// voters names n voters v0…v(n-1).
func voters(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("v%d", i)
	}
	return out
}

func ptr[T any](v T) *T { return &v }

// want is what a worked example checks; zero fields are not checked
// unless the check flag beside them says so.
type want struct {
	winners  []string
	totals   map[string]float64
	passed   *bool
	tie      string // the option a tie-break chose
	support  float64
	quorum   *bool
	voted    int
	rejected int
	decided  *bool
}

func (w want) check(t *testing.T, out Outcome) {
	t.Helper()
	if w.winners == nil {
		w.winners = []string{}
	}
	require.Equal(t, w.winners, out.Winners, "winners")
	if w.totals != nil {
		require.Equal(t, w.totals, out.Totals, "totals")
	}
	require.Equal(t, w.passed, out.Passed, "passed")
	if w.tie == "" {
		require.Nil(t, out.Tie, "tie")
	} else {
		require.NotNil(t, out.Tie, "tie")
		require.Equal(t, w.tie, out.Tie.Chosen, "tie chosen")
	}
	if w.support != 0 {
		require.InDelta(t, w.support, out.Support, 1e-12, "support")
	}
	if w.quorum != nil {
		require.Equal(t, *w.quorum, out.QuorumMet, "quorum met")
	}
	if w.voted != 0 {
		require.Equal(t, w.voted, out.Participation.Voted, "voted")
	}
	require.Equal(t, w.rejected, out.Rejected, "rejected")
	if w.decided != nil {
		require.Equal(t, *w.decided, out.Decided, "decided")
	}
}

// outcomeJSON is an outcome as it is stored, to compare two of them.
func outcomeJSON(t testing.TB, out Outcome) string {
	t.Helper()
	b, err := json.Marshal(out)
	require.NoError(t, err)
	return string(b)
}
