-- Reason: the first schema: jobs, their status history, the quota ledger and per-scope limits.
CREATE TABLE jobs (
    id                TEXT PRIMARY KEY,
    platform          TEXT NOT NULL,
    workspace_id      TEXT NOT NULL,
    channel_id        TEXT NOT NULL,
    thread_id         TEXT,
    status_message_id TEXT,
    user_id           TEXT NOT NULL,
    user_name         TEXT NOT NULL DEFAULT '',
    request           TEXT NOT NULL,
    cost              INTEGER NOT NULL,
    provider          TEXT NOT NULL,
    task_id           TEXT,
    status            TEXT NOT NULL,
    created_at        REAL NOT NULL,
    updated_at        REAL NOT NULL,
    next_poll_at      REAL NOT NULL DEFAULT 0,
    attempts          INTEGER NOT NULL DEFAULT 0,
    submit_attempts   INTEGER NOT NULL DEFAULT 0,
    polls             INTEGER NOT NULL DEFAULT 0,
    error             TEXT,
    video_url         TEXT,
    video_path        TEXT,
    video_bytes       INTEGER,
    delivered_ref     TEXT,
    upload_limit      INTEGER,
    regenerated_from  TEXT
);
CREATE INDEX jobs_active ON jobs (next_poll_at)
    WHERE status NOT IN ('delivered', 'failed', 'expired');
CREATE INDEX jobs_by_user ON jobs (platform, user_id, created_at);

CREATE TABLE job_events (
    id      INTEGER PRIMARY KEY,
    job_id  TEXT NOT NULL REFERENCES jobs (id),
    status  TEXT NOT NULL,
    at      REAL NOT NULL,
    detail  TEXT
);
CREATE INDEX job_events_by_job ON job_events (job_id, id);

-- One row per step: reserve when accepted, then exactly one of capture (delivered)
-- or release (failed, expired). A balance is always derivable from these rows.
CREATE TABLE quota_ledger (
    id           INTEGER PRIMARY KEY,
    job_id       TEXT NOT NULL,
    platform     TEXT NOT NULL,
    workspace_id TEXT NOT NULL,
    user_id      TEXT NOT NULL,
    day          TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('reserve', 'capture', 'release')),
    credits      INTEGER NOT NULL,
    at           REAL NOT NULL,
    UNIQUE (job_id, kind)
);
CREATE INDEX quota_by_user ON quota_ledger (platform, user_id, day);
CREATE INDEX quota_by_workspace ON quota_ledger (platform, workspace_id, day);

-- Overrides of the daily limits in settings; user_id '' means the whole workspace.
CREATE TABLE quota_limits (
    platform      TEXT NOT NULL,
    workspace_id  TEXT NOT NULL,
    user_id       TEXT NOT NULL DEFAULT '',
    daily_credits INTEGER NOT NULL,
    set_by        TEXT NOT NULL,
    set_at        REAL NOT NULL,
    PRIMARY KEY (platform, workspace_id, user_id)
);
