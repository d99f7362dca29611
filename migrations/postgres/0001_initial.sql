-- drydock's first schema, PostgreSQL dialect. Keep in step with ../sqlite/0001_initial.sql: the same
-- tables, columns and indexes, so that one set of queries (src/store/sql/) serves both.
-- Times are unix milliseconds, JSON is TEXT, booleans are 0/1.

CREATE TABLE tasks (
    name       TEXT PRIMARY KEY NOT NULL,
    body       TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL
);

-- BIGSERIAL never hands out a value twice, so neither is a run id. Aborted inserts leave gaps.
CREATE TABLE runs (
    seq              BIGSERIAL PRIMARY KEY,
    -- Set in the same transaction as the insert (it is derived from seq).
    id               TEXT UNIQUE,
    status           TEXT NOT NULL,
    run_type         TEXT NOT NULL,
    task             TEXT,
    -- The trigger's `kind` (manual, source, timer, base_image), split out for the list filter.
    trigger_kind     TEXT NOT NULL,
    trigger          TEXT NOT NULL,
    request          TEXT NOT NULL,
    required_labels  TEXT NOT NULL,
    queued_ms        BIGINT NOT NULL,
    started_ms       BIGINT,
    finished_ms      BIGINT,
    platform         TEXT,
    steps            TEXT NOT NULL DEFAULT '[]',
    output_images    TEXT NOT NULL DEFAULT '[]',
    dependencies     TEXT NOT NULL DEFAULT '[]',
    error            TEXT,
    node             TEXT,
    lease_until_ms   BIGINT,
    cancel_requested SMALLINT NOT NULL DEFAULT 0,
    dedup_key        TEXT UNIQUE
);

-- One index per list filter, each ending in seq so "newest first, LIMIT n" walks the index backwards.
CREATE INDEX runs_task_seq ON runs (task, seq);
CREATE INDEX runs_status_seq ON runs (status, seq);
CREATE INDEX runs_trigger_seq ON runs (trigger_kind, seq);
-- Start-up recovery and the lease reaper look only at running runs.
CREATE INDEX runs_running_node ON runs (node) WHERE status = 'Running';

-- required_labels again, one row per label, so claiming can match labels in portable SQL.
CREATE TABLE run_labels (
    run_seq BIGINT NOT NULL REFERENCES runs (seq),
    key     TEXT NOT NULL,
    value   TEXT NOT NULL,
    PRIMARY KEY (run_seq, key)
);

-- Every form of every output image a user may filter by (repo, repo:tag, registry/repo[:tag]).
CREATE TABLE run_images (
    image   TEXT NOT NULL,
    run_seq BIGINT NOT NULL REFERENCES runs (seq),
    PRIMARY KEY (image, run_seq)
);

CREATE TABLE tokens (
    id           TEXT PRIMARY KEY NOT NULL,
    name         TEXT NOT NULL,
    hash         TEXT NOT NULL UNIQUE,
    created_ms   BIGINT NOT NULL,
    last_used_ms BIGINT,
    revoked      SMALLINT NOT NULL DEFAULT 0
);

CREATE TABLE contexts (
    id         TEXT PRIMARY KEY NOT NULL,
    digest     TEXT NOT NULL,
    size       BIGINT NOT NULL,
    path       TEXT NOT NULL,
    created_ms BIGINT NOT NULL
);

CREATE TABLE kv (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);
