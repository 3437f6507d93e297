package tally

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"math"
	"slices"
	"strconv"
	"time"
)

// Record is a closed vote as exported: enough to recount it anywhere
// (`metagov tally FILE`) and to tell whether its rules or ballots changed.
// It names the voters even when the vote is anonymous: export it with care.
type Record struct {
	Rules   Rules    `json:"rules"`
	Ballots []Ballot `json:"ballots"`
	Outcome Outcome  `json:"outcome"`
	Digest  string   `json:"digest"` // Digest(Rules, Ballots)
}

// Errors of Recompute and Verify.
var (
	ErrDigestMismatch = errors.New("tally: the record's digest does not match its rules and ballots")
	ErrNoDigest       = errors.New("tally: the record has no digest")
	ErrOutcomeChanged = errors.New("tally: the recomputed outcome differs from the recorded one")
)

// NewRecord tallies the ballots and seals the result with its digest.
func NewRecord(r Rules, ballots []Ballot) (Record, error) {
	out, err := Tally(r, ballots)
	if err != nil {
		return Record{}, err
	}
	return Record{Rules: r, Ballots: ballots, Outcome: out, Digest: Digest(r, ballots)}, nil
}

// Recompute tallies a record again, after checking its digest if it has
// one (ErrDigestMismatch otherwise).
func Recompute(rec Record) (Outcome, error) {
	if rec.Digest != "" && rec.Digest != Digest(rec.Rules, rec.Ballots) {
		return Outcome{}, ErrDigestMismatch
	}
	return Tally(rec.Rules, rec.Ballots)
}

// Verify checks a record end to end: it has a digest, the digest matches,
// and recounting gives the recorded outcome (compared as JSON, the form
// records are kept in).
func Verify(rec Record) error {
	if rec.Digest == "" {
		return ErrNoDigest
	}
	out, err := Recompute(rec)
	if err != nil {
		return err
	}
	got, err := json.Marshal(out)
	if err != nil {
		return err
	}
	want, err := json.Marshal(rec.Outcome)
	if err != nil {
		return err
	}
	if bytes.Equal(got, want) {
		return nil
	}
	// Records made before outcomes named at most UsersLimit voters per
	// option list them all: recount them that way too.
	if full, err := tally(rec.Rules, rec.Ballots, math.MaxInt); err == nil {
		if raw, err := json.Marshal(full); err == nil && bytes.Equal(raw, want) {
			return nil
		}
	}
	return fmt.Errorf("%w:\nrecorded   %s\nrecomputed %s", ErrOutcomeChanged, want, got)
}

// digestVersion starts the digested bytes, naming the encoding below.
const digestVersion = "metagov-tally/v1"

// Digest returns the lowercase hex SHA-256 of the canonical encoding of the
// rules and ballots. The encoding is a sequence of fields, each written as
// its length in bytes (8 bytes, big-endian) followed by the bytes:
//
//  1. "metagov-tally/v1"
//  2. the rules as JSON, as encoding/json writes Rules with Eligible
//     sorted (fields in declaration order, empty ones left out, map keys
//     sorted)
//  3. the number of ballots, in decimal
//  4. then, per ballot in the order of voter, revision, cast time and
//     choice bytes: the voter id; the revision in decimal; the cast time
//     as RFC 3339 in UTC with nanoseconds (time.RFC3339Nano), or nothing
//     when unset; and the choice as compact JSON (null when missing, the
//     bytes as they are when not JSON).
//
// Lengths make the encoding unambiguous whatever the strings hold; sorting
// makes it independent of the order ballots were stored in. The order of
// options is part of the rules (it breaks ties); that of voters is not.
func Digest(r Rules, ballots []Ballot) string {
	h := sha256.New()
	field(h, []byte(digestVersion))
	r.Eligible = slices.Sorted(slices.Values(r.Eligible))
	rules, err := json.Marshal(r)
	if err != nil { // only NaN or infinite numbers, which Validate refuses
		rules = fmt.Appendf(nil, "unencodable rules %v", r)
	}
	field(h, rules)
	field(h, strconv.AppendInt(nil, int64(len(ballots)), 10))
	order := make([]*Ballot, len(ballots))
	for i := range ballots {
		order[i] = &ballots[i]
	}
	slices.SortFunc(order, compareBallots)
	var buf bytes.Buffer
	for _, b := range order {
		field(h, []byte(b.Voter))
		field(h, strconv.AppendInt(nil, int64(b.Revision), 10))
		var at []byte
		if !b.CastAt.IsZero() {
			at = b.CastAt.UTC().AppendFormat(nil, time.RFC3339Nano)
		}
		field(h, at)
		buf.Reset()
		switch {
		case len(bytes.TrimSpace(b.Choice)) == 0:
			buf.WriteString("null")
		case json.Compact(&buf, b.Choice) != nil:
			buf.Reset()
			buf.Write(b.Choice)
		}
		field(h, buf.Bytes())
	}
	return hex.EncodeToString(h.Sum(nil))
}

func field(h hash.Hash, b []byte) {
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(b)))
	h.Write(n[:])
	h.Write(b)
}
