-- Text generation (issue 12): how many tokens one inference of a GPT-2 may generate, the first
-- from the pass on the prompt, each further one from a step on the secret-shared KV cache;
-- its batches hold material for that many (docs/transformer.md, "Generation").
ALTER TABLE models ADD COLUMN IF NOT EXISTS max_new_tokens INTEGER NOT NULL DEFAULT 1
  CHECK (max_new_tokens >= 1);
