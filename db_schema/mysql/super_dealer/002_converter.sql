-- The converter (issue 3): who owns a model and how many elements its batches hold.
ALTER TABLE models ADD COLUMN IF NOT EXISTS owner_identity VARCHAR(512) NOT NULL DEFAULT '';
ALTER TABLE models ADD COLUMN IF NOT EXISTS element_count BIGINT NOT NULL DEFAULT 0;
