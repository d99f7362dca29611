-- Approvals, sqlite dialect. Keep in step with the other dialect's 0003_approval.sql.

-- Who approved or rejected a run that waited for approval (a fork's pull request), as JSON:
-- {"decision": "approved"|"rejected", "by": <token name>, "at": <time>}.
ALTER TABLE runs ADD COLUMN approval TEXT;
-- The step a running run waits before for a person's approval (`--approve-before`); its status is
-- then AwaitingApproval while its node keeps its containers and lease.
ALTER TABLE runs ADD COLUMN waiting_step TEXT;
-- The run this one reruns (`drydock runs rerun`), with an index to list a run's reruns.
ALTER TABLE runs ADD COLUMN rerun_of TEXT;
CREATE INDEX runs_rerun_of ON runs (rerun_of);
