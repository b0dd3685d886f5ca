-- Reason: fal says where a job stands in its own line; the status message shows it, in every process.
ALTER TABLE jobs ADD COLUMN provider_place INTEGER;
