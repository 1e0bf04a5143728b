-- The converter (issue 3): per inference, its size and the dealers (in the order their seeds
-- are summed; any order gives the same share).
ALTER TABLE inferences ADD COLUMN IF NOT EXISTS element_count BIGINT NOT NULL DEFAULT 0;
ALTER TABLE inferences ADD COLUMN IF NOT EXISTS dealers TEXT NOT NULL DEFAULT '';
