-- The schema of version 1 (discovery-engine before the PostgreSQL backend), frozen for the
-- migration tests: a database written by that version must upgrade in place.
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS accounts (
    id           INTEGER PRIMARY KEY,
    handle       TEXT    NOT NULL UNIQUE,
    display_name TEXT    NOT NULL DEFAULT '',
    kind         INTEGER NOT NULL DEFAULT 0,      -- index into ACCOUNT_KINDS
    created_at   INTEGER NOT NULL,
    seq          INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS follows (
    src        INTEGER NOT NULL,
    dst        INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    seq        INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (src, dst)
);
CREATE TABLE IF NOT EXISTS removed_follows (
    seq INTEGER NOT NULL,
    src INTEGER NOT NULL,
    dst INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS posts (
    id            INTEGER PRIMARY KEY,
    author        INTEGER,                          -- NULL for items with no author (Last.fm artists)
    taken_at      INTEGER NOT NULL,
    caption       TEXT    NOT NULL DEFAULT '',
    media_type    INTEGER NOT NULL DEFAULT 0,       -- index into MEDIA_TYPES
    image         TEXT,                             -- path relative to the media dir, or http(s) URL
    like_count    INTEGER NOT NULL DEFAULT 0,
    comment_count INTEGER NOT NULL DEFAULT 0,
    seq           INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS hashtags (
    id  INTEGER PRIMARY KEY,
    tag TEXT NOT NULL UNIQUE                        -- normalised form
);
CREATE TABLE IF NOT EXISTS post_hashtags (
    post     INTEGER NOT NULL,
    hashtag  INTEGER NOT NULL,
    original TEXT    NOT NULL,                      -- as the author wrote it
    seq      INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (post, hashtag)
);
CREATE TABLE IF NOT EXISTS interactions (
    id         INTEGER PRIMARY KEY,
    user       INTEGER NOT NULL,
    post       INTEGER NOT NULL,
    kind       INTEGER NOT NULL,                    -- index into INTERACTION_KINDS
    created_at INTEGER NOT NULL,
    value      REAL,
    UNIQUE (user, post, kind, created_at)
);
CREATE TABLE IF NOT EXISTS events_seen (
    event_id    TEXT PRIMARY KEY,                   -- client event id, for idempotent ingestion
    account     INTEGER NOT NULL,
    received_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS user_settings (
    account INTEGER PRIMARY KEY,
    body    TEXT NOT NULL                           -- JSON, validated by discovery.settings
);
CREATE TABLE IF NOT EXISTS tokens (
    token_hash TEXT PRIMARY KEY,
    account    INTEGER,
    admin      INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS truth_users (
    account   INTEGER PRIMARY KEY,
    interests TEXT NOT NULL,                        -- JSON list of floats, one per topic
    community INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS truth_posts (
    post    INTEGER PRIMARY KEY,
    topic   INTEGER NOT NULL,
    quality REAL    NOT NULL,
    clickbait INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS follows_dst ON follows (dst);
CREATE INDEX IF NOT EXISTS follows_seq ON follows (seq);
CREATE INDEX IF NOT EXISTS accounts_seq ON accounts (seq);
CREATE INDEX IF NOT EXISTS posts_seq ON posts (seq);
CREATE INDEX IF NOT EXISTS posts_author ON posts (author, taken_at);
CREATE INDEX IF NOT EXISTS post_hashtags_seq ON post_hashtags (seq);
CREATE INDEX IF NOT EXISTS removed_follows_seq ON removed_follows (seq);
