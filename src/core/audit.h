/*
** audit.h - the tamper-evident audit log (SEC-8, WIN-3).  Every read or
** write of personal data and every security event is appended here, in the
** same transaction as the change it records.  Each entry carries the hash
** of the one before: hash = SHA-256(prev_hash || canonical fields), so
** changing, removing or reordering an entry breaks the chain at that entry,
** which `cityos audit verify` reports.
**
** Fail closed: when audit_append() fails the caller must roll back and
** refuse the operation; audit_alert() then records the failure outside that
** transaction and mails the administrators.
*/
#ifndef CITYOS_AUDIT_H
#define CITYOS_AUDIT_H

#include <stdint.h>
#include "http.h"

struct db_conn;
struct db;
struct buf;

/* Must run inside the caller's write transaction (db_begin); fails
** otherwise.  who NULL means the system itself (login "system").  Texts
** are made valid UTF-8 and cut to a bound (user agent 512 bytes, detail
** 4000 ...); the stored values are the ones hashed.  The canonical form is
** described at the top of audit.c.
** result: "ok", "denied", "failed" ... ; detail may be NULL. 0 or -1. */
int audit_append(struct db_conn *c, const struct actor *who, const char *action,
                 const char *target_type, const char *target_id,
                 const char *result, const char *detail);

/* Checks the whole chain.  Returns 0 when intact; otherwise the id of the
** first entry that fails (> 0) with a reason in why ("hash mismatch",
** "chain broken", "sequence gap", "head mismatch"), or -1 on error.  For
** "head mismatch" the id is that of the last entry (1 when none is left).
** Reads one consistent snapshot, so appends running meanwhile are fine. */
int64_t audit_verify(struct db *db, char *why, size_t whylen);

/* Records an alert (table alerts) in its own transaction and queues mail
** to the administrators.  Used when the audit log cannot be written.
** Always logged to stderr first.  Uses a connection of its own (not the
** pool), so call it after rolling back; a caller may keep its pooled
** connection.  Mail for one kind is sent at most every 5 minutes per
** process; the alert row is written every time. */
void audit_alert(struct db *db, const char *kind, const char *message);

struct audit_query {
    int64_t from, to;   /* unix seconds, from <= ts < to; 0 = open */
    const char *login;  /* NULL = any */
    const char *action; /* prefix match */
    const char *target; /* "type" or "type:id" */
    const char *result;
    int limit, offset; /* limit <= 0: 100; at most 1000 */
};

/* Newest first.  Rows as a JSON array of objects {id, seq, ts, time (Japan
** time), user_id, login, role, action, target_type, target_id, result, ip,
** user_agent, detail, hash}; total is the number of matching entries.
** NULL and empty query fields match anything.  0 or -1. */
int audit_search(struct db_conn *c, const struct audit_query *q,
                 struct json_t **rows, int64_t *total);

/* Appends the matching entries (limit and offset ignored; newest first; at
** most 1,000,000) as CSV with a Japanese header row, appended to out: UTF-8
*with a
** BOM, or CP932 when cp932 is set (csv.h).  Returns the number of rows
** written or -1. */
int audit_export_csv(struct db_conn *c, const struct audit_query *q, int cp932,
                     struct buf *out);

#endif
