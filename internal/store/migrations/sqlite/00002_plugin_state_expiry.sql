-- +goose Up
-- Instance state values set with plugin.State.SetUntil expire at expires_ms
-- (unix milliseconds by the gateway's clock); NULL is never. The partial
-- index finds the expired ones to delete.
ALTER TABLE plugin_state ADD COLUMN expires_ms BIGINT;
CREATE INDEX plugin_state_expiry ON plugin_state (expires_ms) WHERE expires_ms IS NOT NULL;

-- +goose Down
DROP INDEX plugin_state_expiry;
ALTER TABLE plugin_state DROP COLUMN expires_ms;
