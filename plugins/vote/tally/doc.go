// Package tally is the counting engine of the native vote plugin: it checks
// ballots against a vote's rules and counts them, for every method Snapshot
// and Loomio offer between them. It knows nothing of the gateway (no
// storage, no timers, no HTTP), so a vote can be recounted anywhere from
// its rules and ballots alone: see Record, Recompute and Digest.
//
// # Use
//
//	rules.Validate()                            // when the process starts
//	norm, err := rules.CheckBallot(voter, raw)  // on each ballot; store norm
//	out, err := Tally(rules, ballots)           // after each ballot, and at the close
//	rec, err := NewRecord(rules, ballots)       // at the close: outcome + digest
//	err = Verify(rec)                           // `metagov tally FILE`
//
// Or keep a running count, so that a ballot costs the same however many
// came before it (the vote plugin does):
//
//	k, err := NewCounter(rules, count)          // count: the stored Count, zero at first
//	k.Remove(old); k.Add(ballot)                // a changed ballot; a new one is just Add
//	out, ok := k.Outcome()                      // Tally's outcome; not for ranked-choice
//	count = k.Count()                           // store it; if k.Stale(), CountBallots
//
// # Ballots
//
// A ballot's choice is JSON, one shape per method:
//
//	single-choice       "b"                         one option
//	approval            ["a", "c"]                  any options (none is a blank ballot)
//	ranked-choice       ["b", "a", "c"]             most preferred first; partial, no repeats
//	condorcet-schulze   ["b", "a", "c"]             as ranked-choice
//	condorcet-copeland  ["b", "a", "c"]             as ranked-choice
//	score               {"a": 5, "b": 0}            whole numbers in [score_min, score_max];
//	                                                unscored options get score_min
//	quadratic           {"a": 3, "b": -1}           whole votes, negative against; the sum
//	                                                of their squares at most credits
//	weighted            {"a": 60, "b": 40}          whole points ≥ 0 summing to at most points
//	                                                (what is left unallocated is abstention)
//	consent             "agree" | "abstain" | "disagree" | "block"
//
// CheckBallot refuses anything else with a *FieldError whose Field points
// at the culprit: "/ballot/2" for the third name of a list, "/ballot/a" for
// key "a" of an object, "/ballot" for the whole, "/voter" for a voter who
// is not eligible. Tally counts the same way, so a ballot that slipped past
// (or a hand-edited record) is rejected, never miscounted.
//
// # Counting
//
// Weights multiply a voter's ballot (1 by default). Only one ballot per
// voter counts: the latest revision when the rules allow changes, else the
// first. Totals are whole numbers, and so exact, unless weights are
// fractional.
//
//   - single-choice, approval, score, quadratic, weighted: the highest total
//     wins.
//   - ranked-choice: instant runoff. Each round eliminates the option with
//     the fewest votes until one has more than half of the ballots not yet
//     exhausted (or is the last one left); every round is in the outcome.
//   - condorcet-copeland: 1 point per pairwise win, ½ per pairwise tie; the
//     most points win.
//   - condorcet-schulze: the option no other beats by strongest path
//     (winning votes) wins.
//   - consent: passes when the quorum is met, no voter of positive weight
//     blocks, and agree / (agree + disagree) meets the threshold (a simple
//     majority, more than ½, when the rules set none); abstain is not
//     decisive.
//
// Support, the number compared with a threshold, is the winner's share of
// the decisive support: of the votes (single choice), of the ballots that
// approve anything (approval), of the range above score_min (score:
// (total − score_min·W) / ((score_max − score_min)·W)), of the votes for and
// against it (quadratic), of the points allocated (weighted), of the last
// round's ballots (ranked choice), and for Condorcet its share in its
// closest pairwise contest. Passed also needs the quorum.
//
// # Ties
//
// Ties are broken by the order of the options in the rules: the first
// listed wins, and in an instant-runoff round the last listed of those tied
// for fewest votes is eliminated. When the rules set tie_seed (the process
// id is a good one), the order is instead that of SHA-256(tie_seed ‖ 0x00 ‖
// option), lowest first, so no option gains from being listed first yet the
// result stays reproducible. Outcome.Tie records a tie that decided the
// winner (for instant runoff, the one that eliminated the runner-up); each
// runoff round records its own.
//
// # Early close
//
// Outcome.Decided says that whatever the eligible voters who have not voted
// do, Winners, Passed and QuorumMet stay as they are. It is never true when
// anyone may vote (no eligible list) or ballots may change, and for the
// ranked and Condorcet methods only once everyone has voted.
//
// # Order and anonymity
//
// The outcome does not depend on the order of the ballots. Users lists are
// sorted by voter id (byte order), so an outcome changes only when the
// votes do, and hold at most UsersLimit (100) voters per option, the first
// by id; users_truncated counts the others, whom the ballots name. (Records
// made before that limit list everyone; Verify accepts them as they are.) Totals of whole numbers are exact whatever the order; with
// fractional weights the ballots are summed in a canonical order (by the
// 64-bit FNV-1a hash of the voter id, then the id), so even then the bits
// are the same. With Anonymous set, the outcome names nobody; the ballots,
// and so a Record, still do.
//
// # Cost
//
// Counting is one pass over the ballots after a linear-time radix sort of
// the voters (the users lists' sort by id runs beside it); instant runoff reads each ranking once in all (ballots move
// only when their option is eliminated); Condorcet costs options² per
// ballot. Ballots one per voter and sorted by voter id, as the vote plugin
// stores them, skip both sorts when the totals are whole numbers (no
// fractional weights), whose sums do not depend on the order. A million ballots with ten options count in well under a second
// for every method (BenchmarkTally).
package tally
