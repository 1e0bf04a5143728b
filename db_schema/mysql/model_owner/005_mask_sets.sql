-- Weight masks delivered once per (model, dealer group) (issue 10, PROTOCOL.md section 5): a
-- model's mask plan (canonical JSON, '' for none) and the mask sets this model owner holds,
-- one per (model, group), group_id being the dealers' sorted ids joined by ','. A mask set is
-- written with its chunks in one transaction (state 'ready'), and kept across inferences.
ALTER TABLE models ADD COLUMN IF NOT EXISTS mask_plan MEDIUMTEXT NOT NULL DEFAULT '';

CREATE TABLE IF NOT EXISTS mask_sets (
  mask_set_id CHAR(36) CHARACTER SET ascii NOT NULL PRIMARY KEY,
  model_id VARCHAR(128) NOT NULL,
  group_id VARCHAR(700) CHARACTER SET ascii NOT NULL,
  element_count BIGINT NOT NULL,
  mac_key_share VARBINARY(16),
  state VARCHAR(16) NOT NULL DEFAULT 'collecting',
  bytes_received BIGINT NOT NULL DEFAULT 0,
  created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  completed_at DATETIME(6),
  CONSTRAINT mask_sets_count_check CHECK (element_count > 0),
  CONSTRAINT mask_sets_key_check CHECK (OCTET_LENGTH(mac_key_share) = 16),
  CONSTRAINT mask_sets_state_check CHECK (state IN ('collecting', 'ready')),
  CONSTRAINT mask_sets_model_fk FOREIGN KEY (model_id) REFERENCES models (model_id),
  UNIQUE KEY mask_sets_pair (model_id, group_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS mask_set_chunks (
  mask_set_id CHAR(36) CHARACTER SET ascii NOT NULL,
  seq INT NOT NULL,
  data LONGBLOB NOT NULL,
  PRIMARY KEY (mask_set_id, seq),
  CONSTRAINT mask_set_chunks_seq_check CHECK (seq >= 0),
  CONSTRAINT mask_set_chunks_set_fk FOREIGN KEY (mask_set_id) REFERENCES mask_sets (mask_set_id)
    ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
