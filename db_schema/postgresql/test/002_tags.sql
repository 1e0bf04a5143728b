-- A second migration, so that the tests see versions applied in order.

CREATE TABLE IF NOT EXISTS tags (
  item_id BIGINT NOT NULL REFERENCES items (id) ON DELETE CASCADE,
  tag VARCHAR(32) NOT NULL,
  PRIMARY KEY (item_id, tag)
);
