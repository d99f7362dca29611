-- drydock's first schema, SQLite dialect. Keep in step with ../postgres/0001_initial.sql: the same
-- tables, columns and indexes, so that one set of queries (src/store/sql/) serves both.
-- Times are unix milliseconds, JSON is TEXT, booleans are 0/1.

CREATE TABLE tasks (
    name       TEXT PRIMARY KEY NOT NULL,
    body       TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL
);

-- AUTOINCREMENT: a run id is never handed out twice, even if the newest rows were ever deleted.
CREATE TABLE runs (
    seq              INTEGER PRIMARY KEY AUTOINCREMENT,
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
    queued_ms        INTEGER NOT NULL,
    started_ms       INTEGER,
    finished_ms      INTEGER,
    platform         TEXT,
    steps            TEXT NOT NULL DEFAULT '[]',
    output_images    TEXT NOT NULL DEFAULT '[]',
    dependencies     TEXT NOT NULL DEFAULT '[]',
    error            TEXT,
    node             TEXT,
    lease_until_ms   INTEGER,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
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
    run_seq INTEGER NOT NULL REFERENCES runs (seq),
    key     TEXT NOT NULL,
    value   TEXT NOT NULL,
    PRIMARY KEY (run_seq, key)
);

-- Every form of every output image a user may filter by (repo, repo:tag, registry/repo[:tag]).
CREATE TABLE run_images (
    image   TEXT NOT NULL,
    run_seq INTEGER NOT NULL REFERENCES runs (seq),
    PRIMARY KEY (image, run_seq)
);

CREATE TABLE tokens (
    id           TEXT PRIMARY KEY NOT NULL,
    name         TEXT NOT NULL,
    hash         TEXT NOT NULL UNIQUE,
    created_ms   INTEGER NOT NULL,
    last_used_ms INTEGER,
    revoked      INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE contexts (
    id         TEXT PRIMARY KEY NOT NULL,
    digest     TEXT NOT NULL,
    size       INTEGER NOT NULL,
    path       TEXT NOT NULL,
    created_ms INTEGER NOT NULL
);

CREATE TABLE kv (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);

-- Fixed planner statistics (SQLite's "manual control of query plans using sqlite_stat tables").
-- Without any, SQLite rates every index alike and may answer "task X and status Succeeded" by
-- walking all Succeeded runs (300 ms at 100,000 runs). These describe the shape drydock's history
-- has: a task or an image name matches few runs, a status or trigger kind many. They are not
-- refreshed on purpose, so plans do not change under a daemon; PostgreSQL measures its own.
ANALYZE;
DELETE FROM sqlite_stat1;
INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES
    ('runs', NULL, '100000'),
    ('runs', 'runs_task_seq', '100000 500 1'),
    ('runs', 'runs_status_seq', '100000 20000 1'),
    ('runs', 'runs_trigger_seq', '100000 25000 1'),
    ('run_images', 'sqlite_autoindex_run_images_1', '400000 40 1'),
    ('run_labels', 'sqlite_autoindex_run_labels_1', '1000 2 1');
-- Loads the statistics into this connection; others read them when they open.
ANALYZE sqlite_schema;
