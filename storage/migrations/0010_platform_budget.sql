-- Reason: Slack and Discord limit how fast a bot may post and edit. Each limited scope (a channel's
-- posts, a workspace's edits, ...) is one token bucket here, shared by every process, and a 429's
-- Retry-After blocks the scope for all of them.
CREATE TABLE platform_budget (
    scope         TEXT PRIMARY KEY,
    tokens        REAL NOT NULL,
    updated_at    REAL NOT NULL,
    blocked_until REAL NOT NULL DEFAULT 0
);

-- A job's final status edit owed to its status message, until it is sent: a process that dies with
-- one still queued leaves it here, and another sends it.
CREATE TABLE final_status_owed (
    job_id TEXT PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE,
    since  REAL NOT NULL
);
