-- Dealer groups, batch pools and generation (issue 4). A group's id is its members' sorted ids
-- joined by ',' (the dealer_group of its batches); members are kept with their position, the
-- group's order in the generation protocol. A pool is a (model, group) whose available batches
-- the super dealer keeps between triple_pool.min_size and max_size by asking the group to
-- generate; each generated batch is a row of batches, 'generating' until every member has
-- prepared its share ('available') or one has failed ('failed', with the reason).
CREATE TABLE IF NOT EXISTS dealer_groups (
  group_id VARCHAR(600) PRIMARY KEY,
  state VARCHAR(16) NOT NULL DEFAULT 'forming' CHECK (state IN ('forming', 'ready')),
  created_by VARCHAR(512) NOT NULL,
  error TEXT,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  ready_at TIMESTAMPTZ
);

CREATE TABLE IF NOT EXISTS dealer_group_members (
  group_id VARCHAR(600) NOT NULL REFERENCES dealer_groups (group_id) ON DELETE CASCADE,
  position INTEGER NOT NULL CHECK (position >= 0),
  dealer_id VARCHAR(64) NOT NULL REFERENCES dealers (dealer_id),
  PRIMARY KEY (group_id, position)
);

CREATE TABLE IF NOT EXISTS pools (
  model_id VARCHAR(128) NOT NULL REFERENCES models (model_id),
  group_id VARCHAR(600) NOT NULL REFERENCES dealer_groups (group_id),
  generated_total BIGINT NOT NULL DEFAULT 0,
  failed_total BIGINT NOT NULL DEFAULT 0,
  last_error TEXT,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (model_id, group_id)
);

ALTER TABLE batches ADD COLUMN IF NOT EXISTS generation_started_unix BIGINT;
ALTER TABLE batches ADD COLUMN IF NOT EXISTS generation_finished_at TIMESTAMPTZ;
ALTER TABLE batches ADD COLUMN IF NOT EXISTS generation_error TEXT;
CREATE INDEX IF NOT EXISTS batches_state ON batches (state);
