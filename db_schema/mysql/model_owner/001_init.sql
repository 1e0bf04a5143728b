-- Model owner: its models, the inferences it serves, and its 2PC shares of each batch (the
-- sum of the dealers' masked streams), chunked.

CREATE TABLE IF NOT EXISTS models (
  model_id VARCHAR(128) NOT NULL PRIMARY KEY,
  weights_path VARCHAR(1024) NOT NULL,
  created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- dealers: the chosen dealer ids, in the order the request gave them, joined by ','.
CREATE TABLE IF NOT EXISTS inferences (
  batch_id CHAR(36) CHARACTER SET ascii NOT NULL PRIMARY KEY,
  model_id VARCHAR(128) NOT NULL,
  client_identity VARCHAR(512) NOT NULL,
  state VARCHAR(32) NOT NULL,
  dealers TEXT NOT NULL,
  created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  KEY inferences_model (model_id, created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS share_chunks (
  batch_id CHAR(36) CHARACTER SET ascii NOT NULL,
  seq INT NOT NULL,
  data LONGBLOB NOT NULL,
  PRIMARY KEY (batch_id, seq),
  CONSTRAINT share_chunks_seq_check CHECK (seq >= 0),
  CONSTRAINT share_chunks_inference_fk FOREIGN KEY (batch_id) REFERENCES inferences (batch_id)
    ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
