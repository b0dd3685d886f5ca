-- Reason: each workspace's admins set their own daily dollar cap (issue 17); BUDGET_DAILY_USD stays the
-- bot-wide ceiling that only the operator sets. A workspace with no row here has only the bot-wide one.
CREATE TABLE workspace_budgets (
    platform     TEXT NOT NULL,
    workspace_id TEXT NOT NULL,
    usd          REAL NOT NULL CHECK (usd >= 0),
    set_by       TEXT NOT NULL,
    set_at       REAL NOT NULL,
    PRIMARY KEY (platform, workspace_id)
);
-- Admission adds up one workspace's spend today; without this it would scan every job of the day.
CREATE INDEX jobs_by_workspace_day ON jobs (platform, workspace_id, day);
