-- Reason: how long recent jobs of each kind (provider, model, resolution, duration) took at the provider,
-- shared by every process and kept across restarts, so that polls come when a job is likely done and the
-- status message can say how long is left (issue 20, issue 15). jobs.submitted_at is when the provider
-- took the job, so any process can tell how long one has been there.
CREATE TABLE job_times (
    job_id      TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    seconds     REAL NOT NULL CHECK (seconds >= 0),
    finished_at REAL NOT NULL
);
-- The latest of each kind are read (and the oldest pruned) through this.
CREATE INDEX job_times_by_kind ON job_times (kind, finished_at);
ALTER TABLE jobs ADD COLUMN submitted_at REAL;
