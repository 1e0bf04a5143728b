-- Registration of an existing model with other settings (issue 14 item 7): refused unless the
-- operator asks for it (`model_owner register --replace`), and then recorded here, the settings
-- before and after as JSON (the weights by their SHA-256).
ALTER TABLE models ADD COLUMN IF NOT EXISTS weights_sha256 VARCHAR(64) NOT NULL DEFAULT '';
CREATE TABLE IF NOT EXISTS model_changes (
  change_id BIGSERIAL PRIMARY KEY,
  model_id VARCHAR(128) NOT NULL REFERENCES models (model_id) ON DELETE CASCADE,
  settings_before TEXT NOT NULL,
  settings_after TEXT NOT NULL,
  changed_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
