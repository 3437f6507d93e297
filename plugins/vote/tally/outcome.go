package tally

// Outcome is what a tally says, after each ballot and at the close. Its
// JSON is what drivers read, and what a record keeps for recounts.
type Outcome struct {
	Method Method `json:"method"`
	// Totals per option: votes (single choice), approvals, scores, net
	// votes (quadratic), points (weighted), stances (consent), first
	// preferences (ranked choice; the rounds hold the rest), Copeland
	// scores (wins + ½ per tie) or, for Schulze, how many options each
	// beats by its strongest paths.
	Totals        map[string]float64 `json:"totals"`
	Participation Participation      `json:"participation"`
	// Rejected counts voters whose ballot is not counted: they are not
	// eligible, or their ballot is invalid for the rules.
	Rejected  int  `json:"rejected"`
	QuorumMet bool `json:"quorum_met"`
	// Winners holds the winner once any ballot counts (ties broken as the
	// package documentation says); empty for consent.
	Winners []string `json:"winners"`
	// Passed is set when the rules have a threshold, and always for
	// consent: the quorum is met and Support meets the threshold (and, for
	// consent, nobody blocked).
	Passed *bool `json:"passed,omitempty"`
	// Support is the winner's (for consent, agree's) share of the decisive
	// support, the number compared with the threshold.
	Support float64   `json:"support"`
	Tie     *TieBreak `json:"tie,omitempty"`
	// Rounds of instant runoff, first to last.
	Rounds []Round `json:"rounds,omitempty"`
	// Pairwise[i][j] is the weight of the voters who rank option i above
	// option j (options in rules order), for the Condorcet methods.
	Pairwise [][]float64 `json:"pairwise,omitempty"`
	// Votes is the shape drivers of other vote plugins already read.
	Votes map[string]VoteSummary `json:"votes"`
	// Decided is true when nothing the remaining eligible voters could do
	// would change Winners, Passed or QuorumMet, so the vote may close
	// early. It needs an eligible list and ballots that cannot change; the
	// ranked and Condorcet methods are only decided once everyone voted.
	Decided bool `json:"decided"`
}

// Participation counts voters with a counted ballot.
type Participation struct {
	Voted    int     `json:"voted"`
	Eligible int     `json:"eligible"` // 0 when anyone may vote
	Share    float64 `json:"share"`    // Voted / Eligible; 0 when anyone may vote
}

// TieBreak says which options tied and which one the rule chose: the
// winner, or in an instant-runoff round the option eliminated.
type TieBreak struct {
	Between []string `json:"between"` // in rules order
	Rule    string   `json:"rule"`
	Chosen  string   `json:"chosen"`
}

// Round is one round of instant runoff.
type Round struct {
	Totals     map[string]float64 `json:"totals"`               // the options still running
	Exhausted  float64            `json:"exhausted"`            // weight of ballots ranking none of them
	Eliminated string             `json:"eliminated,omitempty"` // empty in the last round
	Tie        *TieBreak          `json:"tie,omitempty"`        // a tie for last place, and who went
}

// VoteSummary is one option's count and, unless the vote is anonymous, the
// voters (sorted) who chose it, approved it, ranked it first, scored it
// above score_min, gave it votes or points, or took that consent stance:
// the first UsersLimit of them by voter id, with UsersTruncated counting
// those left out (the ballots name them all). Count is the option's total,
// or its first preferences for ranked and Condorcet methods.
type VoteSummary struct {
	Count          float64  `json:"count"`
	Users          []string `json:"users,omitzero"`
	UsersTruncated int      `json:"users_truncated,omitempty"`
}

// optionMap pairs options with numbers.
func optionMap(opts []string, vals []float64) map[string]float64 {
	m := make(map[string]float64, len(opts))
	for i, o := range opts {
		m[o] = vals[i]
	}
	return m
}
