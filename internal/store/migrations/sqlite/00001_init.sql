-- +goose Up
CREATE TABLE communities (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    slug          TEXT NOT NULL UNIQUE,
    readable_name TEXT NOT NULL DEFAULT '',
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL
);

CREATE TABLE plugin_instances (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    community_id INTEGER NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    platform_id  TEXT NOT NULL DEFAULT '',
    config       TEXT NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    updated_at   TIMESTAMP NOT NULL,
    UNIQUE (community_id, name, platform_id)
);

CREATE TABLE plugin_state (
    instance_id INTEGER NOT NULL REFERENCES plugin_instances (id) ON DELETE CASCADE,
    key         TEXT NOT NULL,
    value       TEXT NOT NULL,
    PRIMARY KEY (instance_id, key)
);

CREATE TABLE processes (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    community_id INTEGER NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    instance_id  INTEGER REFERENCES plugin_instances (id) ON DELETE SET NULL,
    plugin       TEXT NOT NULL,
    name         TEXT NOT NULL,
    status       TEXT NOT NULL,
    input        TEXT NOT NULL,
    outcome      TEXT NOT NULL,
    errors       TEXT NOT NULL,
    url          TEXT NOT NULL DEFAULT '',
    state        TEXT NOT NULL,
    callback_url TEXT NOT NULL DEFAULT '',
    sequence     INTEGER NOT NULL DEFAULT 0,
    created_at   TIMESTAMP NOT NULL,
    updated_at   TIMESTAMP NOT NULL
);
CREATE INDEX processes_instance_status ON processes (instance_id, status);
CREATE INDEX processes_type_status ON processes (plugin, name, status);

-- process_timers are durable wake-ups: a relay moves the due ones to the job
-- queue. due_ms is Unix milliseconds, which compare the same everywhere.
CREATE TABLE process_timers (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    process_id INTEGER NOT NULL REFERENCES processes (id) ON DELETE CASCADE,
    due_ms     INTEGER NOT NULL
);
CREATE INDEX process_timers_due ON process_timers (due_ms);

CREATE TABLE events (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    community_id INTEGER NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    source       TEXT NOT NULL,
    event_type   TEXT NOT NULL,
    data         TEXT NOT NULL,
    initiator    TEXT,
    created_at   TIMESTAMP NOT NULL
);
CREATE INDEX events_community ON events (community_id, id);
CREATE INDEX events_created ON events (created_at);

CREATE TABLE deliveries (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    community_id INTEGER NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    kind         TEXT NOT NULL,
    process_id   INTEGER REFERENCES processes (id) ON DELETE CASCADE,
    event_id     INTEGER REFERENCES events (id) ON DELETE CASCADE,
    message_id   TEXT NOT NULL UNIQUE,
    request_id   TEXT NOT NULL DEFAULT '',
    url          TEXT NOT NULL,
    payload      TEXT NOT NULL,
    status       TEXT NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    last_error   TEXT NOT NULL DEFAULT '',
    -- next_attempt_ms and lease_until_ms are Unix milliseconds: when the
    -- delivery is due, and until when a dispatcher that claimed it owns it.
    next_attempt_ms INTEGER NOT NULL DEFAULT 0,
    lease_until_ms  INTEGER NOT NULL DEFAULT 0,
    created_at   TIMESTAMP NOT NULL,
    updated_at   TIMESTAMP NOT NULL
);
CREATE INDEX deliveries_due ON deliveries (status, next_attempt_ms);
CREATE INDEX deliveries_community ON deliveries (community_id, id);
CREATE INDEX deliveries_process ON deliveries (process_id);

CREATE TABLE delivery_attempts (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    delivery_id  INTEGER NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    attempted_at TIMESTAMP NOT NULL,
    status_code  INTEGER NOT NULL DEFAULT 0,
    error        TEXT NOT NULL DEFAULT '',
    duration_ms  INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX delivery_attempts_delivery ON delivery_attempts (delivery_id, id);

-- api_keys authenticate drivers. Only a SHA-256 of each key is kept. A key
-- with admin set reaches every community; the others only those listed in
-- api_key_communities.
CREATE TABLE api_keys (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT NOT NULL DEFAULT '',
    prefix     TEXT NOT NULL,
    hash       TEXT NOT NULL UNIQUE,
    admin      BOOLEAN NOT NULL,
    created_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP
);

CREATE TABLE api_key_communities (
    key_id       INTEGER NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    community_id INTEGER NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    PRIMARY KEY (key_id, community_id)
);

-- audit_log records every change a driver makes. Secrets never enter it.
CREATE TABLE audit_log (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    at           TIMESTAMP NOT NULL,
    key_id       INTEGER,
    community_id INTEGER,
    community    TEXT NOT NULL DEFAULT '',
    action       TEXT NOT NULL,
    detail       TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_community ON audit_log (community_id, id);

-- settings keeps values the gateway generates for itself, such as the
-- webhook signing secret when none is configured.
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- id_blocks hands out process ids in blocks, so a gateway process can give a
-- new process its id before anything is written and write it in one
-- transaction with everything its start caused.
CREATE TABLE id_blocks (
    name    TEXT PRIMARY KEY,
    next_id INTEGER NOT NULL
);
INSERT INTO id_blocks (name, next_id) VALUES ('processes', 1);

-- config_generation counts changes to communities and plugin instances, so
-- every gateway process sharing the database can tell when its cache is stale.
CREATE TABLE config_generation (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    generation INTEGER NOT NULL
);
INSERT INTO config_generation (id, generation) VALUES (1, 0);

-- +goose Down
DROP TABLE config_generation;
DROP TABLE id_blocks;
DROP TABLE settings;
DROP TABLE audit_log;
DROP TABLE api_key_communities;
DROP TABLE api_keys;
DROP TABLE delivery_attempts;
DROP TABLE deliveries;
DROP TABLE events;
DROP TABLE process_timers;
DROP TABLE processes;
DROP TABLE plugin_state;
DROP TABLE plugin_instances;
DROP TABLE communities;
