package store

import (
	"context"
	"fmt"
)

// SettingGetOrInsert returns the stored value of key, storing value first if
// there is none, so concurrent first starts agree on one value.
func (q *Tx) SettingGetOrInsert(ctx context.Context, key, value string) (string, error) {
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
func (q *Reader) SettingGet(ctx context.Context, key string) (string, error) {
	var stored string
	if err := q.db.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = $1`, key).Scan(&stored); err != nil {
		return "", fmt.Errorf("reading setting %q: %w", key, interpretError(err))
	}
	return stored, nil
}

// SettingReplace sets key to value if it still holds old (compare and set),
// and reports whether it did.
func (q *Tx) SettingReplace(ctx context.Context, key, old, value string) (bool, error) {
	res, err := q.db.ExecContext(ctx, `UPDATE settings SET value = $3 WHERE key = $1 AND value = $2`, key, old, value)
	if err != nil {
		return false, fmt.Errorf("replacing setting %q: %w", key, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("replacing setting %q: %w", key, err)
	}
	return n == 1, nil
}
