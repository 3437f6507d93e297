-- +goose Up
-- Plugin state keys compare byte by byte (plugin.State.Scan's order, and
-- State.Floor's "greatest key at or below"), so the key column takes the
-- "C" collation: the primary key's index (instance_id, key) is then in byte
-- order, and a scan of a prefix or a floor lookup (ORDER BY key COLLATE "C"
-- DESC LIMIT 1) is a range of that index rather than a sort of all an
-- instance's keys. Rebuilds the primary key index.
ALTER TABLE plugin_state ALTER COLUMN key TYPE TEXT COLLATE "C";

-- +goose Down
ALTER TABLE plugin_state ALTER COLUMN key TYPE TEXT COLLATE "default";
