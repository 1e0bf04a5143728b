-- The online phase (issue 5): a model's weights (its safetensors file, chunked), how many
-- inputs one inference takes and whether the client also learns the logits; per inference,
-- the online session's figures.
CREATE TABLE IF NOT EXISTS model_chunks (
  model_id VARCHAR(128) NOT NULL REFERENCES models (model_id) ON DELETE CASCADE,
  seq INTEGER NOT NULL CHECK (seq >= 0),
  data BYTEA NOT NULL,
  PRIMARY KEY (model_id, seq)
);
ALTER TABLE models ADD COLUMN IF NOT EXISTS input_rows INTEGER NOT NULL DEFAULT 0;
ALTER TABLE models ADD COLUMN IF NOT EXISTS reveal_logits SMALLINT NOT NULL DEFAULT 0;
ALTER TABLE inferences ADD COLUMN IF NOT EXISTS online_rounds BIGINT;
ALTER TABLE inferences ADD COLUMN IF NOT EXISTS online_bytes_sent BIGINT;
ALTER TABLE inferences ADD COLUMN IF NOT EXISTS online_bytes_received BIGINT;
ALTER TABLE inferences ADD COLUMN IF NOT EXISTS online_started_at TIMESTAMPTZ;
ALTER TABLE inferences ADD COLUMN IF NOT EXISTS online_finished_at TIMESTAMPTZ;
ALTER TABLE inferences ADD COLUMN IF NOT EXISTS failure TEXT;
