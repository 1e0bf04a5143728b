-- Dealer groups, batch pools and generation (issue 4). A group's id is its members' sorted ids
-- joined by ',' (the dealer_group of its batches); members are kept with their position, the
-- group's order in the generation protocol. A pool is a (model, group) whose available batches
-- the super dealer keeps between triple_pool.min_size and max_size by asking the group to
-- generate; each generated batch is a row of batches, 'generating' until every member has
-- prepared its share ('available') or one has failed ('failed', with the reason).
CREATE TABLE IF NOT EXISTS dealer_groups (
  group_id VARCHAR(600) CHARACTER SET ascii NOT NULL PRIMARY KEY,
  state VARCHAR(16) NOT NULL DEFAULT 'forming',
  created_by VARCHAR(512) NOT NULL,
  error TEXT,
  created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  ready_at DATETIME(6),
  CONSTRAINT dealer_groups_state_check CHECK (state IN ('forming', 'ready'))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS dealer_group_members (
  group_id VARCHAR(600) CHARACTER SET ascii NOT NULL,
  position INT NOT NULL,
  dealer_id VARCHAR(64) NOT NULL,
  PRIMARY KEY (group_id, position),
  CONSTRAINT group_members_position_check CHECK (position >= 0),
  CONSTRAINT group_members_group_fk FOREIGN KEY (group_id) REFERENCES dealer_groups (group_id)
    ON DELETE CASCADE,
  CONSTRAINT group_members_dealer_fk FOREIGN KEY (dealer_id) REFERENCES dealers (dealer_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS pools (
  model_id VARCHAR(128) NOT NULL,
  group_id VARCHAR(600) CHARACTER SET ascii NOT NULL,
  generated_total BIGINT NOT NULL DEFAULT 0,
  failed_total BIGINT NOT NULL DEFAULT 0,
  last_error TEXT,
  created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  PRIMARY KEY (model_id, group_id),
  CONSTRAINT pools_model_fk FOREIGN KEY (model_id) REFERENCES models (model_id),
  CONSTRAINT pools_group_fk FOREIGN KEY (group_id) REFERENCES dealer_groups (group_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

ALTER TABLE batches ADD COLUMN IF NOT EXISTS generation_started_unix BIGINT NULL;
ALTER TABLE batches ADD COLUMN IF NOT EXISTS generation_finished_at DATETIME(6) NULL;
ALTER TABLE batches ADD COLUMN IF NOT EXISTS generation_error TEXT NULL;
CREATE INDEX IF NOT EXISTS batches_state ON batches (state);
