-- Reason: a member (or an admin) may cancel a job. The request is recorded on the job by
-- compare-and-set, so whichever process holds the job's lease (submitting, polling, delivering)
-- sees it under that lease and ends the job; cancel_refunded says how its credits were settled.
ALTER TABLE jobs ADD COLUMN cancel_requested_at DOUBLE PRECISION;
ALTER TABLE jobs ADD COLUMN cancel_requested_by TEXT;
-- 0 or 1, as on SQLite, so that `db copy` carries it either way unchanged.
ALTER TABLE jobs ADD COLUMN cancel_refunded INTEGER;
