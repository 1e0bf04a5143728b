-- Dealer groups and generation (issue 4). A group is formed by the super dealer; this dealer
-- keeps its place in it and its keys, sealed with the dealer's master key (AES-256-GCM,
-- docs/operations.md): its X25519 private key for the group, the component key it drew, and,
-- once the key agreement is done, its gen::GroupKeys. Nothing here is stored in the clear.
CREATE TABLE IF NOT EXISTS dealer_groups (
  group_id VARCHAR(700) PRIMARY KEY,
  members TEXT NOT NULL,  -- JSON array of dealer ids, in the group's order
  self_index INTEGER NOT NULL CHECK (self_index >= 0),
  state VARCHAR(16) NOT NULL DEFAULT 'forming' CHECK (state IN ('forming', 'ready')),
  x25519_private_sealed BYTEA NOT NULL,
  x25519_public BYTEA NOT NULL CHECK (octet_length(x25519_public) = 32),
  drawn_key_sealed BYTEA NOT NULL,
  keys_sealed BYTEA,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  ready_at TIMESTAMPTZ
);

-- A generated batch is 'generating' while the group runs the protocol, 'prepared' once this
-- dealer's share is durably stored (the super dealer then marks it available), 'failed' when
-- it was aborted or this dealer restarted during it.
ALTER TABLE batches DROP CONSTRAINT IF EXISTS batches_state_check;
ALTER TABLE batches ADD CONSTRAINT batches_state_check CHECK (state IN
  ('generating', 'prepared', 'available', 'bound', 'consumed', 'expired', 'failed'));
ALTER TABLE batches ADD COLUMN IF NOT EXISTS generation_error TEXT;
