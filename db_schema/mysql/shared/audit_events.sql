-- The audit_events table of every actor: each actor's migration NNN_audit_events.sql is a
-- symbolic link to this file (one schema for the four ledgers, docs/audit.md).
-- The actor's ledger (docs/audit.md): one append-only row per state change or release of a
-- batch, written in the transaction of the change. Never updated or deleted: the triggers
-- below refuse UPDATE and DELETE for every account, the actor's own included. (MariaDB runs
-- no trigger for TRUNCATE; it needs the DROP privilege, which docs/operations.md says to
-- withhold from the actor's account after migrations.)
CREATE TABLE IF NOT EXISTS audit_events (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  batch_id VARCHAR(64) NOT NULL,
  event VARCHAR(32) NOT NULL CHECK (event IN ('generated', 'prepared', 'available', 'bound',
    'shares_released', 'shares_delivered', 'seeds_released', 'converted', 'online_started',
    'consumed', 'failed', 'expired', 'material_deleted')),
  actor_identity VARCHAR(512) NOT NULL,
  peer_identity VARCHAR(512) NOT NULL DEFAULT '',
  at_unix_ms BIGINT NOT NULL,
  details TEXT NOT NULL,
  INDEX audit_events_batch (batch_id, id),
  INDEX audit_events_at (at_unix_ms)
) ENGINE=InnoDB;

CREATE TRIGGER IF NOT EXISTS audit_events_no_update BEFORE UPDATE ON audit_events FOR EACH ROW
  SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'audit events are append-only: UPDATE refused';
CREATE TRIGGER IF NOT EXISTS audit_events_no_delete BEFORE DELETE ON audit_events FOR EACH ROW
  SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'audit events are append-only: DELETE refused';
