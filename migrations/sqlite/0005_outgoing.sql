-- Outgoing deliveries, sqlite dialect. Keep in step with the other dialect's 0005_outgoing.sql.

-- Commit statuses and run events drydock sends (`drydock hook outgoing list`). A row is written
-- before its first attempt, so a delivery survives a restart; its id is the X-Drydock-Delivery
-- header, the same on every attempt, for receivers to deduplicate.
-- kind: webhook | commit_status; provider: github | gitlab | gitea (commit statuses: which
-- authorization header); credential: the sealed token or signing secret, NULL when none;
-- state: pending | delivered | failed | superseded; times in unix ms.
-- seq orders deliveries as they were queued.
CREATE TABLE outgoing (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    id          TEXT NOT NULL UNIQUE,
    dedup_key   TEXT NOT NULL UNIQUE,
    run_id      TEXT NOT NULL,
    task        TEXT,
    kind        TEXT NOT NULL,
    provider    TEXT,
    event       TEXT NOT NULL,
    url         TEXT NOT NULL,
    body        TEXT NOT NULL,
    credential  TEXT,
    state       TEXT NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    created_ms  INTEGER NOT NULL,
    next_ms     INTEGER,
    last_ms     INTEGER,
    status_code INTEGER,
    answer      TEXT
);
CREATE INDEX outgoing_run ON outgoing (run_id, url);
-- The sender looks only at deliveries still to make.
CREATE INDEX outgoing_due ON outgoing (next_ms) WHERE state = 'pending';
