-- Reason: pushed status changes look jobs up by the provider's task id.
CREATE INDEX jobs_by_task ON jobs (task_id) WHERE task_id IS NOT NULL;
