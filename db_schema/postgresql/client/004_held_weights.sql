-- Weight masks held outside the batches (issue 10, docs/protocol.md 6.2): per (model, dealer
-- group), the F = W - B a model owner sent once, kept under its weights_id so that later
-- sessions do not receive it again. F is 8 bytes little-endian per weight, the model's matrices
-- in session order, chunked under the weights_id.
CREATE TABLE IF NOT EXISTS held_weights (
  model_id VARCHAR(128) NOT NULL,
  group_id VARCHAR(600) NOT NULL,
  weights_id VARCHAR(64) NOT NULL UNIQUE,
  word_count BIGINT NOT NULL CHECK (word_count > 0),
  received_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (model_id, group_id)
);

CREATE TABLE IF NOT EXISTS held_weight_chunks (
  weights_id VARCHAR(64) NOT NULL REFERENCES held_weights (weights_id) ON DELETE CASCADE,
  seq INTEGER NOT NULL CHECK (seq >= 0),
  data BYTEA NOT NULL,
  PRIMARY KEY (weights_id, seq)
);
