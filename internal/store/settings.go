package store

import (
	"context"
	"fmt"
)

// SettingGetOrInsert returns the stored value of key, storing value first if
// there is none, so concurrent first starts agree on one value.
func (q *Queries) SettingGetOrInsert(ctx context.Context, key, value string) (string, error) {
	_, err := q.db.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING`, key, value)
	if err != nil {
		return "", fmt.Errorf("storing setting %q: %w", key, err)
	}
	var stored string
	if err := q.db.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = $1`, key).Scan(&stored); err != nil {
		return "", fmt.Errorf("reading setting %q: %w", key, interpretError(err))
	}
	return stored, nil
}

// SettingGet returns the stored value of key.
func (q *Queries) SettingGet(ctx context.Context, key string) (string, error) {
	var stored string
	if err := q.db.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = $1`, key).Scan(&stored); err != nil {
		return "", fmt.Errorf("reading setting %q: %w", key, interpretError(err))
	}
	return stored, nil
}
