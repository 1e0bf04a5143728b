-- The online phase (issue 5): a model's weights (its safetensors file, chunked), how many
-- inputs one inference takes and whether the client also learns the logits; per inference,
-- the online session's figures.
CREATE TABLE IF NOT EXISTS model_chunks (
  model_id VARCHAR(128) NOT NULL,
  seq INT NOT NULL,
  data LONGBLOB NOT NULL,
  PRIMARY KEY (model_id, seq),
  CONSTRAINT model_chunks_seq_check CHECK (seq >= 0),
  CONSTRAINT model_chunks_model_fk FOREIGN KEY (model_id) REFERENCES models (model_id)
    ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
ALTER TABLE models ADD COLUMN IF NOT EXISTS input_rows INT NOT NULL DEFAULT 0;
ALTER TABLE models ADD COLUMN IF NOT EXISTS reveal_logits SMALLINT NOT NULL DEFAULT 0;
ALTER TABLE inferences ADD COLUMN IF NOT EXISTS online_rounds BIGINT NULL;
ALTER TABLE inferences ADD COLUMN IF NOT EXISTS online_bytes_sent BIGINT NULL;
ALTER TABLE inferences ADD COLUMN IF NOT EXISTS online_bytes_received BIGINT NULL;
ALTER TABLE inferences ADD COLUMN IF NOT EXISTS online_started_at DATETIME(6) NULL;
ALTER TABLE inferences ADD COLUMN IF NOT EXISTS online_finished_at DATETIME(6) NULL;
ALTER TABLE inferences ADD COLUMN IF NOT EXISTS failure TEXT NULL;
