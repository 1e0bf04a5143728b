-- Mask sets (issue 10, PROTOCOL.md section 5): a batch row of kind 'mask_set' holds a model's
-- weight masks B for this dealer's group, bound to the model owner alone (no client, no
-- expiry); its shares go to that model owner once and its seeds to nobody. A batch generated
-- with the model's mask plan pairs its MASKED_TRIPLEs with those B; the mask plan (canonical
-- JSON, '' for none) is kept so that the super dealer's retry is recognised.
ALTER TABLE batches ADD COLUMN IF NOT EXISTS kind VARCHAR(16) NOT NULL DEFAULT 'batch';
ALTER TABLE batches DROP CONSTRAINT IF EXISTS batches_kind_check;
ALTER TABLE batches ADD CONSTRAINT batches_kind_check CHECK (kind IN ('batch', 'mask_set'));
ALTER TABLE batches ADD COLUMN IF NOT EXISTS mask_plan MEDIUMTEXT NOT NULL DEFAULT '';
