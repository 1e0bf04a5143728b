-- Dealer groups and generation (issue 4). A group is formed by the super dealer; this dealer
-- keeps its place in it and its keys, sealed with the dealer's master key (AES-256-GCM,
-- docs/operations.md): its X25519 private key for the group, the component key it drew, and,
-- once the key agreement is done, its gen::GroupKeys. Nothing here is stored in the clear.
CREATE TABLE IF NOT EXISTS dealer_groups (
  group_id VARCHAR(700) CHARACTER SET ascii NOT NULL PRIMARY KEY,
  members TEXT NOT NULL,
  self_index INT NOT NULL,
  state VARCHAR(16) NOT NULL DEFAULT 'forming',
  x25519_private_sealed VARBINARY(256) NOT NULL,
  x25519_public VARBINARY(32) NOT NULL,
  drawn_key_sealed VARBINARY(256) NOT NULL,
  keys_sealed VARBINARY(2048),
  created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  ready_at DATETIME(6),
  CONSTRAINT dealer_groups_self_check CHECK (self_index >= 0),
  CONSTRAINT dealer_groups_state_check CHECK (state IN ('forming', 'ready')),
  CONSTRAINT dealer_groups_public_check CHECK (OCTET_LENGTH(x25519_public) = 32)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- A generated batch is 'generating' while the group runs the protocol, 'prepared' once this
-- dealer's share is durably stored (the super dealer then marks it available), 'failed' when
-- it was aborted or this dealer restarted during it.
ALTER TABLE batches DROP CONSTRAINT IF EXISTS batches_state_check;
ALTER TABLE batches ADD CONSTRAINT batches_state_check CHECK (state IN
  ('generating', 'prepared', 'available', 'bound', 'consumed', 'expired', 'failed'));
ALTER TABLE batches ADD COLUMN IF NOT EXISTS generation_error TEXT;
