package app_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/internal/app"
	"github.com/metagov/metagov-go/internal/apptest"
	"github.com/metagov/metagov-go/plugin"
)

// TestDestinationKeywordMisused checks that a plugin whose config schema
// puts the destination annotation where the gateway would not honour it, or
// gives it a value that is not a boolean, stops the gateway at start instead
// of leaving a destination unguarded.
func TestDestinationKeywordMisused(t *testing.T) {
	for name, schema := range map[string]string{
		"inside oneOf": `{"type": "object", "properties": {"token": {"type": "string", "writeOnly": true}},
			"oneOf": [{"properties": {"host": {"type": "string", "x-metagov-destination": true}}}]}`,
		"not a boolean": `{"type": "object", "properties": {"token": {"type": "string", "writeOnly": true},
			"host": {"type": "string", "x-metagov-destination": "yes"}}}`,
		"on the root": `{"type": "object", "x-metagov-destination": true}`,
	} {
		t.Run(name, func(t *testing.T) {
			db := apptest.SQLite(t)
			_, err := app.Open(context.Background(), app.Config{Database: db.DSN, SecretKey: db.SecretKey, Plugins: []plugin.Info{{
				Name: "misdeclared", Config: plugin.Schema(schema), New: func() plugin.Instance { return struct{}{} },
			}}})
			require.ErrorContains(t, err, plugin.DestinationKeyword)
			require.ErrorContains(t, err, "misdeclared")
		})
	}
}

// TestWarnsOfSharedDatabase checks that a SQLite database another version
// left readable by others is named in a warning at start, and that a new
// one is not.
func TestWarnsOfSharedDatabase(t *testing.T) {
	for _, shared := range []bool{true, false} {
		db := apptest.SQLite(t)
		if shared {
			require.NoError(t, os.WriteFile(db.DSN, nil, 0o644))
			require.NoError(t, os.Chmod(db.DSN, 0o644))
		}
		var logs bytes.Buffer
		a, err := app.Open(context.Background(), app.Config{Database: db.DSN, SecretKey: db.SecretKey,
			Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		require.NoError(t, err)
		require.NoError(t, a.Stop(context.Background()))
		if shared {
			require.Contains(t, logs.String(), "chmod 600")
			require.Contains(t, logs.String(), db.DSN)
		} else {
			require.NotContains(t, logs.String(), "chmod 600")
		}
	}
}
