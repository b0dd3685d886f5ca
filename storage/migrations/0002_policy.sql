-- Reason: spend control and admin controls: each job's day and estimated price, blocked users,
-- channel allow-lists, and an audit log of every admin change.
ALTER TABLE jobs ADD COLUMN day TEXT NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN price_usd REAL NOT NULL DEFAULT 0;
CREATE INDEX jobs_by_day ON jobs (day);

CREATE TABLE blocked_users (
    platform     TEXT NOT NULL,
    workspace_id TEXT NOT NULL,
    user_id      TEXT NOT NULL,
    set_by       TEXT NOT NULL,
    set_at       REAL NOT NULL,
    PRIMARY KEY (platform, workspace_id, user_id)
);

CREATE TABLE allowed_channels (
    platform     TEXT NOT NULL,
    workspace_id TEXT NOT NULL,
    channel_id   TEXT NOT NULL,
    set_by       TEXT NOT NULL,
    set_at       REAL NOT NULL,
    PRIMARY KEY (platform, workspace_id, channel_id)
);

CREATE TABLE admin_log (
    id           INTEGER PRIMARY KEY,
    at           REAL NOT NULL,
    platform     TEXT NOT NULL,
    workspace_id TEXT NOT NULL,
    actor        TEXT NOT NULL,
    action       TEXT NOT NULL,
    detail       TEXT NOT NULL
);
