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
	// The digest and the count read the same ballots and nothing else:
	// on a large vote, taking them side by side halves the wait.
	digest := make(chan string, 1)
	go func() { digest <- Digest(r, ballots) }()
	out, err := Tally(r, ballots)
	d := <-digest
	if err != nil {
		return Record{}, err
	}
	return Record{Rules: r, Ballots: ballots, Outcome: out, Digest: d}, nil
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
	h := &fields{h: sha256.New()}
	h.add([]byte(digestVersion))
	r.Eligible = slices.Sorted(slices.Values(r.Eligible))
	rules, err := json.Marshal(r)
	if err != nil { // only NaN or infinite numbers, which Validate refuses
		rules = fmt.Appendf(nil, "unencodable rules %v", r)
	}
	h.add(rules)
	h.add(strconv.AppendInt(nil, int64(len(ballots)), 10))
	order := make([]*Ballot, len(ballots))
	for i := range ballots {
		order[i] = &ballots[i]
	}
	if !slices.IsSortedFunc(order, compareBallots) { // as a vote stores them, by voter
		slices.SortFunc(order, compareBallots)
	}
	var num []byte
	for _, b := range order {
		h.addString(b.Voter)
		num = strconv.AppendInt(num[:0], int64(b.Revision), 10)
		h.add(num)
		num = num[:0]
		if !b.CastAt.IsZero() {
			num = b.CastAt.UTC().AppendFormat(num, time.RFC3339Nano)
		}
		h.add(num)
		h.add(compactChoice(b.Choice))
	}
	return hex.EncodeToString(h.sum())
}

// compactChoice is a choice as the digest encodes it: compact JSON, null
// when missing, the bytes as they are when not JSON. Choices are stored
// compact, and bytes without whitespace are their own compact form (valid
// JSON or not), so only the others go through json.Compact.
func compactChoice(c json.RawMessage) []byte {
	if len(c) > 0 && !bytes.ContainsAny(c, " \t\r\n") {
		return c
	}
	if len(bytes.TrimSpace(c)) == 0 {
		return []byte("null")
	}
	var b bytes.Buffer
	b.Grow(len(c))
	if json.Compact(&b, c) != nil {
		return c
	}
	return b.Bytes()
}

// fields writes length-prefixed fields to a hash, through a buffer: a
// million ballots are four million small fields.
type fields struct {
	h   hash.Hash
	buf []byte
}

// add writes a field: its length in bytes (8 bytes, big-endian), then the
// bytes.
func (f *fields) add(b []byte) {
	f.buf = binary.BigEndian.AppendUint64(f.buf, uint64(len(b)))
	f.buf = append(f.buf, b...)
	f.flush(32 << 10)
}

// addString is add for a string.
func (f *fields) addString(s string) {
	f.buf = binary.BigEndian.AppendUint64(f.buf, uint64(len(s)))
	f.buf = append(f.buf, s...)
	f.flush(32 << 10)
}

// flush hashes the buffer once it holds at least n bytes.
func (f *fields) flush(n int) {
	if len(f.buf) >= n {
		f.h.Write(f.buf)
		f.buf = f.buf[:0]
	}
}

func (f *fields) sum() []byte {
	f.flush(0)
	return f.h.Sum(nil)
}
