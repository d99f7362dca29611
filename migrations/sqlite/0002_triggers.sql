-- Trigger state, sqlite dialect. Keep in step with ../postgres/0002_triggers.sql.

-- The webhook inbox: every delivery is stored before it is answered, keyed by the provider's
-- delivery id so that a redelivery is recognised. outcome: received (not processed yet),
-- queued, ignored, failed.
CREATE TABLE deliveries (
    provider    TEXT NOT NULL,
    delivery_id TEXT NOT NULL,
    received_ms INTEGER NOT NULL,
    task        TEXT,
    repository  TEXT,
    event       TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    reason      TEXT,
    runs        TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (provider, delivery_id)
);
CREATE INDEX deliveries_received ON deliveries (received_ms);
-- Recovery after a crash looks only at deliveries that were stored but not processed.
CREATE INDEX deliveries_unprocessed ON deliveries (received_ms) WHERE outcome = 'received';

-- Branch and tag heads of polled repositories as last seen (ls-remote).
CREATE TABLE source_heads (
    repository TEXT NOT NULL,
    ref        TEXT NOT NULL,
    commit_id  TEXT NOT NULL,
    seen_ms    INTEGER NOT NULL,
    PRIMARY KEY (repository, ref)
);

-- What each task's last successful build used (runtime and build-time base images, with the
-- digests used) and produced (output images). role: runtime, buildtime, output.
CREATE TABLE task_images (
    task        TEXT NOT NULL,
    image       TEXT NOT NULL,
    role        TEXT NOT NULL,
    digest      TEXT,
    run_id      TEXT NOT NULL,
    recorded_ms INTEGER NOT NULL,
    PRIMARY KEY (task, image, role)
);
CREATE INDEX task_images_image ON task_images (image, role);

-- The base-image watcher's view of each distinct image: the digest it last acted on, when it
-- last asked, and a change waiting out its quiet period (pending_*), kept here so that a restart
-- in the middle of a quiet period still fires.
CREATE TABLE image_state (
    image          TEXT PRIMARY KEY NOT NULL,
    digest         TEXT,
    checked_ms     INTEGER,
    changed_ms     INTEGER,
    error          TEXT,
    pending_old    TEXT,
    pending_new    TEXT,
    pending_due_ms INTEGER,
    next_check_ms  INTEGER
);

-- Each timer's cursor: every occurrence up to last_ms has been fired or recorded as skipped.
CREATE TABLE timer_state (
    task    TEXT NOT NULL,
    timer   TEXT NOT NULL,
    last_ms INTEGER NOT NULL,
    PRIMARY KEY (task, timer)
);

-- Timer history: fired occurrences and skipped ones (a run of missed occurrences is one row).
CREATE TABLE timer_events (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    task          TEXT NOT NULL,
    timer         TEXT NOT NULL,
    occurrence_ms INTEGER NOT NULL,
    last_ms       INTEGER NOT NULL,
    count         INTEGER NOT NULL,
    outcome       TEXT NOT NULL,
    run_id        TEXT,
    recorded_ms   INTEGER NOT NULL
);
CREATE INDEX timer_events_task ON timer_events (task, seq);
