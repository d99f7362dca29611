-- Fencing, sqlite dialect. Keep in step with the other dialect's 0006_fencing.sql.

-- Counts the claims of a run (a resume queues the same run again, so it may be claimed twice).
-- A node names the epoch it claimed in every write about the run (renewal, step, platform, end);
-- a write that matches nothing tells the node it was fenced out: the reaper or another node has
-- the run now, and nothing the node writes late can land on the record.
ALTER TABLE runs ADD COLUMN claim_epoch BIGINT NOT NULL DEFAULT 0;
