package tally

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"unicode/utf8"
)

// Method names a counting method; the values are the ones the API takes.
type Method string

// The counting methods; see the package documentation for each one's ballot.
const (
	SingleChoice      Method = "single-choice"
	Approval          Method = "approval"
	RankedChoice      Method = "ranked-choice"
	CondorcetSchulze  Method = "condorcet-schulze"
	CondorcetCopeland Method = "condorcet-copeland"
	Score             Method = "score"
	Quadratic         Method = "quadratic"
	Weighted          Method = "weighted"
	Consent           Method = "consent"
)

// consentOptions are a consent proposal's fixed options, in the order its
// outcome lists them.
var consentOptions = []string{"agree", "abstain", "disagree", "block"}

// Limits that keep counting exact and bounded: Condorcet keeps an options²
// matrix and rankings are stored as uint16, and every total of whole
// numbers below 2^53 is exact in a float64 (1e9 × 1e6 ballots stays below).
const (
	maxOptions   = 1000
	maxMagnitude = 1_000_000_000
)

// Quorum is the minimum participation, in voters who cast a valid ballot.
// Both parts apply when both are set.
type Quorum struct {
	Count int     `json:"count,omitempty"` // at least this many voters
	Share float64 `json:"share,omitempty"` // at least this share of the eligible voters (needs Eligible)
}

// Threshold is the share of decisive support the winner (or, for consent,
// "agree") needs to pass. Share 0 and Strict false means "no threshold":
// Outcome.Passed is then only reported for consent.
type Threshold struct {
	Share  float64 `json:"share,omitempty"`
	Strict bool    `json:"strict,omitempty"` // support must exceed Share rather than reach it
}

// Rules are frozen into a process when it starts; a tally reads nothing
// else, so the rules and the ballots are all a recount needs.
type Rules struct {
	Method      Method             `json:"method"`
	Options     []string           `json:"options,omitempty"`  // their order is the tie-break order; empty for consent
	Eligible    []string           `json:"eligible,omitempty"` // voter ids; empty means anyone may vote
	Weights     map[string]float64 `json:"weights,omitempty"`  // voter id → weight; absent voters weigh 1
	Quorum      Quorum             `json:"quorum,omitzero"`
	Threshold   Threshold          `json:"threshold,omitzero"`
	AllowChange bool               `json:"allow_change,omitempty"` // the latest revision counts; otherwise the first
	Anonymous   bool               `json:"anonymous,omitempty"`    // the outcome names no voters
	ScoreMin    int                `json:"score_min,omitempty"`    // score: lowest score, also given to unscored options
	ScoreMax    int                `json:"score_max,omitempty"`    // score: highest score
	Credits     int                `json:"credits,omitempty"`      // quadratic: each voter's budget for the sum of squared votes
	Points      int                `json:"points,omitempty"`       // weighted: each voter's budget of points
	TieSeed     string             `json:"tie_seed,omitempty"`     // breaks ties by SHA-256 instead of option order (e.g. the process id)

	// lean is set by Lean: the lists are left out and this stands for
	// them.
	lean *Electorate
}

// Electorate is what counting needs to know of the eligible voters besides
// who they are: a vote keeps it so that a ballot's count does not read the
// whole list (see Lean).
type Electorate struct {
	Eligible int     `json:"eligible"` // how many voters are eligible; 0 when anyone may vote
	Weight   float64 `json:"weight"`   // their total weight
}

// Electorate sums up the eligible voters.
func (r Rules) Electorate() Electorate {
	if r.lean != nil {
		return *r.lean
	}
	el := Electorate{Eligible: len(r.Eligible)}
	for _, v := range r.Eligible {
		el.Weight += r.weight(v)
	}
	return el
}

// Lean returns the rules without the lists of eligible voters and weights,
// el standing for them, and with voter's weight (when voter is not empty):
// rules for a Counter adding and removing that voter's ballots, and for
// CheckBallot, when the caller has checked that the voter is eligible (a
// lookup, where the list would be a scan). Validate and the Counter's
// outcome then take the electorate's size and weight from el. Tally,
// Digest and records need the full rules, and a Counter of lean rules
// counts every ballot it is given as eligible.
func (r Rules) Lean(el Electorate, voter string, weight float64) Rules {
	r.Eligible, r.Weights, r.lean = nil, nil, &el
	if voter != "" && weight != 1 {
		r.Weights = map[string]float64{voter: weight}
	}
	return r
}

// IsLean reports whether the rules are Lean ones.
func (r Rules) IsLean() bool { return r.lean != nil }

// eligibleCount is how many voters are eligible; 0 when anyone may vote.
func (r *Rules) eligibleCount() int {
	if r.lean != nil {
		return r.lean.Eligible
	}
	return len(r.Eligible)
}

// FieldError is an invalid rule or ballot. Field is a JSON pointer to the
// culprit, such as "/ballot/2", "/voter" or "/quorum/share".
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

func fieldErr(field, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// pointerEscaper escapes a name for a JSON pointer (RFC 6901).
var pointerEscaper = strings.NewReplacer("~", "~0", "/", "~1")

// options are the rules' options, the fixed ones for consent.
func (r *Rules) options() []string {
	if r.Method == Consent {
		return consentOptions
	}
	return r.Options
}

// weight is a voter's weight.
func (r *Rules) weight(voter string) float64 {
	if w, ok := r.Weights[voter]; ok {
		return w
	}
	return 1
}

// Validate reports the first thing wrong with the rules, as a *FieldError.
// Tally and CheckBallot call it, so a process should call it when it starts
// rather than discover bad rules at the first ballot.
func (r Rules) Validate() error {
	switch r.Method {
	case SingleChoice, Approval, RankedChoice, CondorcetSchulze, CondorcetCopeland, Score, Quadratic, Weighted:
		if len(r.Options) < 2 {
			return fieldErr("/options", "a %s vote needs at least two options", r.Method)
		}
	case Consent:
		if len(r.Options) != 0 && !slices.Equal(r.Options, consentOptions) {
			return fieldErr("/options", "a consent proposal's options are fixed: leave them out or give agree, abstain, disagree, block")
		}
	default:
		return fieldErr("/method", "unknown method %q; one of single-choice, approval, ranked-choice, condorcet-schulze, condorcet-copeland, score, quadratic, weighted, consent", r.Method)
	}
	if len(r.Options) > maxOptions {
		return fieldErr("/options", "at most %d options", maxOptions)
	}
	if err := checkNames("/options", r.Options, "option"); err != nil {
		return err
	}
	if err := checkNames("/eligible", r.Eligible, "eligible voter id"); err != nil {
		return err
	}
	for _, v := range slices.Sorted(maps.Keys(r.Weights)) {
		w := r.Weights[v]
		if v == "" || math.IsNaN(w) || w < 0 || w > maxMagnitude {
			return fieldErr("/weights/"+pointerEscaper.Replace(v), "a weight is a number from 0 to %d given to a non-empty voter id", maxMagnitude)
		}
	}
	if err := r.checkQuorum(); err != nil {
		return err
	}
	if t := r.Threshold.Share; math.IsNaN(t) || t < 0 || t > 1 {
		return fieldErr("/threshold/share", "a share is a number from 0 to 1")
	}
	if err := r.checkBudgets(); err != nil {
		return err
	}
	return nil
}

func (r *Rules) checkQuorum() *FieldError {
	q := r.Quorum
	if q.Count < 0 {
		return fieldErr("/quorum/count", "must not be negative")
	}
	if n := r.eligibleCount(); n > 0 && q.Count > n {
		return fieldErr("/quorum/count", "a quorum of %d can never be met by %d eligible voters", q.Count, n)
	}
	if math.IsNaN(q.Share) || q.Share < 0 || q.Share > 1 {
		return fieldErr("/quorum/share", "a share is a number from 0 to 1")
	}
	if q.Share > 0 && r.eligibleCount() == 0 {
		return fieldErr("/quorum/share", "a quorum share needs a list of eligible voters to be a share of")
	}
	return nil
}

func (r *Rules) checkBudgets() *FieldError {
	switch r.Method {
	case Score:
		if r.ScoreMin < -maxMagnitude || r.ScoreMax > maxMagnitude {
			return fieldErr("/score_max", "scores range within ±%d", maxMagnitude)
		}
		if r.ScoreMin >= r.ScoreMax {
			return fieldErr("/score_max", "score_max (%d) must be greater than score_min (%d)", r.ScoreMax, r.ScoreMin)
		}
	case Quadratic:
		if r.Credits < 1 || r.Credits > maxMagnitude {
			return fieldErr("/credits", "a quadratic vote needs credits from 1 to %d", maxMagnitude)
		}
	case Weighted:
		if r.Points < 1 || r.Points > maxMagnitude {
			return fieldErr("/points", "a weighted vote needs points from 1 to %d", maxMagnitude)
		}
	}
	return nil
}

// checkNames rejects empty, non-UTF-8 and repeated names.
func checkNames(field string, names []string, what string) *FieldError {
	seen := make(map[string]int, len(names))
	for i, s := range names {
		f := fmt.Sprintf("%s/%d", field, i)
		if s == "" || !utf8.ValidString(s) {
			return fieldErr(f, "an %s must be a non-empty UTF-8 string", what)
		}
		if j, dup := seen[s]; dup {
			return fieldErr(f, "%q is listed twice (also at %s/%d)", s, field, j)
		}
		seen[s] = i
	}
	return nil
}
