package tally

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestRecord checks that every method's record survives export (JSON),
// recomputes to the recorded outcome, and that its digest notices any
// change to a ballot or the rules, but not to the ballots' order.
func TestRecord(t *testing.T) {
	for k, r := range propertyRules(60) {
		t.Run(fmt.Sprintf("%s/%d", r.Method, k), func(t *testing.T) {
			ballots := messyBallots(t, r, 60, uint64(k))
			ballots[0].CastAt = time.Date(2026, 3, 1, 12, 0, 0, 5, time.FixedZone("CET", 3600))
			rec, err := NewRecord(r, ballots)
			require.NoError(t, err)
			raw, err := json.Marshal(rec)
			require.NoError(t, err)
			var back Record
			require.NoError(t, json.Unmarshal(raw, &back))
			require.NoError(t, Verify(back))
			out, err := Recompute(back)
			require.NoError(t, err)
			require.Equal(t, outcomeJSON(t, rec.Outcome), outcomeJSON(t, out))
			require.Equal(t, rec.Digest, Digest(back.Rules, back.Ballots), "the digest survives export")

			shuffled := slices.Clone(ballots)
			rand.New(rand.NewPCG(1, 2)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
			require.Equal(t, rec.Digest, Digest(r, shuffled), "order does not matter")

			changes := map[string]func(*Ballot){
				"voter":    func(b *Ballot) { b.Voter += "x" },
				"choice":   func(b *Ballot) { b.Choice = json.RawMessage(`"changed"`) },
				"revision": func(b *Ballot) { b.Revision++ },
				"cast_at":  func(b *Ballot) { b.CastAt = b.CastAt.Add(time.Nanosecond) },
			}
			for i := range ballots {
				for name, change := range changes {
					changed := slices.Clone(ballots)
					change(&changed[i])
					require.NotEqual(t, rec.Digest, Digest(r, changed), "ballot %d %s", i, name)
				}
			}
			r2 := r
			r2.Anonymous = !r.Anonymous
			require.NotEqual(t, rec.Digest, Digest(r2, ballots), "rules")

			tampered := back
			tampered.Ballots = slices.Clone(back.Ballots)
			tampered.Ballots[1].Voter = "mallory"
			require.ErrorIs(t, Verify(tampered), ErrDigestMismatch)
			_, err = Recompute(tampered)
			require.ErrorIs(t, err, ErrDigestMismatch)
			tampered = back
			tampered.Outcome.Rejected++
			require.ErrorIs(t, Verify(tampered), ErrOutcomeChanged)
			tampered = back
			tampered.Digest = ""
			require.ErrorIs(t, Verify(tampered), ErrNoDigest)
		})
	}
}

// TestDigestIgnoresSpacing checks that the digest reads choices as compact
// JSON, and that it is the documented encoding.
func TestDigestIgnoresSpacing(t *testing.T) {
	r := Rules{Method: Approval, Options: abc}
	a := []Ballot{{Voter: "v", Choice: json.RawMessage(`["a","b"]`)}}
	b := []Ballot{{Voter: "v", Choice: json.RawMessage(" [ \"a\" ,\n\"b\" ] ")}}
	require.Equal(t, Digest(r, a), Digest(r, b))
}

// TestDigestEncoding rebuilds the digest of a small vote by hand from the
// documented encoding.
func TestDigestEncoding(t *testing.T) {
	r := Rules{Method: SingleChoice, Options: []string{"a", "b"}, Eligible: []string{"y", "x"}}
	at := time.Date(2026, 1, 2, 3, 4, 5, 6, time.FixedZone("X", 7200))
	ballots := []Ballot{{Voter: "y", Choice: json.RawMessage(`"b"`)}, {Voter: "x", Choice: json.RawMessage(` "a" `), Revision: 2, CastAt: at}}
	var buf []byte
	put := func(s string) {
		buf = binary.BigEndian.AppendUint64(buf, uint64(len(s)))
		buf = append(buf, s...)
	}
	put("metagov-tally/v1")
	put(`{"method":"single-choice","options":["a","b"],"eligible":["x","y"]}`)
	put("2")
	put("x")
	put("2")
	put("2026-01-02T01:04:05.000000006Z")
	put(`"a"`)
	put("y")
	put("0")
	put("")
	put(`"b"`)
	sum := sha256.Sum256(buf)
	require.Equal(t, hex.EncodeToString(sum[:]), Digest(r, ballots))
}

// naiveRunoff recounts every ballot each round: slow but plainly right,
// to check the pile-moving runoff against.
func naiveRunoff(opts []string, rankings [][]string) (string, []Round) {
	running := slices.Clone(opts)
	var rounds []Round
	for {
		round := Round{Totals: map[string]float64{}}
		for _, o := range running {
			round.Totals[o] = 0
		}
		var active float64
		for _, rank := range rankings {
			i := slices.IndexFunc(rank, func(o string) bool { return slices.Contains(running, o) })
			if i < 0 {
				round.Exhausted++
				continue
			}
			round.Totals[rank[i]]++
			active++
		}
		lowest, top := running[0], running[0]
		for _, o := range running {
			if round.Totals[o] > round.Totals[top] {
				top = o
			}
			if round.Totals[o] <= round.Totals[lowest] {
				lowest = o // the last listed of those tied
			}
		}
		if len(running) == 1 || round.Totals[top]*2 > active {
			return top, append(rounds, round)
		}
		round.Eliminated = lowest
		rounds = append(rounds, round)
		running = slices.DeleteFunc(running, func(o string) bool { return o == lowest })
	}
}

// TestRunoffMatchesNaive compares instant runoff with a naive recount on
// random small elections.
func TestRunoffMatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for range 300 {
		r, ballots := randomRankings(rng)
		r.Method = RankedChoice
		var rankings [][]string
		for _, b := range ballots {
			var rank []string
			require.NoError(t, json.Unmarshal(b.Choice, &rank))
			rankings = append(rankings, rank)
		}
		winner, rounds := naiveRunoff(r.Options, rankings)
		out, err := Tally(r, ballots)
		require.NoError(t, err)
		require.Equal(t, []string{winner}, out.Winners)
		for i := range out.Rounds {
			out.Rounds[i].Tie = nil
		}
		require.Equal(t, rounds, out.Rounds)
	}
}
