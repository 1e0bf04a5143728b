-- GPT-2 through the actors (issue 10): which program a model runs ('mlp' or 'gpt2'), a GPT-2's
-- config.json (its model.safetensors is in model_chunks, as an MLP's file is), and the pass
-- options its plan was recorded for: the length bucket every inference is padded to and how
-- many next tokens the client learns.
ALTER TABLE models ADD COLUMN IF NOT EXISTS model_kind VARCHAR(16) NOT NULL DEFAULT 'mlp';
ALTER TABLE models ADD COLUMN IF NOT EXISTS model_config TEXT NOT NULL DEFAULT '';
ALTER TABLE models ADD COLUMN IF NOT EXISTS bucket INTEGER NOT NULL DEFAULT 0;
ALTER TABLE models ADD COLUMN IF NOT EXISTS top_k INTEGER NOT NULL DEFAULT 0;
