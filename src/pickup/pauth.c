/*
** pauth.c - the citizens' sign-in check (RSV-1): notice ID and password
** (birth month and day).  MMDD has only 366 values, so guessing is
** throttled: PICKUP_LOCK_AFTER wrong answers in a row lock the notice for
** PICKUP_LOCK_SECONDS (audited), and an address that fails too often is
** refused for a while.  The answer never tells whether an ID exists: an
** unknown number is counted and locked in pickup_auth_throttle exactly as
** a known one is in notices, with the same work done on both paths (one
** keyed hash, the same lookups and one write transaction), and the
** comparison takes the same time wherever the first difference lies.
*/
#include <stdio.h>
#include <string.h>

#include "core/app.h"
#include "core/audit.h"
#include "core/crypto.h"
#include "core/db.h"
#include "core/http.h"
#include "core/util.h"
#include "pickup/pickup.h"

#define IP_WINDOW 900 /* seconds over which failures per address count */

struct attempt {
    char no[PICKUP_NOTICE_MAX]; /* digits typed, "" when malformed */
    char no_key[80];            /* throttle key of an unknown number */
    char ip_key[80];
    int64_t id;           /* the notice, 0 when unknown */
    int64_t locked_until; /* of the notice or of the number */
    int64_t now;
};

static int ip_limit(void)
{
    int n = the_app ? the_app->cfg.ip_fail_limit : 0;
    return n > 0 ? n : 50;
}

/* 1 when the address is throttled, 0 when not, -1 on error. */
static int ip_throttled(struct db_conn *c, const struct attempt *a)
{
    int64_t until = 0;
    int rc = db_query_int(c, &until,
                          "SELECT locked_until FROM pickup_auth_throttle "
                          "WHERE throttle_key = ?",
                          "s", a->ip_key);
    if (rc < 0)
        return -1;
    return rc == DB_ROW && until > a->now;
}

/* Looks the number up: the notice's id, lock and check value, or the
** throttle row of an unknown number.  Both lookups run on both paths. */
static int lookup(struct db_conn *c, struct attempt *a, char stored[65])
{
    int64_t no_locked = 0;
    int rc = db_query_int(c, &no_locked,
                          "SELECT locked_until FROM pickup_auth_throttle "
                          "WHERE throttle_key = ?",
                          "s", a->no_key);
    if (rc < 0)
        return -1;
    /* A value no keyed hash can take: the comparison below then fails in
    ** the same time as a wrong password does. */
    memset(stored, 'x', 64);
    stored[64] = 0;
    struct db_stmt *st = db_queryf(c,
                                   "SELECT id, birth_check, locked_until FROM "
                                   "notices WHERE notice_no = ?",
                                   "s", a->no);
    if (!st)
        return -1;
    rc = db_step(st);
    if (rc == DB_ROW) {
        a->id = db_col_int(st, 0);
        const char *v = db_col_text(st, 1);
        if (v && strlen(v) == 64)
            memcpy(stored, v, 65);
        a->locked_until = db_col_int(st, 2);
    } else {
        a->locked_until = no_locked;
    }
    db_finalize(st);
    return rc == DB_ROW || rc == DB_DONE ? 0 : -1;
}

/* Counts one failure of the address; locks it at the limit. */
static int count_ip(struct db_conn *c, const struct attempt *a)
{
    if (db_run(c,
               "INSERT INTO pickup_auth_throttle (throttle_key, failed_count, "
               "locked_until, updated_at) VALUES (?, 1, 0, ?) "
               "ON CONFLICT (throttle_key) DO UPDATE SET failed_count = "
               "CASE WHEN pickup_auth_throttle.updated_at < ? THEN 1 "
               "ELSE pickup_auth_throttle.failed_count + 1 END, updated_at = ?",
               "siii", a->ip_key, a->now, a->now - IP_WINDOW, a->now) < 0)
        return -1;
    return db_run(c,
                  "UPDATE pickup_auth_throttle SET locked_until = ?, "
                  "failed_count = 0 WHERE throttle_key = ? AND "
                  "failed_count >= ?",
                  "isi", a->now + IP_WINDOW, a->ip_key, (int64_t)ip_limit()) < 0
               ? -1
               : 0;
}

/* Counts one failure of the number typed; returns 1 when this failure
** locked it, 0 when not, -1 on error.  The count restarts after a lock. */
static int count_number(struct db_conn *c, const struct attempt *a)
{
    int64_t until = a->now + PICKUP_LOCK_SECONDS;
    int64_t after = 0;
    if (a->id) {
        if (db_run(c,
                   "UPDATE notices SET failed_count = CASE WHEN "
                   "failed_count + 1 >= ? THEN 0 ELSE failed_count + 1 END, "
                   "locked_until = CASE WHEN failed_count + 1 >= ? THEN ? "
                   "ELSE locked_until END WHERE id = ?",
                   "iiii", (int64_t)PICKUP_LOCK_AFTER,
                   (int64_t)PICKUP_LOCK_AFTER, until, a->id) != 1 ||
            db_query_int(c, &after,
                         "SELECT locked_until FROM notices WHERE id = ?", "i",
                         a->id) != DB_ROW)
            return -1;
    } else {
        if (db_run(c,
                   "INSERT INTO pickup_auth_throttle (throttle_key, "
                   "failed_count, locked_until, updated_at) VALUES (?, 1, 0, "
                   "?) ON CONFLICT (throttle_key) DO UPDATE SET "
                   "failed_count = pickup_auth_throttle.failed_count + 1, "
                   "updated_at = ?",
                   "sii", a->no_key, a->now, a->now) < 0 ||
            db_run(c,
                   "UPDATE pickup_auth_throttle SET locked_until = ?, "
                   "failed_count = 0 WHERE throttle_key = ? AND "
                   "failed_count >= ?",
                   "isi", until, a->no_key, (int64_t)PICKUP_LOCK_AFTER) < 0 ||
            db_query_int(c, &after,
                         "SELECT locked_until FROM pickup_auth_throttle "
                         "WHERE throttle_key = ?",
                         "s", a->no_key) != DB_ROW)
            return -1;
    }
    return after == until;
}

/* Writes the failure (counts and audit entries) in one transaction. */
static int record_failure(struct db_conn *c, const struct actor *who,
                          const struct attempt *a, const char *why, int count)
{
    if (db_begin(c) != DB_OK)
        return PICKUP_EDB;
    const char *target = a->no[0] ? a->no : "-";
    int locked = 0;
    int rc = PICKUP_OK;
    if (count && count_ip(c, a) != 0)
        rc = PICKUP_EDB;
    if (rc == PICKUP_OK && count && a->no[0]) {
        locked = count_number(c, a);
        if (locked < 0)
            rc = PICKUP_EDB;
    }
    if (rc == PICKUP_OK &&
        (audit_append(c, who, "pickup.login", "notice", target,
                      count ? "failed" : "denied", why) != 0 ||
         (locked == 1 && audit_append(c, who, "pickup.lockout", "notice",
                                      target, "ok", why) != 0)))
        rc = PICKUP_EAUDIT;
    if (rc != PICKUP_OK) {
        db_rollback(c);
        if (rc == PICKUP_EAUDIT)
            audit_alert(db_of(c), "audit.write_failed", "pickup.login");
        return rc;
    }
    if (db_commit(c) != DB_OK)
        return PICKUP_EDB;
    return locked == 1 ? PICKUP_ELOCKED : PICKUP_EAUTH;
}

static int record_success(struct db_conn *c, const struct actor *who,
                          const struct attempt *a)
{
    if (db_begin(c) != DB_OK)
        return PICKUP_EDB;
    int rc = PICKUP_OK;
    if (db_run(c,
               "UPDATE notices SET failed_count = 0 WHERE id = ? AND "
               "failed_count <> 0",
               "i", a->id) < 0)
        rc = PICKUP_EDB;
    else if (audit_append(c, who, "pickup.login", "notice", a->no, "ok",
                          NULL) != 0)
        rc = PICKUP_EAUDIT;
    if (rc != PICKUP_OK) {
        db_rollback(c);
        if (rc == PICKUP_EAUDIT)
            audit_alert(db_of(c), "audit.write_failed", "pickup.login");
        return rc;
    }
    return db_commit(c) == DB_OK ? PICKUP_OK : PICKUP_EDB;
}

int pickup_authenticate(struct db_conn *c, const struct actor *who,
                        const char *notice_no, const char *mmdd,
                        struct pickup_notice *n)
{
    if (!the_app || !the_app->keys)
        return PICKUP_EDB;
    struct attempt a;
    memset(&a, 0, sizeof a);
    a.now = now_unix();
    snprintf(a.ip_key, sizeof a.ip_key, "ip:%.64s",
             who && who->ip ? who->ip : "-");
    char md[5] = "0000";
    int well_formed = pickup_notice_no_clean(notice_no, a.no) == 0;
    if (!well_formed)
        a.no[0] = 0;
    well_formed = pickup_mmdd_clean(mmdd, md) == 0 && well_formed;

    int t = ip_throttled(c, &a);
    if (t < 0)
        return PICKUP_EDB;
    if (t) {
        int rc = record_failure(c, who, &a, "address throttled", 0);
        return rc == PICKUP_EAUTH ? PICKUP_ETHROTTLED : rc;
    }
    /* The keyed hash is computed whatever the input, so a malformed or
    ** unknown number costs what a known one does. */
    char check[65], stored[65], idx[65];
    pickup_birth_check(the_app->keys, a.no, md, check);
    field_blind_index(the_app->keys, "pickup_auth_throttle.no", a.no, idx);
    snprintf(a.no_key, sizeof a.no_key, "no:%s", idx);
    if (lookup(c, &a, stored) != 0)
        return PICKUP_EDB;
    int match = str_ct_eq(check, stored);
    if (!a.no[0])
        return record_failure(c, who, &a, "malformed", 1);
    if (a.locked_until > a.now) {
        int rc = record_failure(c, who, &a, "locked", 0);
        return rc == PICKUP_EAUTH ? PICKUP_ELOCKED : rc;
    }
    if (!well_formed || !match || !a.id)
        return record_failure(c, who, &a,
                              a.id ? "wrong password" : "unknown number", 1);
    int rc = record_success(c, who, &a);
    if (rc != PICKUP_OK)
        return rc;
    return pickup_notice_get_id(c, a.id, n);
}
