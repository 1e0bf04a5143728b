-- Crash consistency of a bind (issue 15 item 3, docs/protocol.md "Reconciliation"): a batch is
-- bound here in one transaction and its dealers are told afterwards; dealers_told_at is set once
-- every dealer of the group took the binding. A bound row without it was left by a super dealer
-- that stopped in between: the pool keeper tells its dealers again (they accept the same
-- binding twice). Rows bound before this migration were told (or failed) by their request.
ALTER TABLE batches ADD COLUMN IF NOT EXISTS dealers_told_at DATETIME(6);
UPDATE batches SET dealers_told_at = bound_at WHERE bound_at IS NOT NULL AND dealers_told_at IS NULL;
