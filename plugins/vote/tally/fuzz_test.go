package tally

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
)

// FuzzCheckBallot feeds arbitrary bytes to every method's ballot check: it
// must not panic, what it accepts must be valid JSON that checks again to
// the same bytes, and Tally must count it.
func FuzzCheckBallot(f *testing.F) {
	for _, seed := range []string{`"alpha"`, `["alpha","bravo"]`, `{"alpha":3,"bravo":-1}`, `{"a\u006cpha":1e0}`,
		`"agree"`, `[]`, `{}`, `[1]`, `{"alpha":-0}`, `{"alpha":1.5e1}`, `"\ud800"`, "\"al\x00pha\"", `{"alpha":99999999999999999999}`} {
		f.Add([]byte(seed))
	}
	rules := []Rules{
		{Method: SingleChoice, Options: benchOptions},
		{Method: Approval, Options: benchOptions},
		{Method: RankedChoice, Options: benchOptions},
		{Method: CondorcetSchulze, Options: benchOptions},
		{Method: Score, Options: benchOptions, ScoreMin: -2, ScoreMax: 5},
		{Method: Quadratic, Options: benchOptions, Credits: 20},
		{Method: Weighted, Options: benchOptions, Points: 10},
		{Method: Consent},
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		for _, r := range rules {
			norm, err := r.CheckBallot("voter", raw)
			if err != nil {
				_, isField := errors.AsType[*FieldError](err)
				require.True(t, isField, "%T %v", err, err)
				continue
			}
			require.True(t, json.Valid(norm), "%s", norm)
			again, err := r.CheckBallot("voter", norm)
			require.NoError(t, err)
			require.Equal(t, string(norm), string(again))
			out, err := Tally(r, []Ballot{{Voter: "voter", Choice: raw}})
			require.NoError(t, err)
			require.Equal(t, 1, out.Participation.Voted)
		}
	})
}
