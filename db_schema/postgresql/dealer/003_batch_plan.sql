-- The material plan of every stored batch (its canonical JSON, material/plan.hpp): masking
-- and combining are per element domain (docs/material-layout.md), so a dealer must know the
-- layout of each batch it serves, not just its element count.
ALTER TABLE batches ADD COLUMN IF NOT EXISTS plan TEXT NOT NULL DEFAULT '';
