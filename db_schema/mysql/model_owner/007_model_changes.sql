-- Registration of an existing model with other settings (issue 14 item 7): refused unless the
-- operator asks for it (`model_owner register --replace`), and then recorded here, the settings
-- before and after as JSON (the weights by their SHA-256).
ALTER TABLE models ADD COLUMN IF NOT EXISTS weights_sha256 VARCHAR(64) NOT NULL DEFAULT '';
CREATE TABLE IF NOT EXISTS model_changes (
  change_id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  model_id VARCHAR(128) NOT NULL,
  settings_before MEDIUMTEXT NOT NULL,
  settings_after MEDIUMTEXT NOT NULL,
  changed_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  CONSTRAINT model_changes_model_fk FOREIGN KEY (model_id) REFERENCES models (model_id)
    ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
