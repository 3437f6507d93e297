-- +goose Up
-- metagov_ids are a community's identities (the original's MetagovID).
-- external_id is the public, random id; merged identities share the
-- primary_external_id of their group's primary (their own when unmerged).
CREATE TABLE metagov_ids (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    community_id        INTEGER NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    external_id         BIGINT NOT NULL UNIQUE,
    primary_external_id BIGINT NOT NULL,
    created_at          TIMESTAMP NOT NULL
);
CREATE INDEX metagov_ids_group ON metagov_ids (community_id, primary_external_id);

-- linked_accounts tie platform accounts to identities. An empty
-- community_platform_id is the original's NULL, so uniqueness holds for it.
CREATE TABLE linked_accounts (
    id                    INTEGER PRIMARY KEY AUTOINCREMENT,
    metagov_id            INTEGER NOT NULL REFERENCES metagov_ids (id) ON DELETE CASCADE,
    community_id          INTEGER NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    platform_type         TEXT NOT NULL,
    community_platform_id TEXT NOT NULL DEFAULT '',
    platform_identifier   TEXT NOT NULL,
    custom_data           TEXT NOT NULL DEFAULT '{}',
    link_type             TEXT NOT NULL,
    link_quality          TEXT NOT NULL,
    created_at            TIMESTAMP NOT NULL,
    updated_at            TIMESTAMP NOT NULL,
    UNIQUE (community_id, platform_type, platform_identifier, community_platform_id)
);
CREATE INDEX linked_accounts_metagov_id ON linked_accounts (metagov_id);

-- oauth_used_states holds the nonces of OAuth states a callback has used,
-- until the state would have expired anyway, so a replayed callback is
-- refused by every gateway process sharing the database.
CREATE TABLE oauth_used_states (
    nonce      TEXT PRIMARY KEY,
    expires_ms BIGINT NOT NULL
);
CREATE INDEX oauth_used_states_expiry ON oauth_used_states (expires_ms);

-- oauth_user_tokens keeps the user token of an OAuth install for the driver
-- to fetch once with its API key; ref_hash is the SHA-256 of the reference
-- the redirect carried, token is sealed like plugin secrets.
CREATE TABLE oauth_user_tokens (
    ref_hash     TEXT PRIMARY KEY,
    community_id INTEGER NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    plugin       TEXT NOT NULL,
    user_id      TEXT NOT NULL DEFAULT '',
    token        TEXT NOT NULL,
    expires_ms   BIGINT NOT NULL
);
CREATE INDEX oauth_user_tokens_expiry ON oauth_user_tokens (expires_ms);

-- +goose Down
DROP TABLE oauth_user_tokens;
DROP TABLE oauth_used_states;
DROP TABLE linked_accounts;
DROP TABLE metagov_ids;
