-- 0001_core.sql - accounts, roles and permissions, sessions and sign-in
-- history (SEC-1, SEC-2, SEC-3, SEC-9, WIN-2, WIN-7, WIN-9).
-- Roles and their permissions are data, editable by administrators.

CREATE TABLE roles (
    id @ID@,
    name TEXT NOT NULL UNIQUE,
    label_ja TEXT NOT NULL,
    label_en TEXT NOT NULL,
    privileged INTEGER NOT NULL DEFAULT 0,
    builtin INTEGER NOT NULL DEFAULT 0,
    search_keys TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL DEFAULT 0,
    updated_at BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE role_permissions (
    role_id BIGINT NOT NULL REFERENCES roles(id) ON DELETE CASCADE,
    perm TEXT NOT NULL,
    PRIMARY KEY (role_id, perm)
);

CREATE TABLE users (
    id @ID@,
    login TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    email TEXT,
    department TEXT NOT NULL DEFAULT '',
    role_id BIGINT NOT NULL REFERENCES roles(id),
    status TEXT NOT NULL DEFAULT 'active'
        CHECK (status IN ('active', 'suspended')),
    password_hash TEXT,
    must_change_password INTEGER NOT NULL DEFAULT 1,
    password_changed_at BIGINT NOT NULL DEFAULT 0,
    failed_count INTEGER NOT NULL DEFAULT 0,
    locked_at BIGINT,
    totp_secret TEXT,
    totp_enabled INTEGER NOT NULL DEFAULT 0,
    totp_last_step BIGINT NOT NULL DEFAULT 0,
    last_login_at BIGINT,
    last_login_ip TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE recovery_codes (
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    used_at BIGINT,
    PRIMARY KEY (user_id, code_hash)
);

CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_seen BIGINT NOT NULL,
    stage TEXT NOT NULL DEFAULT 'full',
    privileged INTEGER NOT NULL DEFAULT 0,
    ip TEXT,
    user_agent TEXT,
    prev_login_at BIGINT,
    failed_since INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE login_events (
    id @ID@,
    ts BIGINT NOT NULL,
    user_id BIGINT,
    login TEXT NOT NULL,
    kind TEXT NOT NULL,
    ip TEXT,
    user_agent TEXT
);
CREATE INDEX login_events_user ON login_events(user_id, ts);
CREATE INDEX login_events_ip ON login_events(ip, kind, ts);

INSERT INTO roles (name, label_ja, label_en, privileged, builtin) VALUES
 ('sysadmin', 'システム管理者', 'System administrator', 1, 1),
 ('auditor', '監査担当者', 'Auditor', 1, 1),
 ('staff_citizen', '市民課職員', 'Citizen services staff', 0, 1),
 ('staff_health', '健康推進課職員', 'Health promotion staff', 0, 1),
 ('staff_child', 'こども家庭課職員', 'Child and family staff', 0, 1),
 ('staff_ict', '情報政策課職員', 'ICT department staff', 0, 1),
 ('operator', '窓口・コールセンター担当', 'Counter / call-center operator', 0, 1),
 ('clinic', '医療機関', 'Clinic', 0, 1),
 ('citizen', '市民', 'Citizen', 0, 1);

INSERT INTO role_permissions (role_id, perm)
 SELECT id, 'users.read' FROM roles WHERE name = 'sysadmin';
INSERT INTO role_permissions (role_id, perm)
 SELECT id, 'users.write' FROM roles WHERE name = 'sysadmin';
INSERT INTO role_permissions (role_id, perm)
 SELECT id, 'roles.write' FROM roles WHERE name = 'sysadmin';
INSERT INTO role_permissions (role_id, perm)
 SELECT id, 'audit.read' FROM roles WHERE name IN ('sysadmin', 'auditor');
INSERT INTO role_permissions (role_id, perm)
 SELECT id, 'audit.export' FROM roles WHERE name IN ('sysadmin', 'auditor');
INSERT INTO role_permissions (role_id, perm)
 SELECT id, 'alerts.read' FROM roles WHERE name IN ('sysadmin', 'auditor');
INSERT INTO role_permissions (role_id, perm)
 SELECT id, 'alerts.receive' FROM roles WHERE name = 'sysadmin';
INSERT INTO role_permissions (role_id, perm)
 SELECT id, 'system.admin' FROM roles WHERE name = 'sysadmin';
