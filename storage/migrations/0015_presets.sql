-- Reason: presets (issue 15), named prompt templates with default settings, kept per workspace
-- (owner '', saved by its admins) and per member (owner = their user id); a member's own of a
-- name shadows the workspace's. preset_defaults is the preset a member chose with `preset use NAME`,
-- applied to each of their videos in that workspace until `preset use off`.
CREATE TABLE presets (
    platform          TEXT NOT NULL,
    workspace_id      TEXT NOT NULL,
    owner             TEXT NOT NULL,
    name              TEXT NOT NULL,
    text              TEXT NOT NULL,
    duration          INTEGER,
    resolution        TEXT,
    prompt_optimizer  INTEGER,
    fast_pretreatment INTEGER,
    created_by        TEXT NOT NULL,
    created_at        REAL NOT NULL,
    PRIMARY KEY (platform, workspace_id, owner, name)
);
CREATE TABLE preset_defaults (
    platform     TEXT NOT NULL,
    workspace_id TEXT NOT NULL,
    user_id      TEXT NOT NULL,
    name         TEXT NOT NULL,
    set_at       REAL NOT NULL,
    PRIMARY KEY (platform, workspace_id, user_id)
);
