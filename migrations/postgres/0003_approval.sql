-- Approvals, postgres dialect. Keep in step with the other dialect's 0003_approval.sql.

-- Who approved or rejected a run that waited for approval (a fork's pull request), as JSON:
-- {"decision": "approved"|"rejected", "by": <token name>, "at": <time>}.
ALTER TABLE runs ADD COLUMN approval TEXT;
