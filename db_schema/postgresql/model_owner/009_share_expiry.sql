-- When the share was stored (Unix seconds): an inference ready for longer than
-- batch.ttl_seconds is expired by the model owner's sweep (issue 14 item 4).
ALTER TABLE inferences ADD COLUMN IF NOT EXISTS converted_at_unix BIGINT;
