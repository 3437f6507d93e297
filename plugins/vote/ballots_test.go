package vote

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/plugins/vote/tally"
)

// TestPageFormat: a page reads back as written, voters with quotes,
// backslashes, control characters and non-ASCII letters included, and
// choices whose strings hold brackets, braces and commas; PostgreSQL's
// jsonb form of the same page (spaces, reordered object keys) reads too;
// anything else is an error, not a guess.
func TestPageFormat(t *testing.T) {
	at := time.Date(2026, 12, 2, 15, 4, 5, 123456789, time.UTC)
	ballots := []tally.Ballot{
		{Voter: "", Choice: json.RawMessage(`"a"`)},
		{Voter: `quote"back\slash`, Choice: json.RawMessage(`["x]","y,{"]`), Revision: 3, CastAt: at},
		{Voter: "tab\tnl\n\x01", Choice: json.RawMessage(`{"a":-3,"b}":2}`), CastAt: at},
		{Voter: "Zoë 🗳", Choice: json.RawMessage(`7`)},
		{Voter: "zz", Choice: json.RawMessage(`null`), Revision: 1},
	}
	raw := encodePage(ballots)
	require.True(t, json.Valid(raw), "%s", raw)
	var got []tally.Ballot
	require.NoError(t, readPage(raw, func(b tally.Ballot) error { got = append(got, b); return nil }))
	require.Equal(t, len(ballots), len(got))
	for i := range ballots {
		require.Equal(t, ballots[i].Voter, got[i].Voter)
		require.Equal(t, string(ballots[i].Choice), string(got[i].Choice))
		require.Equal(t, ballots[i].Revision, got[i].Revision)
		require.True(t, ballots[i].CastAt.Equal(got[i].CastAt), "%s: %s", ballots[i].Voter, got[i].CastAt)
	}

	spaced := "[ [\"a\\\"b\", 2, 0, {\"x\": 1, \"yy\": [\"]\", 2]}] ,\n\t[\"c\",0,5,\"s\"] ]"
	got = nil
	require.NoError(t, readPage([]byte(spaced), func(b tally.Ballot) error { got = append(got, b); return nil }))
	require.Len(t, got, 2)
	require.Equal(t, `a"b`, got[0].Voter)
	require.Equal(t, `{"x": 1, "yy": ["]", 2]}`, string(got[0].Choice))
	require.Equal(t, 2, got[0].Revision)
	require.True(t, got[0].CastAt.IsZero())
	require.Equal(t, time.Unix(0, 5).UTC(), got[1].CastAt)

	require.NoError(t, readPage([]byte(`[]`), func(tally.Ballot) error { t.Fatal("no ballots"); return nil }))
	for _, bad := range []string{``, `{}`, `[`, `[[]]`, `[["a",0,0]]`, `[["a",0,0,]]`, `[["a","0",0,1]]`, `[["a",0,0,1]`, `[["a",0,0,1]] x`,
		`[["a,0,0,1]]`, `[[1,0,0,1]]`, `[["a",0,0,[1,2]]`, `[["a",0,0,1],]`, `[["a",0,1.5,1]]`} {
		err := readPage([]byte(bad), func(tally.Ballot) error { return nil })
		require.Error(t, err, "%q", bad)
		require.True(t, strings.Contains(err.Error(), "not a ballot page"), "%q: %v", bad, err)
	}
}

// TestOldBallots: both forms earlier versions stored one ballot per key
// in read as the ballots they were.
func TestOldBallots(t *testing.T) {
	b, err := decodeOldBallot("ana", []byte(`[2, 1767323045000000006, ["y", "x"]]`))
	require.NoError(t, err)
	require.Equal(t, tally.Ballot{Voter: "ana", Revision: 2, CastAt: time.Unix(0, 1767323045000000006).UTC(), Choice: json.RawMessage(`["y", "x"]`)}, b)
	b, err = decodeOldBallot(`b"n`, []byte(`{"voter": "x", "choice": "y", "revision": 1}`))
	require.NoError(t, err)
	require.Equal(t, `b"n`, b.Voter, "the key names the voter")
	require.Equal(t, `"y"`, string(b.Choice))
	for _, bad := range []string{`7`, `[1, 2]`, `{`, `["a", 0, 1]`} {
		_, err := decodeOldBallot("v", []byte(bad))
		require.Error(t, err, "%q", bad)
	}
}

// FuzzReadPage: whatever a page's bytes, reading it returns ballots or an
// error, never a panic; and any ballots it reads encode to a page that
// reads back the same.
func FuzzReadPage(f *testing.F) {
	f.Add([]byte(`[["a",0,0,"x"],["b\"c",2,17,{"k": [1, "]"]}]]`))
	f.Add([]byte(`[ [ "a" , 1 , -1 , null ] ]`))
	f.Add([]byte(`[["a",0,0,[`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		var got []tally.Ballot
		if err := readPage(raw, func(b tally.Ballot) error { got = append(got, b); return nil }); err != nil {
			return
		}
		var again []tally.Ballot
		require.NoError(t, readPage(encodePage(got), func(b tally.Ballot) error { again = append(again, b); return nil }))
		require.Equal(t, len(got), len(again))
		for i := range got {
			require.Equal(t, got[i].Voter, again[i].Voter)
			require.Equal(t, string(got[i].Choice), string(again[i].Choice))
			require.Equal(t, got[i].Revision, again[i].Revision)
			require.True(t, got[i].CastAt.Equal(again[i].CastAt))
		}
	})
}
