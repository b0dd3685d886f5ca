-- Reason: several processes share one database. A job's next step is held by one process at a
-- time through a lease (owner, until); the provider's submission budget is shared by all of them.
ALTER TABLE jobs ADD COLUMN lease_owner TEXT;
ALTER TABLE jobs ADD COLUMN lease_until REAL NOT NULL DEFAULT 0;
CREATE INDEX jobs_by_lease ON jobs (lease_owner) WHERE lease_owner IS NOT NULL;

CREATE TABLE provider_budget (
    provider     TEXT PRIMARY KEY,
    paused_until REAL NOT NULL DEFAULT 0,
    slow_until   REAL NOT NULL DEFAULT 0
);

CREATE TABLE provider_submits (
    id       INTEGER PRIMARY KEY,
    provider TEXT NOT NULL,
    at       REAL NOT NULL
);
CREATE INDEX provider_submits_by_time ON provider_submits (provider, at);
