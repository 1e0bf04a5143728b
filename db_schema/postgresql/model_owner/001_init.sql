-- Model owner: its models, the inferences it serves, and its 2PC shares of each batch (the
-- sum of the dealers' masked streams), chunked.

CREATE TABLE IF NOT EXISTS models (
  model_id VARCHAR(128) PRIMARY KEY,
  weights_path VARCHAR(1024) NOT NULL,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- dealers: the chosen dealer ids, in the order the request gave them, joined by ','.
CREATE TABLE IF NOT EXISTS inferences (
  batch_id UUID PRIMARY KEY,
  model_id VARCHAR(128) NOT NULL,
  client_identity VARCHAR(512) NOT NULL,
  state VARCHAR(32) NOT NULL,
  dealers TEXT NOT NULL,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE INDEX IF NOT EXISTS inferences_model ON inferences (model_id, created_at);

CREATE TABLE IF NOT EXISTS share_chunks (
  batch_id UUID NOT NULL REFERENCES inferences (batch_id) ON DELETE CASCADE,
  seq INTEGER NOT NULL CHECK (seq >= 0),
  data BYTEA NOT NULL,
  PRIMARY KEY (batch_id, seq)
);
