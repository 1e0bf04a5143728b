-- The converter (issue 3): the group a batch belongs to, when it was bound and until when it
-- may be served (unix seconds, compared by the dealer), and when each release completed.
ALTER TABLE batches ADD COLUMN IF NOT EXISTS dealer_group VARCHAR(600) NOT NULL DEFAULT '';
ALTER TABLE batches ADD COLUMN IF NOT EXISTS bound_at DATETIME(6) NULL;
ALTER TABLE batches ADD COLUMN IF NOT EXISTS expires_at_unix BIGINT NULL;
ALTER TABLE batches ADD COLUMN IF NOT EXISTS shares_completed_at DATETIME(6) NULL;
ALTER TABLE batches ADD COLUMN IF NOT EXISTS seed_released_at DATETIME(6) NULL;
