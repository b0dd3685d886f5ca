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
    -- 0 or 1, as on SQLite, so that `db copy` carries them either way unchanged.
    prompt_optimizer  INTEGER,
    fast_pretreatment INTEGER,
    created_by        TEXT NOT NULL,
    created_at        DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (platform, workspace_id, owner, name)
);
CREATE TABLE preset_defaults (
    platform     TEXT NOT NULL,
    workspace_id TEXT NOT NULL,
    user_id      TEXT NOT NULL,
    name         TEXT NOT NULL,
    set_at       DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (platform, workspace_id, user_id)
);
