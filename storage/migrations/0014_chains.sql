-- Reason: Extend continues a delivered clip from its last frame. Each clip of a chain names the clip it
-- continues (chain_parent), the chain's first clip (chain_root) and its own place (chain_index, 1 for the
-- first), so any process can find the clips to join, or refuse a chain past EXTEND_MAX_CLIPS.
ALTER TABLE jobs ADD COLUMN chain_parent TEXT;
ALTER TABLE jobs ADD COLUMN chain_root TEXT;
ALTER TABLE jobs ADD COLUMN chain_index INTEGER NOT NULL DEFAULT 1;
CREATE INDEX jobs_chain_root ON jobs (chain_root) WHERE chain_root IS NOT NULL;
