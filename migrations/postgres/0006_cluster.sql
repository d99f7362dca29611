-- Fencing and the node list, postgres dialect. Keep in step with the other dialect's 0006_cluster.sql.

-- Counts the claims of a run; the latest one's count is its fencing token.
-- A node names the epoch it claimed in every write about the run (renewal, step, platform, end);
-- a write that matches nothing tells the node it was fenced out: the reaper or another node has
-- the run now, and nothing the node writes late can land on the record.
ALTER TABLE runs ADD COLUMN claim_epoch BIGINT NOT NULL DEFAULT 0;

-- The nodes of the database, as each reports itself every few seconds (`drydock node list`): its
-- address, labels, worker slots and those in use, the roles it leads, and whether it is draining.
-- `drain_requested` is how `drydock node drain` reaches a node through any other: the node reads
-- it back with its next report, stops claiming, lets its runs finish, and leaves.
CREATE TABLE nodes (
    id TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    version TEXT NOT NULL,
    labels TEXT NOT NULL,
    slots BIGINT NOT NULL,
    busy BIGINT NOT NULL,
    roles TEXT NOT NULL,
    state TEXT NOT NULL,
    drain_requested BIGINT NOT NULL DEFAULT 0,
    started_ms BIGINT NOT NULL,
    seen_ms BIGINT NOT NULL
);
