-- Reason: a command the bot has acknowledged must never be lost to a crash, nor run twice when the
-- platform (or anyone holding a copy) sends it again. Each acknowledged command is kept here under a
-- key the platform fixes (trigger_id, event_id, interaction id, else the signed body's hash), leased
-- to the process handling it, and marked done once it has become a job or an answer.
CREATE TABLE inbox (
    key         TEXT PRIMARY KEY,
    platform    TEXT NOT NULL,
    kind        TEXT NOT NULL,
    payload     TEXT NOT NULL,
    received_at DOUBLE PRECISION NOT NULL,
    lease_owner TEXT,
    lease_until DOUBLE PRECISION NOT NULL DEFAULT 0,
    attempts    INTEGER NOT NULL DEFAULT 1,
    done_at     DOUBLE PRECISION
);
CREATE INDEX inbox_open ON inbox (platform, lease_until) WHERE done_at IS NULL;
CREATE INDEX inbox_received ON inbox (received_at);
