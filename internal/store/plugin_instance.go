package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
)

// PluginInstance is a community's connection to one platform account through
// one plugin. A community may have several instances of a plugin, told apart
// by PlatformID.
type PluginInstance struct {
	ID          int64
	CommunityID int64
	Name        string
	PlatformID  string
	Config      json.RawMessage
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

const pluginInstanceColumns = `id, community_id, name, platform_id, config, created_at, updated_at`

func scanPluginInstance(row interface{ Scan(...any) error }) (PluginInstance, error) {
	var p PluginInstance
	var config []byte
	err := row.Scan(&p.ID, &p.CommunityID, &p.Name, &p.PlatformID, &config, &p.CreatedAt, &p.UpdatedAt)
	p.Config = config
	return p, interpretError(err)
}

func (q *Reader) listPluginInstances(ctx context.Context, what, where string, args ...any) ([]PluginInstance, error) {
	rows, err := q.db.QueryContext(ctx,
		`SELECT `+pluginInstanceColumns+` FROM plugin_instances WHERE `+where+` ORDER BY id`, args...)
	if err != nil {
		return nil, fmt.Errorf("listing plugin instances %s: %w", what, err)
	}
	defer rows.Close()
	var out []PluginInstance
	for rows.Next() {
		p, err := scanPluginInstance(rows)
		if err != nil {
			return nil, fmt.Errorf("listing plugin instances %s: %w", what, err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing plugin instances %s: %w", what, err)
	}
	return out, nil
}

// PluginInstanceListByCommunity returns a community's instances, oldest first.
func (q *Reader) PluginInstanceListByCommunity(ctx context.Context, communityID int64) ([]PluginInstance, error) {
	return q.listPluginInstances(ctx, "of community", `community_id = $1`, communityID)
}

// PluginInstanceListByName returns every instance of a plugin, in all
// communities.
func (q *Reader) PluginInstanceListByName(ctx context.Context, name string) ([]PluginInstance, error) {
	return q.listPluginInstances(ctx, "of plugin "+name, `name = $1`, name)
}

// PluginInstanceListByPlatformID returns the instances of a plugin connected to
// one platform account, in all communities.
func (q *Reader) PluginInstanceListByPlatformID(ctx context.Context, name, platformID string) ([]PluginInstance, error) {
	return q.listPluginInstances(ctx, "of plugin "+name, `name = $1 AND platform_id = $2`, name, platformID)
}

// PluginInstanceGetByID returns one instance.
func (q *Reader) PluginInstanceGetByID(ctx context.Context, id int64) (PluginInstance, error) {
	p, err := scanPluginInstance(q.db.QueryRowContext(ctx,
		`SELECT `+pluginInstanceColumns+` FROM plugin_instances WHERE id = $1`, id))
	if err != nil {
		return p, fmt.Errorf("fetching plugin instance %d: %w", id, err)
	}
	return p, nil
}

// PluginInstanceInsertParams are the fields of a new instance.
type PluginInstanceInsertParams struct {
	CommunityID int64
	Name        string
	PlatformID  string
	Config      json.RawMessage
}

// PluginInstanceInsert creates an instance; an existing (community, name,
// platform id) is ErrConflict.
func (q *Tx) PluginInstanceInsert(ctx context.Context, p *PluginInstanceInsertParams) (PluginInstance, error) {
	t := now()
	inst, err := scanPluginInstance(q.db.QueryRowContext(ctx,
		`INSERT INTO plugin_instances (community_id, name, platform_id, config, created_at, updated_at)
		 VALUES ($1, $2, $3, $4, $5, $5) RETURNING `+pluginInstanceColumns,
		p.CommunityID, p.Name, p.PlatformID, []byte(p.Config), t))
	if err != nil {
		return inst, fmt.Errorf("inserting plugin instance %q: %w", p.Name, err)
	}
	return inst, nil
}

// PluginInstanceUpdateConfig replaces an instance's config, keeping its state
// and processes.
func (q *Tx) PluginInstanceUpdateConfig(ctx context.Context, id int64, config json.RawMessage) error {
	_, err := q.db.ExecContext(ctx,
		`UPDATE plugin_instances SET config = $1, updated_at = $2 WHERE id = $3`, []byte(config), now(), id)
	if err != nil {
		return fmt.Errorf("updating plugin instance %d: %w", id, err)
	}
	return nil
}

// PluginInstanceUpdatePlatformID changes the platform account an instance
// is connected to; another instance of the plugin with that id in the
// community is ErrConflict.
func (q *Tx) PluginInstanceUpdatePlatformID(ctx context.Context, id int64, platformID string) error {
	_, err := q.db.ExecContext(ctx,
		`UPDATE plugin_instances SET platform_id = $1, updated_at = $2 WHERE id = $3`, platformID, now(), id)
	if err != nil {
		return fmt.Errorf("updating the platform id of plugin instance %d: %w", id, interpretError(err))
	}
	return nil
}

// PluginInstanceDelete deletes an instance and its state; its finished
// processes stay, detached from it.
func (q *Tx) PluginInstanceDelete(ctx context.Context, id int64) error {
	res, err := q.db.ExecContext(ctx, `DELETE FROM plugin_instances WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("deleting plugin instance %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("deleting plugin instance %d: %w", id, ErrNotFound)
	}
	return nil
}

// PluginStateGet returns one state value of an instance, whether or not it
// has expired (see PluginStateGetAt).
func (q *Reader) PluginStateGet(ctx context.Context, instanceID int64, key string) (json.RawMessage, error) {
	return q.PluginStateGetAt(ctx, instanceID, key, time.Time{})
}

// PluginStateGetAt returns one state value of an instance as it stands at
// now: a value that expired by then is ErrNotFound, pruned or not. A zero
// now reads expired values too.
func (q *Reader) PluginStateGetAt(ctx context.Context, instanceID int64, key string, now time.Time) (json.RawMessage, error) {
	var v []byte
	err := q.db.QueryRowContext(ctx,
		`SELECT value FROM plugin_state WHERE instance_id = $1 AND key = $2 AND (expires_ms IS NULL OR expires_ms > $3)`,
		instanceID, key, unixMilliOrMin(now)).Scan(&v)
	if err != nil {
		return nil, fmt.Errorf("reading state %q of plugin instance %d: %w", key, instanceID, interpretError(err))
	}
	return v, nil
}

// unixMilliOrMin is t in unix milliseconds, or the smallest value for a zero
// t, so that nothing counts as expired.
func unixMilliOrMin(t time.Time) int64 {
	if t.IsZero() {
		return math.MinInt64
	}
	return t.UnixMilli()
}

// PluginStatePut sets one state value of an instance for good; a nil value
// deletes it.
func (q *Tx) PluginStatePut(ctx context.Context, instanceID int64, key string, value json.RawMessage) error {
	return q.PluginStatePutUntil(ctx, instanceID, key, value, time.Time{})
}

// PluginStatePutUntil sets one state value of an instance that expires at
// until (never if until is zero); a nil value deletes it.
func (q *Tx) PluginStatePutUntil(ctx context.Context, instanceID int64, key string, value json.RawMessage, until time.Time) error {
	var err error
	if value == nil {
		_, err = q.db.ExecContext(ctx, `DELETE FROM plugin_state WHERE instance_id = $1 AND key = $2`, instanceID, key)
	} else {
		var expires *int64
		if !until.IsZero() {
			ms := until.UnixMilli()
			expires = &ms
		}
		_, err = q.db.ExecContext(ctx,
			`INSERT INTO plugin_state (instance_id, key, value, expires_ms) VALUES ($1, $2, $3, $4)
			 ON CONFLICT (instance_id, key) DO UPDATE SET value = excluded.value, expires_ms = excluded.expires_ms`,
			instanceID, key, []byte(value), expires)
	}
	if err != nil {
		return fmt.Errorf("writing state %q of plugin instance %d: %w", key, instanceID, err)
	}
	return nil
}

// PluginStateDeleteExpired deletes the state values that expired by now, of
// one instance or, with instanceID 0, of all, and returns how many.
func (q *Tx) PluginStateDeleteExpired(ctx context.Context, instanceID int64, now time.Time) (int64, error) {
	query, args := `DELETE FROM plugin_state WHERE expires_ms <= $1`, []any{now.UnixMilli()}
	if instanceID != 0 {
		query, args = query+` AND instance_id = $2`, append(args, instanceID)
	}
	res, err := q.db.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, fmt.Errorf("deleting expired plugin state: %w", err)
	}
	return res.RowsAffected()
}

// PluginInstanceListAll returns every instance, for re-encrypting secrets.
func (q *Reader) PluginInstanceListAll(ctx context.Context) ([]PluginInstance, error) {
	return q.listPluginInstances(ctx, "of all communities", `1 = 1`)
}

// PluginStateList returns an instance's state values whose keys start with
// prefix, as they stand at now (see PluginStateGetAt).
func (q *Reader) PluginStateList(ctx context.Context, instanceID int64, prefix string, now time.Time) (map[string]json.RawMessage, error) {
	rows, err := q.db.QueryContext(ctx,
		`SELECT key, value FROM plugin_state WHERE instance_id = $1 AND substr(key, 1, length($2)) = $2
		 AND (expires_ms IS NULL OR expires_ms > $3)`, instanceID, prefix, unixMilliOrMin(now))
	if err != nil {
		return nil, fmt.Errorf("listing state %q of plugin instance %d: %w", prefix, instanceID, err)
	}
	defer rows.Close()
	out := map[string]json.RawMessage{}
	for rows.Next() {
		var k string
		var v []byte
		if err := rows.Scan(&k, &v); err != nil {
			return nil, fmt.Errorf("listing state %q of plugin instance %d: %w", prefix, instanceID, err)
		}
		out[k] = v
	}
	return out, rows.Err()
}

// PluginStateScan calls fn for each of an instance's state values whose key
// starts with prefix, as they stand at now (see PluginStateGetAt), in byte
// order of the keys, streaming them: nothing is held beyond the row fn
// gets, whose value is only valid during the call. It stops at fn's first
// error and returns it.
func (q *Reader) PluginStateScan(ctx context.Context, instanceID int64, prefix string, now time.Time, fn func(key string, value json.RawMessage) error) error {
	// The keys under prefix are a range of the primary key's index, which
	// is in byte order: SQLite compares text bytewise, and on PostgreSQL the
	// key column is COLLATE "C" (migration 00005). The query says COLLATE
	// "C" on PostgreSQL all the same, so that it stays right on a column in
	// another collation, only slower.
	collate := ""
	if q.dialect == Postgres {
		collate = ` COLLATE "C"`
	}
	query := `SELECT key, value FROM plugin_state WHERE instance_id = $1 AND key` + collate + ` >= $2 AND substr(key, 1, length($2)) = $2
		AND (expires_ms IS NULL OR expires_ms > $3) ORDER BY key` + collate
	args := []any{instanceID, prefix, unixMilliOrMin(now)}
	if upper, ok := prefixEnd(prefix); ok {
		query = `SELECT key, value FROM plugin_state WHERE instance_id = $1 AND key` + collate + ` >= $2 AND key` + collate + ` < $4
			AND (expires_ms IS NULL OR expires_ms > $3) ORDER BY key` + collate
		args = append(args, upper)
	}
	rows, err := q.db.QueryContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("scanning state %q of plugin instance %d: %w", prefix, instanceID, err)
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		var v sql.RawBytes
		if err := rows.Scan(&k, &v); err != nil {
			return fmt.Errorf("scanning state %q of plugin instance %d: %w", prefix, instanceID, err)
		}
		if err := fn(k, json.RawMessage(v)); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("scanning state %q of plugin instance %d: %w", prefix, instanceID, err)
	}
	return nil
}

// PluginStateFloor finds, of an instance's state values as they stand at now
// (see PluginStateGetAt), the one whose key is the greatest that starts
// with prefix and is at most key (below key when inclusive is false), in
// byte order; found is false when there is none. It is one lookup in the
// primary key's index, read backwards from key: on PostgreSQL the key
// column is COLLATE "C" (migration 00005), so that index is in byte order
// too, and EXPLAIN shows Limit → Index Scan Backward using
// plugin_state_pkey. The query still says COLLATE "C", so that it stays
// right on a column in another collation, only slower.
func (q *Reader) PluginStateFloor(ctx context.Context, instanceID int64, prefix, key string, inclusive bool, now time.Time) (k string, value json.RawMessage, found bool, err error) {
	if key < prefix || (!inclusive && key == prefix) {
		return "", nil, false, nil
	}
	// Every string between prefix and a key that starts with it starts
	// with it too. A key past everything under prefix is brought down to
	// the prefix's end, so that the index is not read backwards through
	// keys under no prefix; where the end is not ASCII-simple, the prefix
	// is checked on each row instead.
	bound, upper := key, "<= $3"
	if !inclusive {
		upper = "< $3"
	}
	underPrefix := ""
	if !strings.HasPrefix(key, prefix) {
		if end, ok := prefixEnd(prefix); ok {
			bound, upper = end, "< $3"
		} else {
			underPrefix = " AND substr(key, 1, length($2)) = $2"
		}
	}
	collate := ""
	if q.dialect == Postgres {
		collate = ` COLLATE "C"`
	}
	query := `SELECT key, value FROM plugin_state WHERE instance_id = $1 AND key` + collate + ` >= $2 AND key` + collate + ` ` + upper +
		underPrefix + ` AND (expires_ms IS NULL OR expires_ms > $4) ORDER BY key` + collate + ` DESC LIMIT 1`
	var v []byte
	err = q.db.QueryRowContext(ctx, query, instanceID, prefix, bound, unixMilliOrMin(now)).Scan(&k, &v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil, false, nil
	}
	if err != nil {
		return "", nil, false, fmt.Errorf("finding the state key at or below %q under %q of plugin instance %d: %w", key, prefix, instanceID, err)
	}
	return k, v, true, nil
}

// prefixEnd is the least string above every string that starts with
// prefix, when it is one byte of ASCII away (keys are UTF-8, so no byte is
// 0xff, but a changed byte inside a multi-byte character would not be text).
func prefixEnd(prefix string) (string, bool) {
	if prefix == "" || prefix[len(prefix)-1] >= 0x7f {
		return "", false
	}
	return prefix[:len(prefix)-1] + string(prefix[len(prefix)-1]+1), true
}
