/*
** audit.c - the tamper-evident audit log (SEC-8, WIN-3): appending entries
** to a hash chain inside the caller's transaction, verifying the chain,
** searching and exporting it, and raising an alert when it cannot be
** written.  Tables: migrations/0002_audit.sql.
**
** Canonical form, version 1.  The hash of an entry is
**
**     hash = SHA-256( prev_hash || "cityos-audit-v1\n" ||
**                     F(seq) F(ts) F(user_id) F(login) F(role) F(action)
**                     F(target_type) F(target_id) F(result) F(ip)
**                     F(user_agent) F(detail) )
**
** as 64 lower-case hex digits, where prev_hash is the 64 hex digits of the
** entry before (64 zeros for the first) and F encodes one field:
**
**     NULL      "N\n"
**     integer   "I" decimal "\n"             e.g. "I42\n"
**     text      "S" byte-length ":" bytes "\n"   e.g. "S3:a|b\n"
**
** Every field starts with its type letter and a text carries its length,
** so the bytes of one entry can be split into fields in one way only: no
** two different entries (say login "a|b" and role "" against login "a"
** and role "b") hash the same input.  The values hashed are the values
** stored: texts are made valid UTF-8 (each stray byte becomes '?') and cut
** to their bound at a character boundary before both.
**
** audit_head (one row) holds the newest seq and hash.  Appenders read and
** update it in their transaction; on PostgreSQL with SELECT ... FOR UPDATE
** so that concurrent appenders queue, on SQLite BEGIN IMMEDIATE (db_begin)
** already lets one writer in at a time.
*/
#include "audit.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "app.h"
#include "crypto.h"
#include "csv.h"
#include "db.h"
#include "mail.h"
#include "util.h"

#define GENESIS_HASH                                                           \
    "0000000000000000000000000000000000000000000000000000000000000000"

/* The text fields in canonical order, with their bounds in bytes. */
enum {
    F_LOGIN,
    F_ROLE,
    F_ACTION,
    F_TARGET_TYPE,
    F_TARGET_ID,
    F_RESULT,
    F_IP,
    F_USER_AGENT,
    F_DETAIL,
    NFIELDS
};

static const size_t field_max[NFIELDS] = {
    [F_LOGIN] = 128,      [F_ROLE] = 64,        [F_ACTION] = 128,
    [F_TARGET_TYPE] = 64, [F_TARGET_ID] = 256,  [F_RESULT] = 32,
    [F_IP] = 64,          [F_USER_AGENT] = 512, [F_DETAIL] = 4000,
};

/* One entry as stored; text fields may be NULL (except login, action and
** result, which the schema requires). */
struct entry {
    int64_t seq;
    int64_t ts;
    int has_user;
    int64_t user_id;
    const char *f[NFIELDS];
};

/* The columns every reader selects, in this order. */
#define AUDIT_COLS                                                             \
    "id, seq, ts, user_id, login, role, action, target_type, target_id, "      \
    "result, ip, user_agent, detail, prev_hash, hash"
enum { C_ID, C_SEQ, C_TS, C_USER_ID, C_FIRST_TEXT, C_PREV = 13, C_HASH };

/* Length of the well-formed UTF-8 character at s (RFC 3629: no overlong
** forms, no surrogates, nothing above U+10FFFF), or 0 when s does not
** start one.  Reads no further than the first byte that fails, so the
** terminating NUL stops it. */
static size_t utf8_char_len(const unsigned char *s)
{
    unsigned char c = s[0];
    if (c >= 0x01 && c <= 0x7f)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        return (s[1] & 0xc0) == 0x80 ? 2 : 0;
    if (c >= 0xe0 && c <= 0xef) {
        unsigned char lo = c == 0xe0 ? 0xa0 : 0x80;
        unsigned char hi = c == 0xed ? 0x9f : 0xbf;
        if (s[1] < lo || s[1] > hi)
            return 0;
        return (s[2] & 0xc0) == 0x80 ? 3 : 0;
    }
    if (c >= 0xf0 && c <= 0xf4) {
        unsigned char lo = c == 0xf0 ? 0x90 : 0x80;
        unsigned char hi = c == 0xf4 ? 0x8f : 0xbf;
        if (s[1] < lo || s[1] > hi)
            return 0;
        if ((s[2] & 0xc0) != 0x80)
            return 0;
        return (s[3] & 0xc0) == 0x80 ? 4 : 0;
    }
    return 0;
}

/* Copies s into b as valid UTF-8 of at most max bytes: a byte that does
** not start a well-formed character becomes '?' (PostgreSQL refuses
** invalid UTF-8, and a hostile User-Agent must not make auditing fail),
** and the cut never splits a character. */
static void clean_text(struct buf *b, const char *s, size_t max)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t used = 0;
    while (*p) {
        size_t n = utf8_char_len(p);
        if (n == 0) {
            if (used + 1 > max)
                break;
            buf_putc(b, '?');
            used++;
            p++;
            continue;
        }
        if (used + n > max)
            break;
        buf_append(b, p, n);
        used += n;
        p += n;
    }
}

static void canon_null(struct buf *b)
{
    buf_puts(b, "N\n");
}

static void canon_int(struct buf *b, int64_t v)
{
    buf_printf(b, "I%lld\n", (long long)v);
}

static void canon_text(struct buf *b, const char *s)
{
    if (!s) {
        canon_null(b);
        return;
    }
    size_t n = strlen(s);
    buf_printf(b, "S%zu:", n);
    buf_append(b, s, n);
    buf_putc(b, '\n');
}

/* hash = SHA-256(prev_hash || canonical form), see the top of this file. */
static void entry_hash(const char *prev_hash, const struct entry *e,
                       char out[65])
{
    struct buf b;
    buf_init(&b);
    buf_puts(&b, prev_hash);
    buf_puts(&b, "cityos-audit-v1\n");
    canon_int(&b, e->seq);
    canon_int(&b, e->ts);
    if (e->has_user)
        canon_int(&b, e->user_id);
    else
        canon_null(&b);
    for (int i = 0; i < NFIELDS; i++)
        canon_text(&b, e->f[i]);
    sha256_hex(b.data, b.len, out);
    buf_free(&b);
}

/* Reads the head (seq and hash) inside the caller's transaction; locks it
** on PostgreSQL so a concurrent appender waits for our commit. */
static int head_read(struct db_conn *c, int lock, int64_t *seq, char hash[65])
{
    const char *sql = lock && db_engine(db_of(c)) == DB_POSTGRES
                          ? "SELECT seq, hash FROM audit_head WHERE id = 1 "
                            "FOR UPDATE"
                          : "SELECT seq, hash FROM audit_head WHERE id = 1";
    struct db_stmt *s = db_prepare(c, sql);
    if (!s)
        return -1;
    int rc = db_step(s);
    int ret = -1;
    if (rc == DB_ROW) {
        const char *h = db_col_text(s, 1);
        *seq = db_col_int(s, 0);
        str_copy(hash, h ? h : "", 65);
        ret = 0;
    } else if (rc == DB_DONE) {
        log_error("audit: audit_head has no row (migration 0002 missing?)");
    }
    db_finalize(s);
    return ret;
}

static int entry_insert(struct db_conn *c, const struct entry *e,
                        const char *prev_hash, const char *hash)
{
    struct db_stmt *s = db_prepare(
        c,
        "INSERT INTO audit_log (seq, ts, user_id, login, role, action, "
        "target_type, target_id, result, ip, user_agent, detail, "
        "prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    if (!s)
        return -1;
    db_bind_int(s, 1, e->seq);
    db_bind_int(s, 2, e->ts);
    if (e->has_user)
        db_bind_int(s, 3, e->user_id);
    else
        db_bind_null(s, 3);
    for (int i = 0; i < NFIELDS; i++)
        db_bind_text(s, 4 + i, e->f[i]);
    db_bind_text(s, 13, prev_hash);
    db_bind_text(s, 14, hash);
    int rc = db_step(s);
    db_finalize(s);
    return rc == DB_DONE ? 0 : -1;
}

/* Moves the head from (old_seq) to (seq, hash); the condition on the old
** seq makes a lost update impossible even if serialisation failed. */
static int head_update(struct db_conn *c, int64_t old_seq, int64_t seq,
                       const char *hash)
{
    int64_t n = db_run(c,
                       "UPDATE audit_head SET seq = ?, hash = ? "
                       "WHERE id = 1 AND seq = ?",
                       "isi", seq, hash, old_seq);
    if (n != 1) {
        if (n == 0)
            log_error("audit: head moved during append (seq %lld)",
                      (long long)old_seq);
        return -1;
    }
    return 0;
}

int audit_append(struct db_conn *c, const struct actor *who, const char *action,
                 const char *target_type, const char *target_id,
                 const char *result, const char *detail)
{
    if (!c || !action || !*action || !result || !*result) {
        log_error("audit: append without connection, action or result");
        return -1;
    }
    if (!db_in_transaction(c)) {
        /* The entry must commit or roll back with the change it records. */
        log_error("audit: append outside a transaction (%s)", action);
        return -1;
    }
    const char *raw[NFIELDS] = {0};
    struct entry e = {0};
    if (who) {
        raw[F_LOGIN] = who->login ? who->login : "-";
        raw[F_ROLE] = who->role;
        raw[F_IP] = who->ip;
        raw[F_USER_AGENT] = who->ua;
        e.has_user = who->user_id > 0;
        e.user_id = who->user_id;
    } else {
        raw[F_LOGIN] = "system";
    }
    raw[F_ACTION] = action;
    raw[F_TARGET_TYPE] = target_type;
    raw[F_TARGET_ID] = target_id;
    raw[F_RESULT] = result;
    raw[F_DETAIL] = detail;

    struct buf text[NFIELDS];
    for (int i = 0; i < NFIELDS; i++) {
        buf_init(&text[i]);
        e.f[i] = NULL;
        if (raw[i]) {
            clean_text(&text[i], raw[i], field_max[i]);
            buf_puts(&text[i], ""); /* data non-NULL even when empty */
            e.f[i] = text[i].data;
        }
    }

    int ret = -1;
    int64_t head_seq = 0;
    char prev[65], hash[65];
    if (head_read(c, 1, &head_seq, prev) != 0)
        goto out;
    e.seq = head_seq + 1;
    e.ts = now_unix();
    entry_hash(prev, &e, hash);
    if (entry_insert(c, &e, prev, hash) != 0 ||
        head_update(c, head_seq, e.seq, hash) != 0)
        goto out;
    ret = 0;
out:
    if (ret != 0)
        log_error("audit: cannot append %s: %s", action, db_errmsg(c));
    for (int i = 0; i < NFIELDS; i++)
        buf_free(&text[i]);
    return ret;
}

/* Fills e from a row selected with AUDIT_COLS; pointers are valid until
** the next step. */
static void entry_from_row(struct db_stmt *s, struct entry *e)
{
    e->seq = db_col_int(s, C_SEQ);
    e->ts = db_col_int(s, C_TS);
    e->has_user = !db_col_is_null(s, C_USER_ID);
    e->user_id = e->has_user ? db_col_int(s, C_USER_ID) : 0;
    for (int i = 0; i < NFIELDS; i++)
        e->f[i] = db_col_text(s, C_FIRST_TEXT + i);
}

/* A read-only transaction that sees one snapshot: SQLite's deferred BEGIN
** (WAL readers never block the writer; BEGIN IMMEDIATE would hold up
** every writer for the whole check) and REPEATABLE READ on PostgreSQL. */
static int snapshot_begin(struct db_conn *c)
{
    return db_exec(c, db_engine(db_of(c)) == DB_POSTGRES
                          ? "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
                          : "BEGIN");
}

#define VERIFY_BATCH 1000

struct verify_state {
    int64_t expect_seq; /* seq the next entry must have */
    char prev[65];      /* hash of the entry before */
    int64_t last_id;    /* id of the last entry seen, 0 for none */
    int64_t bad_id;     /* first failing entry */
    const char *why;
};

/* Checks one entry against the chain so far. */
static void verify_entry(struct verify_state *v, struct db_stmt *s)
{
    struct entry e;
    entry_from_row(s, &e);
    int64_t id = db_col_int(s, C_ID);
    const char *prev = db_col_text(s, C_PREV);
    const char *hash = db_col_text(s, C_HASH);
    char want[65];
    entry_hash(prev ? prev : "", &e, want);
    if (e.seq != v->expect_seq)
        v->why = "sequence gap";
    else if (!prev || strcmp(prev, v->prev) != 0)
        v->why = "chain broken";
    else if (!hash || strcmp(hash, want) != 0)
        v->why = "hash mismatch";
    if (v->why) {
        v->bad_id = id;
        return;
    }
    v->expect_seq++;
    str_copy(v->prev, hash, sizeof v->prev);
    v->last_id = id;
}

/* Walks the log in batches (the PostgreSQL adapter holds a whole result in
** memory) by seq; 0 when all were read, -1 on error. */
static int verify_walk(struct db_conn *c, struct verify_state *v)
{
    int64_t after = INT64_MIN;
    for (;;) {
        struct db_stmt *s =
            db_queryf(c,
                      "SELECT " AUDIT_COLS " FROM audit_log WHERE seq > ? "
                      "ORDER BY seq LIMIT ?",
                      "ii", after, (int64_t)VERIFY_BATCH);
        if (!s)
            return -1;
        int n = 0, rc;
        while ((rc = db_step(s)) == DB_ROW) {
            n++;
            after = db_col_int(s, C_SEQ);
            verify_entry(v, s);
            if (v->why)
                break;
        }
        db_finalize(s);
        if (rc < 0)
            return -1;
        if (v->why || n < VERIFY_BATCH)
            return 0;
    }
}

/* The head must name the last entry: otherwise entries at the end were
** removed (head ahead) or added without the head (head behind). */
static void verify_head(struct db_conn *c, struct verify_state *v, int *err)
{
    int64_t seq = -1;
    char hash[65] = "";
    if (head_read(c, 0, &seq, hash) != 0) {
        /* A missing head row counts as tampering, a failed query not. */
        int64_t n = 0;
        if (db_query_int(c, &n, "SELECT COUNT(*) FROM audit_head", "") !=
            DB_ROW) {
            *err = 1;
            return;
        }
    }
    if (seq == v->expect_seq - 1 && strcmp(hash, v->prev) == 0)
        return;
    v->why = "head mismatch";
    v->bad_id = v->last_id > 0 ? v->last_id : 1;
}

int64_t audit_verify(struct db *db, char *why, size_t whylen)
{
    if (why && whylen)
        why[0] = 0;
    struct db_conn *c = db_acquire(db);
    if (!c) {
        str_copy(why, "database unreachable", whylen);
        return -1;
    }
    struct verify_state v = {.expect_seq = 1, .last_id = 0};
    str_copy(v.prev, GENESIS_HASH, sizeof v.prev);
    int err = 0;
    if (snapshot_begin(c) != DB_OK) {
        err = 1;
    } else {
        if (verify_walk(c, &v) != 0)
            err = 1;
        else if (!v.why)
            verify_head(c, &v, &err);
        db_exec(c, "ROLLBACK");
    }
    int64_t ret = 0;
    if (err) {
        snprintf(why, whylen, "database error: %s", db_errmsg(c));
        ret = -1;
    } else if (v.why) {
        str_copy(why, v.why, whylen);
        ret = v.bad_id;
    }
    db_release(c);
    return ret;
}

/* ---- alerts ---------------------------------------------------------- */

#define ALERT_MAIL_INTERVAL 300 /* seconds between mails of one kind */
#define ALERT_KINDS         16
#define ALERT_MAX_RCPT      100

static pthread_mutex_t alert_mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
    char key[65]; /* SHA-256 of database URL and kind */
    int64_t last;
    int suppressed;
} alert_recent[ALERT_KINDS];

/* 1 when mail for kind may go now (and records it); a failing database
** would otherwise mail every administrator once per refused request.
** *suppressed gets the number of alerts not mailed since the last mail. */
static int alert_mail_due(struct db *db, const char *kind, int64_t now,
                          int *suppressed)
{
    int slot = -1, oldest = 0;
    char key[65];
    struct buf k;
    buf_init(&k);
    buf_printf(&k, "%s\n%s", db_url(db), kind);
    sha256_hex(k.data, k.len, key);
    buf_free(&k);
    pthread_mutex_lock(&alert_mu);
    for (int i = 0; i < ALERT_KINDS; i++) {
        if (strcmp(alert_recent[i].key, key) == 0) {
            slot = i;
            break;
        }
        if (alert_recent[i].last < alert_recent[oldest].last)
            oldest = i;
    }
    int due = 1;
    if (slot < 0) {
        slot = oldest;
        str_copy(alert_recent[slot].key, key, sizeof alert_recent[0].key);
        alert_recent[slot].suppressed = 0;
    } else if (now - alert_recent[slot].last < ALERT_MAIL_INTERVAL) {
        alert_recent[slot].suppressed++;
        due = 0;
    }
    if (due) {
        *suppressed = alert_recent[slot].suppressed;
        alert_recent[slot].suppressed = 0;
        alert_recent[slot].last = now;
    }
    pthread_mutex_unlock(&alert_mu);
    return due;
}

struct rcpt_list {
    char *addr[ALERT_MAX_RCPT];
    int n;
};

/* Adds a trimmed address unless already present (case-insensitively). */
static void rcpt_add(struct rcpt_list *r, const char *addr, size_t len)
{
    while (len && (*addr == ' ' || *addr == '\t')) {
        addr++;
        len--;
    }
    while (len && (addr[len - 1] == ' ' || addr[len - 1] == '\t'))
        len--;
    if (!len || r->n >= ALERT_MAX_RCPT)
        return;
    for (int i = 0; i < r->n; i++)
        if (strlen(r->addr[i]) == len && !strncasecmp(r->addr[i], addr, len))
            return;
    r->addr[r->n++] = xstrndup(addr, len);
}

/* Every active user whose role holds alerts.receive, with an e-mail
** address (encrypted as "users.email"). */
static void rcpt_from_users(struct db_conn *c, struct rcpt_list *r)
{
    struct keyring *keys = the_app ? the_app->keys : NULL;
    struct db_stmt *s =
        db_queryf(c,
                  "SELECT u.email FROM users u JOIN role_permissions p "
                  "ON p.role_id = u.role_id WHERE p.perm = ? AND "
                  "u.status = ? AND u.email IS NOT NULL AND u.email <> '' "
                  "ORDER BY u.id",
                  "ss", "alerts.receive", "active");
    if (!s) {
        log_error("audit: alert recipients: %s", db_errmsg(c));
        return;
    }
    int rc;
    while ((rc = db_step(s)) == DB_ROW) {
        const char *stored = db_col_text(s, 0);
        char *plain = NULL;
        if (keys)
            plain = field_decrypt(keys, "users.email", stored);
        else if (!str_starts(stored, "enc1:"))
            plain = xstrdup(stored);
        if (!plain) {
            log_warn("audit: an administrator's e-mail cannot be decrypted");
            continue;
        }
        rcpt_add(r, plain, strlen(plain));
        free(plain);
    }
    if (rc < 0)
        log_error("audit: alert recipients: %s", db_errmsg(c));
    db_finalize(s);
}

/* The configured alert_mail list, comma-separated. */
static void rcpt_from_config(struct rcpt_list *r)
{
    if (!the_app)
        return;
    const char *p = the_app->cfg.alert_mail;
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        rcpt_add(r, p, len);
        p += len;
        if (*p == ',')
            p++;
    }
}

/* Header-safe copy: control characters become spaces. */
static void clean_line(char *dst, size_t dstlen, const char *src)
{
    struct buf b;
    buf_init(&b);
    clean_text(&b, src, dstlen - 1);
    for (size_t i = 0; i < b.len; i++)
        if ((unsigned char)b.data[i] < 0x20 || b.data[i] == 0x7f)
            b.data[i] = ' ';
    str_copy(dst, b.data ? b.data : "", dstlen);
    buf_free(&b);
}

/* Queues one mail per recipient in one transaction.  Failures are logged:
** the alert itself is already stored. */
static void alert_mail(struct db_conn *c, const char *kind, const char *message,
                       int64_t ts, int suppressed)
{
    struct rcpt_list r = {.n = 0};
    rcpt_from_users(c, &r);
    rcpt_from_config(&r);
    if (r.n == 0) {
        log_warn("audit: no recipient for alert mail (set alert_mail)");
        return;
    }
    char when[64], subject[128];
    time_format_jst(ts, when, sizeof when);
    clean_line(subject, sizeof subject, kind);
    struct buf subj, text;
    buf_init(&subj);
    buf_init(&text);
    buf_printf(&subj, "[cityos] 警告: %s", subject);
    buf_printf(&text,
               "cityos で警告が発生しました。管理画面の「警告」を確認し、"
               "対応してください。\n"
               "cityos raised an alert; please check the alerts page.\n\n"
               "種別 (kind): %s\n日時 (time, JST): %s\n",
               subject, when);
    if (suppressed > 0)
        buf_printf(&text,
                   "直前の通知以降、同じ種別の警告が %d 件ありました "
                   "(%d more of this kind since the last mail).\n",
                   suppressed, suppressed);
    buf_printf(&text, "\n%s\n", message);
    if (db_begin(c) == DB_OK) {
        for (int i = 0; i < r.n; i++) {
            struct mail m = {
                .to = r.addr[i], .subject = subj.data, .text = text.data};
            if (mail_enqueue(c, &m) != 0)
                log_error("audit: alert mail to recipient %d of %d not "
                          "queued",
                          i + 1, r.n);
        }
        if (db_commit(c) != DB_OK)
            log_error("audit: alert mail: %s", db_errmsg(c));
    } else {
        log_error("audit: alert mail: %s", db_errmsg(c));
    }
    for (int i = 0; i < r.n; i++)
        free(r.addr[i]);
    buf_free(&subj);
    buf_free(&text);
}

void audit_alert(struct db *db, const char *kind, const char *message)
{
    char k[65];
    clean_line(k, sizeof k, kind && *kind ? kind : "unknown");
    struct buf msg;
    buf_init(&msg);
    clean_text(&msg, message ? message : "", 4000);
    buf_puts(&msg, "");
    /* First to stderr, so the alert is never lost even with no database;
    ** on one line, so a message cannot forge log lines. */
    char line[1024];
    clean_line(line, sizeof line, msg.data);
    log_error("ALERT %s: %s", k, line);
    if (!db)
        goto out;
    /* A connection of our own: the caller may hold the last pooled one,
    ** and its own transaction has failed. */
    struct db *own = NULL;
    char err[256];
    if (db_open(db_url(db), 1, &own, err, sizeof err) != 0) {
        log_error("audit: alert not stored: %s", err);
        goto out;
    }
    struct db_conn *c = db_acquire(own);
    if (!c) {
        log_error("audit: alert not stored: database unreachable");
        db_close(own);
        goto out;
    }
    int64_t ts = now_unix();
    int stored = 0;
    if (db_begin(c) == DB_OK) {
        int64_t n = db_run(c,
                           "INSERT INTO alerts (ts, kind, message) "
                           "VALUES (?, ?, ?)",
                           "iss", ts, k, msg.data);
        if (n == 1 && db_commit(c) == DB_OK)
            stored = 1;
        else if (db_in_transaction(c))
            db_rollback(c);
    }
    if (!stored)
        log_error("audit: alert not stored: %s", db_errmsg(c));
    int suppressed = 0;
    if (alert_mail_due(db, k, ts, &suppressed))
        alert_mail(c, k, msg.data, ts, suppressed);
    db_release(c);
    db_close(own);
out:
    buf_free(&msg);
}

/* ---- search and export ------------------------------------------------ */

#define QUERY_PARAMS 8

/* A WHERE clause built from constant fragments, with its values bound in
** order; the strings are cleaned like stored values so that a search for
** an over-long value finds the entry it was cut to. */
struct where {
    struct buf sql;
    int n;
    int is_int[QUERY_PARAMS];
    int64_t ival[QUERY_PARAMS];
    struct buf sval[QUERY_PARAMS];
};

/* Adds a condition; its values follow with where_int()/where_text(). */
static void where_cond(struct where *w, const char *frag)
{
    buf_puts(&w->sql, w->sql.len ? " AND " : " WHERE ");
    buf_puts(&w->sql, frag);
}

static void where_int(struct where *w, int64_t v)
{
    w->is_int[w->n] = 1;
    w->ival[w->n++] = v;
}

static void where_text(struct where *w, const char *v, size_t max)
{
    w->is_int[w->n] = 0;
    buf_init(&w->sval[w->n]);
    clean_text(&w->sval[w->n], v, max);
    buf_puts(&w->sval[w->n], "");
    w->n++;
}

static size_t utf8_count(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xc0) != 0x80)
            n++;
    return n;
}

static void where_build(struct where *w, const struct audit_query *q)
{
    memset(w, 0, sizeof *w);
    buf_init(&w->sql);
    if (q->from > 0) {
        where_cond(w, "ts >= ?");
        where_int(w, q->from);
    }
    if (q->to > 0) {
        where_cond(w, "ts < ?");
        where_int(w, q->to);
    }
    if (q->login && *q->login) {
        where_cond(w, "login = ?");
        where_text(w, q->login, field_max[F_LOGIN]);
    }
    if (q->action && *q->action) {
        /* substr, not LIKE: exact and case-sensitive on both engines with
        ** no wildcard to escape; both count characters, not bytes. */
        where_cond(w, "substr(action, 1, CAST(? AS INTEGER)) = ?");
        where_int(w, 0);
        where_text(w, q->action, field_max[F_ACTION]);
        w->ival[w->n - 2] = (int64_t)utf8_count(w->sval[w->n - 1].data);
    }
    if (q->target && *q->target) {
        const char *colon = strchr(q->target, ':');
        if (colon) {
            char *type = xstrndup(q->target, (size_t)(colon - q->target));
            where_cond(w, "target_type = ? AND target_id = ?");
            where_text(w, type, field_max[F_TARGET_TYPE]);
            where_text(w, colon + 1, field_max[F_TARGET_ID]);
            free(type);
        } else {
            where_cond(w, "target_type = ?");
            where_text(w, q->target, field_max[F_TARGET_TYPE]);
        }
    }
    if (q->result && *q->result) {
        where_cond(w, "result = ?");
        where_text(w, q->result, field_max[F_RESULT]);
    }
    buf_puts(&w->sql, ""); /* data non-NULL even with no condition */
}

/* Binds the WHERE values from parameter 1; returns the next index. */
static int where_bind(const struct where *w, struct db_stmt *s)
{
    for (int i = 0; i < w->n; i++) {
        if (w->is_int[i])
            db_bind_int(s, i + 1, w->ival[i]);
        else
            db_bind_text(s, i + 1, w->sval[i].data);
    }
    return w->n + 1;
}

static void where_free(struct where *w)
{
    for (int i = 0; i < w->n; i++)
        if (!w->is_int[i])
            buf_free(&w->sval[i]);
    buf_free(&w->sql);
}

/* Prepares "head WHERE ... tail" and binds the WHERE values. */
static struct db_stmt *where_prepare(struct db_conn *c, const struct where *w,
                                     const char *head, const char *tail,
                                     int *next)
{
    struct buf sql;
    buf_init(&sql);
    buf_puts(&sql, head);
    buf_puts(&sql, w->sql.data);
    buf_puts(&sql, tail);
    struct db_stmt *s = db_prepare(c, sql.data);
    buf_free(&sql);
    if (!s)
        return NULL;
    *next = where_bind(w, s);
    return s;
}

static json_t *json_text_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

static json_t *row_json(struct db_stmt *s)
{
    static const char *const names[NFIELDS] = {
        "login",  "role", "action",     "target_type", "target_id",
        "result", "ip",   "user_agent", "detail",
    };
    struct entry e;
    entry_from_row(s, &e);
    char when[64];
    time_format_jst(e.ts, when, sizeof when);
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer(db_col_int(s, C_ID)));
    json_object_set_new(o, "seq", json_integer(e.seq));
    json_object_set_new(o, "ts", json_integer(e.ts));
    json_object_set_new(o, "time", json_string(when));
    json_object_set_new(o, "user_id",
                        e.has_user ? json_integer(e.user_id) : json_null());
    for (int i = 0; i < NFIELDS; i++)
        json_object_set_new(o, names[i], json_text_or_null(e.f[i]));
    json_object_set_new(o, "hash", json_text_or_null(db_col_text(s, C_HASH)));
    return o;
}

int audit_search(struct db_conn *c, const struct audit_query *q,
                 struct json_t **rows, int64_t *total)
{
    *rows = NULL;
    *total = 0;
    int limit = q->limit <= 0 ? 100 : q->limit > 1000 ? 1000 : q->limit;
    int offset = q->offset < 0 ? 0 : q->offset;
    struct where w;
    where_build(&w, q);
    int next, rc, ret = -1;
    json_t *arr = NULL;
    struct db_stmt *s =
        where_prepare(c, &w, "SELECT COUNT(*) FROM audit_log", "", &next);
    if (!s)
        goto out;
    rc = db_step(s);
    if (rc == DB_ROW)
        *total = db_col_int(s, 0);
    db_finalize(s);
    if (rc != DB_ROW)
        goto out;
    s = where_prepare(c, &w, "SELECT " AUDIT_COLS " FROM audit_log",
                      " ORDER BY seq DESC LIMIT ? OFFSET ?", &next);
    if (!s)
        goto out;
    db_bind_int(s, next, limit);
    db_bind_int(s, next + 1, offset);
    arr = json_array();
    while ((rc = db_step(s)) == DB_ROW)
        json_array_append_new(arr, row_json(s));
    db_finalize(s);
    if (rc != DB_DONE)
        goto out;
    *rows = arr;
    arr = NULL;
    ret = 0;
out:
    if (ret != 0)
        log_error("audit: search: %s", db_errmsg(c));
    json_decref(arr);
    where_free(&w);
    return ret;
}

#define EXPORT_MAX_ROWS 1000000
#define EXPORT_BATCH    1000

static void csv_row(struct buf *b, struct db_stmt *s)
{
    struct entry e;
    entry_from_row(s, &e);
    char when[64];
    time_format_jst(e.ts, when, sizeof when);
    csv_field(b, when);
    csv_field(b, e.f[F_LOGIN]);
    static const int order[] = {F_ROLE,   F_ACTION, F_TARGET_TYPE, F_TARGET_ID,
                                F_RESULT, F_IP,     F_USER_AGENT,  F_DETAIL};
    for (size_t i = 0; i < ARRAY_LEN(order); i++)
        csv_field(b, e.f[order[i]] ? e.f[order[i]] : "");
    csv_field_int(b, (long long)e.seq);
    csv_field(b, db_col_text(s, C_HASH));
    csv_row_end(b);
}

/* Newest first, in batches by seq so that no result set holds more than
** EXPORT_BATCH rows at a time. */
static int export_rows(struct db_conn *c, const struct where *w, struct buf *b)
{
    int64_t before = INT64_MAX;
    int rows = 0;
    while (rows < EXPORT_MAX_ROWS) {
        int next;
        struct db_stmt *s = where_prepare(
            c, w, "SELECT " AUDIT_COLS " FROM audit_log",
            w->sql.len ? " AND seq < ? ORDER BY seq DESC LIMIT ?"
                       : " WHERE seq < ? ORDER BY seq DESC LIMIT ?",
            &next);
        if (!s)
            return -1;
        int want = EXPORT_MAX_ROWS - rows < EXPORT_BATCH
                       ? EXPORT_MAX_ROWS - rows
                       : EXPORT_BATCH;
        db_bind_int(s, next, before);
        db_bind_int(s, next + 1, want);
        int n = 0, rc;
        while ((rc = db_step(s)) == DB_ROW) {
            before = db_col_int(s, C_SEQ);
            csv_row(b, s);
            n++;
        }
        db_finalize(s);
        if (rc != DB_DONE)
            return -1;
        rows += n;
        if (n < want)
            break;
    }
    return rows;
}

int audit_export_csv(struct db_conn *c, const struct audit_query *q, int cp932,
                     struct buf *out)
{
    static const char *const header[] = {
        "日時", "利用者",     "ロール",
        "操作", "対象種別",   "対象ID",
        "結果", "IPアドレス", "ユーザーエージェント",
        "詳細", "連番",       "ハッシュ",
    };
    struct buf utf8;
    buf_init(&utf8);
    for (size_t i = 0; i < ARRAY_LEN(header); i++)
        csv_field(&utf8, header[i]);
    csv_row_end(&utf8);
    struct where w;
    where_build(&w, q);
    int rows = export_rows(c, &w, &utf8);
    where_free(&w);
    if (rows < 0)
        log_error("audit: export: %s", db_errmsg(c));
    else if (csv_finish(&utf8, cp932, out) < 0)
        rows = -1;
    buf_free(&utf8);
    return rows;
}
