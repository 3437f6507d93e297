package tally

import (
	"encoding/json"
	"testing"
	"time"
)

// TestDigestPinned: the digest of a fixed record is the one the published
// encoding gives (computed before the digest was buffered and took
// compact choices as they are), so records exported by any version verify:
// unsorted ballots, choices with spaces, not JSON, blank and missing, a
// cast time in another zone.
func TestDigestPinned(t *testing.T) {
	r := Rules{Method: Approval, Options: []string{"a", "b", "c"}, Eligible: []string{"z", "x", "y"}, AllowChange: true}
	at := time.Date(2026, 12, 2, 11, 0, 0, 123456789, time.UTC)
	ballots := []Ballot{
		{Voter: "y", Choice: json.RawMessage(`["a","c"]`), Revision: 2, CastAt: at},
		{Voter: "x", Choice: json.RawMessage(`[ "b" ]`), CastAt: at.Add(time.Second)},
		{Voter: "z", Choice: json.RawMessage(`{not json }`)},
		{Voter: "w", Choice: json.RawMessage(` `)},
		{Voter: "v", Choice: nil, Revision: 1},
		{Voter: "x", Choice: json.RawMessage(`["a"]`), Revision: 1, CastAt: at.Add(time.Minute).In(time.FixedZone("x", 3600))},
	}
	if got, want := Digest(r, ballots), "e14e690aad15286a7daf2db08873c444cf4367259c94afeecbd2b025e687057e"; got != want {
		t.Fatalf("digest %s, want %s", got, want)
	}
}
