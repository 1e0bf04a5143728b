-- Client: its inferences and, per batch, the seed and MAC-key mask each dealer released to it
-- (16 bytes each); it expands them into its 2PC share when needed.

CREATE TABLE IF NOT EXISTS inferences (
  batch_id CHAR(36) CHARACTER SET ascii NOT NULL PRIMARY KEY,
  model_id VARCHAR(128) NOT NULL,
  model_owner_url VARCHAR(1024) NOT NULL,
  state VARCHAR(32) NOT NULL,
  created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS seeds (
  batch_id CHAR(36) CHARACTER SET ascii NOT NULL,
  dealer_id VARCHAR(64) NOT NULL,
  shares_seed VARBINARY(16) NOT NULL,
  mac_key_mask VARBINARY(16) NOT NULL,
  received_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  PRIMARY KEY (batch_id, dealer_id),
  -- VARBINARY + CHECK: BINARY(16) would silently zero-pad a short value.
  CONSTRAINT seeds_seed_check CHECK (OCTET_LENGTH(shares_seed) = 16),
  CONSTRAINT seeds_mask_check CHECK (OCTET_LENGTH(mac_key_mask) = 16),
  CONSTRAINT seeds_inference_fk FOREIGN KEY (batch_id) REFERENCES inferences (batch_id)
    ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
