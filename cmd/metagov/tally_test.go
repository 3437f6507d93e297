package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/plugins/vote/tally"
)

// TestTallyCommand recounts an exported vote, and refuses one whose ballots
// were changed after the fact.
func TestTallyCommand(t *testing.T) {
	dir := t.TempDir()
	rules := tally.Rules{Method: tally.RankedChoice, Options: []string{"a", "b", "c"}}
	ballots := []tally.Ballot{
		{Voter: "v1", Choice: json.RawMessage(`["a","b"]`)},
		{Voter: "v2", Choice: json.RawMessage(`["b","a"]`)},
		{Voter: "v3", Choice: json.RawMessage(`["c","b"]`)},
	}
	rec, err := tally.NewRecord(rules, ballots)
	require.NoError(t, err)
	write := func(name string, v any) string {
		b, err := json.Marshal(v)
		require.NoError(t, err)
		path := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(path, b, 0o600))
		return path
	}

	stdout, stderr, err := run(t, dir, cleanEnv(), "tally", write("vote.json", rec))
	require.NoError(t, err, stderr)
	var out tally.Outcome
	require.NoError(t, json.Unmarshal([]byte(stdout), &out))
	require.Equal(t, rec.Outcome.Winners, out.Winners)
	require.Equal(t, []string{"b"}, out.Winners, "c is eliminated, its ballot goes to b")
	require.Contains(t, stderr, "verified")

	rec.Ballots[2].Choice = json.RawMessage(`["a","b"]`)
	_, stderr, err = run(t, dir, cleanEnv(), "tally", write("forged.json", rec))
	require.Error(t, err)
	require.Contains(t, stderr, "digest")
}
