-- Tables used only by the storage tests (tests/db), not by any actor.

CREATE TABLE IF NOT EXISTS items (
  id BIGINT PRIMARY KEY,
  name VARCHAR(64) NOT NULL,
  state VARCHAR(16) NOT NULL DEFAULT 'free' CHECK (state IN ('free', 'claimed')),
  score DOUBLE PRECISION,
  note TEXT,
  payload BYTEA,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  CONSTRAINT items_name_unique UNIQUE (name)
);

CREATE INDEX IF NOT EXISTS items_state ON items (state);

-- A chunked blob store, as the actors' share tables are.
CREATE TABLE IF NOT EXISTS blob_chunks (
  batch_id VARCHAR(64) NOT NULL,
  seq INTEGER NOT NULL CHECK (seq >= 0),
  data BYTEA NOT NULL,
  PRIMARY KEY (batch_id, seq)
);
