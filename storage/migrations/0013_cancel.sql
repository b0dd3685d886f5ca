-- Reason: a member (or an admin) may cancel a job. The request is recorded on the job by
-- compare-and-set, so whichever process holds the job's lease (submitting, polling, delivering)
-- sees it under that lease and ends the job; cancel_refunded says how its credits were settled.
ALTER TABLE jobs ADD COLUMN cancel_requested_at REAL;
ALTER TABLE jobs ADD COLUMN cancel_requested_by TEXT;
ALTER TABLE jobs ADD COLUMN cancel_refunded INTEGER;
