package tally

import (
	"encoding/json"
	"errors"
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestValidate checks that each kind of bad rule is named by its field.
func TestValidate(t *testing.T) {
	ok := Rules{Method: SingleChoice, Options: abc}
	with := func(f func(*Rules)) Rules { r := ok; f(&r); return r }
	tests := []struct {
		name  string
		rules Rules
		field string // "" when valid
	}{
		{"valid", ok, ""},
		{"valid consent without options", Rules{Method: Consent}, ""},
		{"valid consent with its options", Rules{Method: Consent, Options: []string{"agree", "abstain", "disagree", "block"}}, ""},
		{"unknown method", with(func(r *Rules) { r.Method = "borda" }), "/method"},
		{"one option", with(func(r *Rules) { r.Options = []string{"a"} }), "/options"},
		{"consent with other options", Rules{Method: Consent, Options: []string{"yes", "no"}}, "/options"},
		{"empty option", with(func(r *Rules) { r.Options = []string{"a", ""} }), "/options/1"},
		{"duplicate option", with(func(r *Rules) { r.Options = []string{"a", "b", "a"} }), "/options/2"},
		{"duplicate voter", with(func(r *Rules) { r.Eligible = []string{"x", "x"} }), "/eligible/1"},
		{"negative weight", with(func(r *Rules) { r.Weights = map[string]float64{"x/y": -1} }), "/weights/x~1y"},
		{"NaN weight", with(func(r *Rules) { r.Weights = map[string]float64{"x": math.NaN()} }), "/weights/x"},
		{"negative quorum", with(func(r *Rules) { r.Quorum.Count = -1 }), "/quorum/count"},
		{"quorum above the electorate", with(func(r *Rules) { r.Eligible = voters(3); r.Quorum.Count = 4 }), "/quorum/count"},
		{"quorum share above 1", with(func(r *Rules) { r.Eligible = voters(3); r.Quorum.Share = 1.5 }), "/quorum/share"},
		{"quorum share without an electorate", with(func(r *Rules) { r.Quorum.Share = 0.5 }), "/quorum/share"},
		{"threshold above 1", with(func(r *Rules) { r.Threshold.Share = 2 }), "/threshold/share"},
		{"score without a range", Rules{Method: Score, Options: abc}, "/score_max"},
		{"score range upside down", Rules{Method: Score, Options: abc, ScoreMin: 5, ScoreMax: 1}, "/score_max"},
		{"quadratic without credits", Rules{Method: Quadratic, Options: abc}, "/credits"},
		{"weighted without points", Rules{Method: Weighted, Options: abc}, "/points"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.rules.Validate()
			if tt.field == "" {
				require.NoError(t, err)
				return
			}
			var fe *FieldError
			require.True(t, errors.As(err, &fe), "%v", err)
			require.Equal(t, tt.field, fe.Field, fe.Message)
			_, err = Tally(tt.rules, nil)
			require.Error(t, err, "Tally refuses invalid rules too")
		})
	}
}

// TestCheckBallot checks every ballot error, each pointing at its field,
// and the normalized form of the valid ones.
func TestCheckBallot(t *testing.T) {
	single := Rules{Method: SingleChoice, Options: abc, Eligible: []string{"v"}}
	approval := Rules{Method: Approval, Options: abc}
	ranked := Rules{Method: RankedChoice, Options: abc}
	score := Rules{Method: Score, Options: abc, ScoreMin: 1, ScoreMax: 5}
	quadratic := Rules{Method: Quadratic, Options: abc, Credits: 10}
	weighted := Rules{Method: Weighted, Options: abc, Points: 100}
	consent := Rules{Method: Consent}
	tests := []struct {
		name   string
		rules  Rules
		voter  string
		ballot string
		want   string // normalized ballot, or the error's field
		msg    string // part of the error message
	}{
		{"single choice", single, "v", ` "b" `, `"b"`, ""},
		{"single choice escaped", single, "v", `"\u0062"`, `"b"`, ""},
		{"voter not eligible", single, "w", `"b"`, "/voter", `"w" is not eligible`},
		{"empty voter", approval, "", `["a"]`, "/voter", "empty"},
		{"single choice unknown", single, "v", `"d"`, "/ballot", `"d" is not one of the options`},
		{"single choice not a string", single, "v", `["a"]`, "/ballot", "the name of one option"},
		{"not JSON", single, "v", `"a`, "/ballot", ""},
		{"trailing data", single, "v", `"a" "b"`, "/ballot", "unexpected data"},
		{"empty", single, "v", ``, "/ballot", ""},
		{"approval sorted into option order", approval, "v", `["c", "a"]`, `["a","c"]`, ""},
		{"approval of nothing", approval, "v", `[]`, `[]`, ""},
		{"approval of an unknown option", approval, "v", `["a","d"]`, "/ballot/1", `"d" is not one of the options`},
		{"approval twice", approval, "v", `["a","a"]`, "/ballot/1", "listed twice (also at /ballot/0)"},
		{"approval not a list", approval, "v", `{"a":1}`, "/ballot", "list of option names"},
		{"approval list of numbers", approval, "v", `[1]`, "/ballot/0", "list of option names"},
		{"ranking kept in order", ranked, "v", `["c","a"]`, `["c","a"]`, ""},
		{"ranking with a duplicate", ranked, "v", `["b","a","b"]`, "/ballot/2", `"b" is listed twice (also at /ballot/0)`},
		{"ranking unterminated", ranked, "v", `["b","a"`, "/ballot", "ranked ballot"},
		{"score completed with score_min", score, "v", `{"c":5,"a":2}`, `{"a":2,"b":1,"c":5}`, ""},
		{"score out of range", score, "v", `{"a":6}`, "/ballot/a", "score 6 is outside the range [1, 5]"},
		{"score below range", score, "v", `{"b":0}`, "/ballot/b", "outside the range"},
		{"score not whole", score, "v", `{"a":2.5}`, "/ballot/a", "not a whole number"},
		{"score 3.0 is whole", score, "v", `{"a":3.0}`, `{"a":3,"b":1,"c":1}`, ""},
		{"score huge", score, "v", `{"a":1e999}`, "/ballot/a", "out of range"},
		{"score not a number", score, "v", `{"a":"5"}`, "/ballot/a", "must be a number"},
		{"score unknown option", score, "v", `{"a/b":1}`, "/ballot/a~1b", "not one of the options"},
		{"score given twice", score, "v", `{"a":1,"a":2}`, "/ballot/a", "given twice"},
		{"quadratic without zeros", quadratic, "v", `{"c":-1,"b":0,"a":3}`, `{"a":3,"c":-1}`, ""},
		{"quadratic over budget", quadratic, "v", `{"a":3,"b":-2}`, "/ballot", "cost 13 credits (the sum of their squares), over the budget of 10"},
		{"quadratic one option over budget", quadratic, "v", `{"a":4}`, "/ballot/a", "cost 16 credits"},
		{"weighted", weighted, "v", `{"b":40,"a":60}`, `{"a":60,"b":40}`, ""},
		{"weighted over budget", weighted, "v", `{"a":60,"b":41}`, "/ballot", "allocates 101 points, over the budget of 100"},
		{"weighted negative", weighted, "v", `{"a":-1}`, "/ballot/a", "must not be negative"},
		{"consent", consent, "v", `"block"`, `"block"`, ""},
		{"consent unknown stance", consent, "v", `"veto"`, "/ballot", `"veto" is not one of the options`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			norm, err := tt.rules.CheckBallot(tt.voter, json.RawMessage(tt.ballot))
			if tt.msg == "" && tt.want[0] != '/' {
				require.NoError(t, err)
				require.Equal(t, tt.want, string(norm))
				again, err := tt.rules.CheckBallot(tt.voter, norm)
				require.NoError(t, err)
				require.Equal(t, string(norm), string(again), "normalizing is idempotent")
				return
			}
			var fe *FieldError
			require.True(t, errors.As(err, &fe), "%v", err)
			require.Equal(t, tt.want, fe.Field, fe.Message)
			require.Contains(t, fe.Message, tt.msg)
		})
	}
}
