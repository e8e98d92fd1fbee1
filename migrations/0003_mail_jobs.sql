-- 0003_mail_jobs.sql - the outgoing mail queue (src/core/mail.c) and the
-- claims of scheduled job runs (src/core/jobs.c), OPS-1.
--
-- mail_queue holds each message fully formatted (RFC 5322, MIME) in body.
-- to_addr, subject and body hold personal data and are stored encrypted
-- (field_encrypt, contexts "mail_queue.<column>"; SEC-7).  A server sends a
-- row only after claiming it with a conditional UPDATE of claimed_until, so
-- several servers sharing one PostgreSQL never send the same mail.
-- job_runs: one row per run of a scheduled job; the primary key lets exactly
-- one server insert a given (job, slot) and so run it.

CREATE TABLE mail_queue (
    id @ID@,
    created BIGINT NOT NULL,
    to_addr TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt BIGINT NOT NULL,
    claimed_until BIGINT,
    sent_at BIGINT,
    last_error TEXT,
    status TEXT NOT NULL DEFAULT 'queued'
        CHECK (status IN ('queued', 'sent', 'failed'))
);
CREATE INDEX mail_queue_due ON mail_queue(status, next_attempt);

CREATE TABLE job_runs (
    job TEXT NOT NULL,
    slot TEXT NOT NULL,
    started BIGINT NOT NULL,
    finished BIGINT,
    result TEXT,
    host TEXT,
    PRIMARY KEY (job, slot)
);
CREATE INDEX job_runs_started ON job_runs(started);
