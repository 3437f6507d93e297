-- +goose Up
-- A process's pending callbacks, found without reading its delivered ones:
-- a change replaces its process's queued callback, and a claim skips a
-- callback while an older one of its process is in flight or due.
CREATE INDEX deliveries_pending_process ON deliveries (process_id) WHERE status = 'pending';

-- +goose Down
DROP INDEX deliveries_pending_process;
