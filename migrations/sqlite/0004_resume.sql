-- Resume, sqlite dialect. Keep in step with the other dialect's 0004_resume.sql.

-- The run this one resumes (`drydock runs resume`); a run's reruns and resumes are listed together.
ALTER TABLE runs ADD COLUMN resumed_from TEXT;
CREATE INDEX runs_resumed_from ON runs (resumed_from);
-- The workspace volume a run that did not succeed kept for a resume, and until when (unix ms). A
-- resume takes it (the column goes back to NULL); the janitor removes kept volumes past their time.
ALTER TABLE runs ADD COLUMN workspace TEXT;
CREATE INDEX runs_workspace ON runs (workspace);
ALTER TABLE runs ADD COLUMN workspace_until_ms INTEGER;
-- What a resume reuses, as JSON: each step that succeeded with its fingerprint and outputs, the
-- task file's hash, the commit and the run variables it was rendered with.
ALTER TABLE runs ADD COLUMN resume_state TEXT;
