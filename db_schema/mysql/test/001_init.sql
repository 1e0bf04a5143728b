-- Tables used only by the storage tests (tests/db), not by any actor.

CREATE TABLE IF NOT EXISTS items (
  id BIGINT PRIMARY KEY,
  name VARCHAR(64) NOT NULL,
  state VARCHAR(16) NOT NULL DEFAULT 'free',
  score DOUBLE,
  note TEXT,
  payload LONGBLOB,
  created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  CONSTRAINT items_state_check CHECK (state IN ('free', 'claimed')),
  UNIQUE KEY items_name_unique (name),
  KEY items_state (state)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- A chunked blob store, as the actors' share tables are.
CREATE TABLE IF NOT EXISTS blob_chunks (
  batch_id VARCHAR(64) NOT NULL,
  seq INT NOT NULL,
  data LONGBLOB NOT NULL,
  PRIMARY KEY (batch_id, seq),
  CONSTRAINT blob_chunks_seq_check CHECK (seq >= 0)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
