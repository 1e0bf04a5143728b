-- The online phase (issue 5): when it ran and what the client learned (the classes, and the
-- logits when the model owner reveals them), as JSON. The seeds are deleted once it is done.
ALTER TABLE inferences ADD COLUMN IF NOT EXISTS online_finished_at DATETIME(6) NULL;
ALTER TABLE inferences ADD COLUMN IF NOT EXISTS result MEDIUMTEXT NULL;
ALTER TABLE inferences ADD COLUMN IF NOT EXISTS failure TEXT NULL;
