-- A second migration, so that the tests see versions applied in order.

CREATE TABLE IF NOT EXISTS tags (
  item_id BIGINT NOT NULL,
  tag VARCHAR(32) NOT NULL,
  PRIMARY KEY (item_id, tag),
  CONSTRAINT tags_item_fk FOREIGN KEY (item_id) REFERENCES items (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
