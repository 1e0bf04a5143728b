-- Dealer: its batches with the per-batch secrets it draws (PROTOCOL.md section 5), their
-- masked shares in chunks, and the audit record of every release.

-- shares_seed and mac_key_mask are exactly 16 bytes each (VARBINARY + CHECK: BINARY(16) would
-- silently zero-pad a short value); they may be cleared (NULL) once a batch is consumed,
-- expired or failed. Parties are set when the super dealer binds the batch.
CREATE TABLE IF NOT EXISTS batches (
  batch_id CHAR(36) CHARACTER SET ascii NOT NULL PRIMARY KEY,
  model_id VARCHAR(128) NOT NULL,
  state VARCHAR(16) NOT NULL DEFAULT 'generating',
  model_owner_identity VARCHAR(512),
  client_identity VARCHAR(512),
  shares_seed VARBINARY(16),
  mac_key_mask VARBINARY(16),
  element_count BIGINT NOT NULL DEFAULT 0,
  created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  CONSTRAINT batches_state_check
    CHECK (state IN ('generating', 'available', 'bound', 'consumed', 'expired', 'failed')),
  CONSTRAINT batches_seed_check CHECK (OCTET_LENGTH(shares_seed) = 16),
  CONSTRAINT batches_mask_check CHECK (OCTET_LENGTH(mac_key_mask) = 16),
  CONSTRAINT batches_count_check CHECK (element_count >= 0),
  KEY batches_model_state (model_id, state)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- The dealer's shares of a batch, chunked (db/chunks.hpp). Material may be deleted with the
-- batch's chunks; the batch row and its releases stay.
CREATE TABLE IF NOT EXISTS batch_chunks (
  batch_id CHAR(36) CHARACTER SET ascii NOT NULL,
  seq INT NOT NULL,
  data LONGBLOB NOT NULL,
  PRIMARY KEY (batch_id, seq),
  CONSTRAINT batch_chunks_seq_check CHECK (seq >= 0),
  CONSTRAINT batch_chunks_batch_fk FOREIGN KEY (batch_id) REFERENCES batches (batch_id)
    ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Every release: masked shares to the bound model owner, seeds to the bound client.
CREATE TABLE IF NOT EXISTS releases (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  batch_id CHAR(36) CHARACTER SET ascii NOT NULL,
  kind VARCHAR(8) NOT NULL,
  recipient_identity VARCHAR(512) NOT NULL,
  released_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  bytes BIGINT NOT NULL DEFAULT 0,
  CONSTRAINT releases_kind_check CHECK (kind IN ('shares', 'seed')),
  CONSTRAINT releases_bytes_check CHECK (bytes >= 0),
  CONSTRAINT releases_batch_fk FOREIGN KEY (batch_id) REFERENCES batches (batch_id),
  KEY releases_batch (batch_id, kind)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
