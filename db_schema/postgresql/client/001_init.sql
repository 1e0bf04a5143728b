-- Client: its inferences and, per batch, the seed and MAC-key mask each dealer released to it
-- (16 bytes each); it expands them into its 2PC share when needed.

CREATE TABLE IF NOT EXISTS inferences (
  batch_id UUID PRIMARY KEY,
  model_id VARCHAR(128) NOT NULL,
  model_owner_url VARCHAR(1024) NOT NULL,
  state VARCHAR(32) NOT NULL,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS seeds (
  batch_id UUID NOT NULL REFERENCES inferences (batch_id) ON DELETE CASCADE,
  dealer_id VARCHAR(64) NOT NULL,
  shares_seed BYTEA NOT NULL CHECK (octet_length(shares_seed) = 16),
  mac_key_mask BYTEA NOT NULL CHECK (octet_length(mac_key_mask) = 16),
  received_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (batch_id, dealer_id)
);
