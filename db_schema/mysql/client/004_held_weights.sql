-- Weight masks held outside the batches (issue 10, docs/protocol.md 6.2): per (model, dealer
-- group), the F = W - B a model owner sent once, kept under its weights_id so that later
-- sessions do not receive it again. F is 8 bytes little-endian per weight, the model's matrices
-- in session order, chunked under the weights_id.
CREATE TABLE IF NOT EXISTS held_weights (
  model_id VARCHAR(128) NOT NULL,
  group_id VARCHAR(600) NOT NULL,
  weights_id VARCHAR(64) CHARACTER SET ascii NOT NULL,
  word_count BIGINT NOT NULL,
  received_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  PRIMARY KEY (model_id, group_id),
  CONSTRAINT held_weights_id_unique UNIQUE (weights_id),
  CONSTRAINT held_weights_count_check CHECK (word_count > 0)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS held_weight_chunks (
  weights_id VARCHAR(64) CHARACTER SET ascii NOT NULL,
  seq INT NOT NULL,
  data LONGBLOB NOT NULL,
  PRIMARY KEY (weights_id, seq),
  CONSTRAINT held_weight_chunks_seq_check CHECK (seq >= 0),
  CONSTRAINT held_weight_chunks_fk FOREIGN KEY (weights_id) REFERENCES held_weights (weights_id)
    ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
