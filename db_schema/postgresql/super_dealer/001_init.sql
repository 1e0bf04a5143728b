-- Super dealer: models and their material plans, dealers, and the pool of batches that it
-- binds, once each, to one model owner and one client (PROTOCOL.md section 5).
-- Ids are text chosen by operators; batch ids are UUIDs; times are UTC.

CREATE TABLE IF NOT EXISTS models (
  model_id VARCHAR(128) PRIMARY KEY,
  description TEXT NOT NULL DEFAULT '',
  created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS material_types (
  name VARCHAR(64) PRIMARY KEY,
  element_count BIGINT NOT NULL CHECK (element_count > 0)
);

-- The material one inference of a model consumes, in layout order.
CREATE TABLE IF NOT EXISTS model_material_plans (
  model_id VARCHAR(128) NOT NULL REFERENCES models (model_id) ON DELETE CASCADE,
  position INTEGER NOT NULL CHECK (position >= 0),
  material_type VARCHAR(64) NOT NULL REFERENCES material_types (name),
  count BIGINT NOT NULL CHECK (count > 0),
  PRIMARY KEY (model_id, position)
);

CREATE TABLE IF NOT EXISTS dealers (
  dealer_id VARCHAR(64) PRIMARY KEY,
  rest_url VARCHAR(512) NOT NULL,
  grpc_endpoint VARCHAR(512) NOT NULL,
  certificate_subject VARCHAR(512) NOT NULL,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- dealer_group names the group that generated the batch (its dealer ids, sorted, joined by
-- ','). Binding sets both identities and bound_at in the same UPDATE as state = 'bound'.
CREATE TABLE IF NOT EXISTS batches (
  batch_id UUID PRIMARY KEY,
  model_id VARCHAR(128) NOT NULL REFERENCES models (model_id),
  dealer_group VARCHAR(600) NOT NULL,
  state VARCHAR(16) NOT NULL DEFAULT 'generating'
    CHECK (state IN ('generating', 'available', 'bound', 'consumed', 'expired', 'failed')),
  model_owner_identity VARCHAR(512),
  client_identity VARCHAR(512),
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  bound_at TIMESTAMPTZ,
  CONSTRAINT batches_bound_has_parties CHECK (
    state NOT IN ('bound', 'consumed')
    OR (model_owner_identity IS NOT NULL AND client_identity IS NOT NULL AND bound_at IS NOT NULL))
);

-- Finding an available batch of a model for a group: WHERE model_id = ? AND dealer_group = ?
-- AND state = 'available' ... FOR UPDATE SKIP LOCKED.
CREATE INDEX IF NOT EXISTS batches_pool ON batches (model_id, dealer_group, state);
