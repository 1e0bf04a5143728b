-- Weight masks delivered once per (model, dealer group) (issue 10, PROTOCOL.md section 5): a
-- model's mask plan (canonical JSON, '' for none) and the mask sets this model owner holds,
-- one per (model, group), group_id being the dealers' sorted ids joined by ','. A mask set is
-- written with its chunks in one transaction (state 'ready'), and kept across inferences.
ALTER TABLE models ADD COLUMN IF NOT EXISTS mask_plan TEXT NOT NULL DEFAULT '';

CREATE TABLE IF NOT EXISTS mask_sets (
  mask_set_id UUID PRIMARY KEY,
  model_id VARCHAR(128) NOT NULL REFERENCES models (model_id),
  group_id VARCHAR(700) NOT NULL,
  element_count BIGINT NOT NULL CHECK (element_count > 0),
  mac_key_share BYTEA CHECK (octet_length(mac_key_share) = 16),
  state VARCHAR(16) NOT NULL DEFAULT 'collecting' CHECK (state IN ('collecting', 'ready')),
  bytes_received BIGINT NOT NULL DEFAULT 0,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  completed_at TIMESTAMPTZ,
  CONSTRAINT mask_sets_pair UNIQUE (model_id, group_id)
);

CREATE TABLE IF NOT EXISTS mask_set_chunks (
  mask_set_id UUID NOT NULL REFERENCES mask_sets (mask_set_id) ON DELETE CASCADE,
  seq INTEGER NOT NULL CHECK (seq >= 0),
  data BYTEA NOT NULL,
  PRIMARY KEY (mask_set_id, seq)
);
