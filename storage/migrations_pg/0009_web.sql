-- Reason: the web page. One-time login links (`hailuo-bot web-login`), kept here so any process can
-- honour them exactly once, and an index for the gallery's newest-first listing per workspace.
CREATE TABLE web_logins (
    token_hash   TEXT PRIMARY KEY,
    platform     TEXT NOT NULL,
    workspace_id TEXT NOT NULL,
    user_id      TEXT NOT NULL,
    is_admin     BOOLEAN NOT NULL DEFAULT FALSE,
    expires_at   DOUBLE PRECISION NOT NULL,
    used_at      DOUBLE PRECISION
);
CREATE INDEX jobs_by_workspace ON jobs (platform, workspace_id, status, updated_at);
