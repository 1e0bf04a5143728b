-- Super dealer: models and their material plans, dealers, and the pool of batches that it
-- binds, once each, to one model owner and one client (PROTOCOL.md section 5).
-- Ids are text chosen by operators; batch ids are UUIDs; times are UTC.

CREATE TABLE IF NOT EXISTS models (
  model_id VARCHAR(128) NOT NULL PRIMARY KEY,
  description TEXT NOT NULL DEFAULT '',
  created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS material_types (
  name VARCHAR(64) NOT NULL PRIMARY KEY,
  element_count BIGINT NOT NULL,
  CONSTRAINT material_types_count_check CHECK (element_count > 0)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- The material one inference of a model consumes, in layout order.
CREATE TABLE IF NOT EXISTS model_material_plans (
  model_id VARCHAR(128) NOT NULL,
  position INT NOT NULL,
  material_type VARCHAR(64) NOT NULL,
  count BIGINT NOT NULL,
  PRIMARY KEY (model_id, position),
  CONSTRAINT plans_position_check CHECK (position >= 0),
  CONSTRAINT plans_count_check CHECK (count > 0),
  CONSTRAINT plans_model_fk FOREIGN KEY (model_id) REFERENCES models (model_id) ON DELETE CASCADE,
  CONSTRAINT plans_type_fk FOREIGN KEY (material_type) REFERENCES material_types (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS dealers (
  dealer_id VARCHAR(64) NOT NULL PRIMARY KEY,
  rest_url VARCHAR(512) NOT NULL,
  grpc_endpoint VARCHAR(512) NOT NULL,
  certificate_subject VARCHAR(512) NOT NULL,
  created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- dealer_group names the group that generated the batch (its dealer ids, sorted, joined by
-- ','). Binding sets both identities and bound_at in the same UPDATE as state = 'bound'.
-- batches_pool serves: WHERE model_id = ? AND dealer_group = ? AND state = 'available' ...
-- FOR UPDATE SKIP LOCKED.
CREATE TABLE IF NOT EXISTS batches (
  batch_id CHAR(36) CHARACTER SET ascii NOT NULL PRIMARY KEY,
  model_id VARCHAR(128) NOT NULL,
  dealer_group VARCHAR(600) NOT NULL,
  state VARCHAR(16) NOT NULL DEFAULT 'generating',
  model_owner_identity VARCHAR(512),
  client_identity VARCHAR(512),
  created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  bound_at DATETIME(6),
  CONSTRAINT batches_state_check
    CHECK (state IN ('generating', 'available', 'bound', 'consumed', 'expired', 'failed')),
  CONSTRAINT batches_bound_has_parties CHECK (
    state NOT IN ('bound', 'consumed')
    OR (model_owner_identity IS NOT NULL AND client_identity IS NOT NULL AND bound_at IS NOT NULL)),
  CONSTRAINT batches_model_fk FOREIGN KEY (model_id) REFERENCES models (model_id),
  KEY batches_pool (model_id, dealer_group, state)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
