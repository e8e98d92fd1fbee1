-- 0002_audit.sql - the tamper-evident audit log and the alerts raised when
-- it cannot be written (SEC-8, WIN-3).  Each audit_log row carries the hash
-- of the row before it (prev_hash) and its own hash over its fields (see
-- src/core/audit.c for the canonical form).  audit_head holds the newest
-- seq and hash, so removing entries at the end is detected too; it starts
-- at the genesis value (seq 0, 64 zeros).

CREATE TABLE audit_log (
    id @ID@,
    seq BIGINT NOT NULL UNIQUE,
    ts BIGINT NOT NULL,
    user_id BIGINT,
    login TEXT NOT NULL,
    role TEXT,
    action TEXT NOT NULL,
    target_type TEXT,
    target_id TEXT,
    result TEXT NOT NULL,
    ip TEXT,
    user_agent TEXT,
    detail TEXT,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX audit_log_ts ON audit_log(ts);
CREATE INDEX audit_log_login ON audit_log(login, ts);
CREATE INDEX audit_log_action ON audit_log(action);
CREATE INDEX audit_log_target ON audit_log(target_type, target_id);

CREATE TABLE audit_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES
 (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE TABLE alerts (
    id @ID@,
    ts BIGINT NOT NULL,
    kind TEXT NOT NULL,
    message TEXT NOT NULL,
    acknowledged_by TEXT,
    acknowledged_at BIGINT
);
CREATE INDEX alerts_ts ON alerts(ts);
