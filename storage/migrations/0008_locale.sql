-- Reason: replies come in each member's language (issue 18); the poller's later messages use the language
-- of the member who asked, and admins can set a workspace's default for members whose language is unknown.
ALTER TABLE jobs ADD COLUMN locale TEXT;
CREATE TABLE workspace_locales (
    platform     TEXT NOT NULL,
    workspace_id TEXT NOT NULL,
    locale       TEXT NOT NULL,
    set_by       TEXT NOT NULL,
    set_at       REAL NOT NULL,
    PRIMARY KEY (platform, workspace_id)
);
