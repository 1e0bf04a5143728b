-- The converter (issue 3): the model's material plan, and per inference the size of the
-- collected 2PC share and its MAC key share (16 bytes; the pairs are in share_chunks).
ALTER TABLE models ADD COLUMN IF NOT EXISTS plan MEDIUMTEXT NOT NULL DEFAULT '';
ALTER TABLE inferences ADD COLUMN IF NOT EXISTS element_count BIGINT NOT NULL DEFAULT 0;
ALTER TABLE inferences ADD COLUMN IF NOT EXISTS mac_key_share VARBINARY(16) NULL
  CHECK (OCTET_LENGTH(mac_key_share) = 16);
ALTER TABLE inferences ADD COLUMN IF NOT EXISTS completed_at DATETIME(6) NULL;
