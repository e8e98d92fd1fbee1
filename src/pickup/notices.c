/*
** notices.c - the issuance notices (交付通知書) of the My Number Card
** pickup service: the citizens' sign-in check with its throttling
** (RSV-1), card statuses changed by staff (RSV-13), and the booking hooks
** that keep a card's status in step with its booking in the booking's own
** transaction, so that a card already handed over can never be booked
** (RSV-9).
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "booking/booking.h"
#include "core/app.h"
#include "core/audit.h"
#include "core/crypto.h"
#include "core/db.h"
#include "core/http.h"
#include "core/mail.h"
#include "core/parse.h"
#include "core/tmpl.h"
#include "core/util.h"
#include "pickup/pickup.h"

const char *const PICKUP_STATUSES[] = {
    "mailed",   "booked", "visited",   "issued",
    "returned", "held",   "discarded", NULL,
};

const char *pickup_error_key(int rc)
{
    switch (rc) {
    case PICKUP_OK:
        return "pickup.ok";
    case PICKUP_ENOTFOUND:
        return "pickup.err.notfound";
    case PICKUP_EAUTH:
        return "pickup.err.auth";
    case PICKUP_ELOCKED:
        return "pickup.err.locked";
    case PICKUP_ESTATUS:
        return "pickup.err.status";
    case PICKUP_EINVAL:
        return "pickup.err.invalid";
    case PICKUP_EAUDIT:
        return "error.audit";
    case PICKUP_EEXISTS:
        return "pickup.err.exists";
    case PICKUP_ETHROTTLED:
        return "pickup.err.throttled";
    case PICKUP_EREFUSED:
        return "pickup.err.refused";
    default:
        return "error.500";
    }
}

const char *pickup_booking_error_key(int rc)
{
    switch (rc) {
    case PICKUP_EREFUSED:
        return "pickup.err.refused";
    case BOOKING_EFULL:
        return "pickup.err.full";
    case BOOKING_EDUPLICATE:
        return "pickup.err.duplicate";
    case BOOKING_ECLOSED:
        return "pickup.err.closed";
    case BOOKING_ENOTFOUND:
        return "pickup.err.slot_notfound";
    case BOOKING_EBUSY:
        return "pickup.err.busy";
    case BOOKING_EINVAL:
        return "pickup.err.invalid";
    default:
        return booking_error_key(rc);
    }
}

/* ---- text ------------------------------------------------------------- */

/* The next character of s as an ASCII digit ('0'..'9') when it is one,
** full-width too (U+FF10..U+FF19, "０".."９"); advances *s.  Returns the
** digit, 's' for a separator (space, hyphen, their full-width forms and
** the long vowel or minus signs people type for hyphens), or 0. */
static int next_char(const unsigned char **s)
{
    const unsigned char *p = *s;
    if (*p >= '0' && *p <= '9') {
        *s = p + 1;
        return *p;
    }
    if (*p == ' ' || *p == '-') {
        *s = p + 1;
        return 's';
    }
    if (p[0] == 0xEF && p[1] == 0xBC && p[2] >= 0x90 && p[2] <= 0x99) {
        *s = p + 3;
        return '0' + (p[2] - 0x90); /* ０..９ */
    }
    if ((p[0] == 0xEF && p[1] == 0xBC && p[2] == 0x8D) || /* － */
        (p[0] == 0xE3 && p[1] == 0x80 && p[2] == 0x80) || /* ideographic
                                                             space */
        (p[0] == 0xE2 && p[1] == 0x88 && p[2] == 0x92) || /* − */
        (p[0] == 0xE2 && p[1] == 0x80 && p[2] == 0x90) || /* ‐ */
        (p[0] == 0xE3 && p[1] == 0x83 && p[2] == 0xBC)) { /* ー */
        *s = p + 3;
        return 's';
    }
    return 0;
}

/* Digits of s, separators dropped, at most max digits; -1 on anything
** else or too many. */
static int clean_digits(const char *s, char *out, size_t max)
{
    if (!s || strlen(s) > 64)
        return -1;
    size_t n = 0;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        int c = next_char(&p);
        if (c == 0)
            return -1;
        if (c == 's')
            continue;
        if (n == max)
            return -1;
        out[n++] = (char)c;
    }
    out[n] = 0;
    return (int)n;
}

int pickup_notice_no_clean(const char *s, char out[PICKUP_NOTICE_MAX])
{
    char d[PICKUP_NOTICE_MAX];
    int n = clean_digits(s, d, 12);
    if (n < 9)
        return -1;
    memcpy(out, d, (size_t)n + 1);
    return 0;
}

void pickup_notice_no_format(const char *digits, char *out, size_t n)
{
    size_t len = strlen(digits);
    if (len <= 3) {
        str_copy(out, digits, n);
        return;
    }
    snprintf(out, n, "%.3s-%s", digits, digits + 3);
}

int pickup_mmdd_clean(const char *s, char out[5])
{
    static const int mdays[12] = {31, 29, 31, 30, 31, 30,
                                  31, 31, 30, 31, 30, 31};
    char d[8];
    if (clean_digits(s, d, 4) != 4)
        return -1;
    int m = (d[0] - '0') * 10 + (d[1] - '0');
    int day = (d[2] - '0') * 10 + (d[3] - '0');
    if (m < 1 || m > 12 || day < 1 || day > mdays[m - 1])
        return -1;
    memcpy(out, d, 5);
    return 0;
}

void pickup_member_key(const char *notice_no, char *out, size_t n)
{
    snprintf(out, n, "notice:%s", notice_no);
}

void pickup_birth_check(const struct keyring *k, const char *notice_no,
                        const char *mmdd, char out[65])
{
    char v[PICKUP_NOTICE_MAX + 8];
    snprintf(v, sizeof v, "%s:%s", notice_no, mmdd);
    field_blind_index(k, "notices.birth", v, out);
}

void pickup_name_index(const struct keyring *k, const char *kana, char out[65])
{
    field_blind_index(k, "notices.name_kana", kana, out);
}

const char *pickup_contact_text(const char *lang)
{
    const char *env = the_app ? the_app->cfg.pickup_contact : NULL;
    if (env && env[0] && strlen(env) <= 500 && utf8_valid(env, strlen(env)))
        return env;
    return i18n_get(lang ? lang : "ja", "pickup.contact");
}

/* ---- statuses --------------------------------------------------------- */

int pickup_status_valid(const char *status)
{
    for (int i = 0; status && PICKUP_STATUSES[i]; i++)
        if (strcmp(status, PICKUP_STATUSES[i]) == 0)
            return 1;
    return 0;
}

/* What staff may do by hand (see pickup.h); "booked" only by booking, and
** "booked" -> "mailed" only by cancelling. */
static const struct {
    const char *from;
    const char *to[6];
} transitions[] = {
    {"mailed", {"visited", "issued", "returned", "held", "discarded"}},
    {"booked", {"visited", "issued", "held", "returned", "discarded"}},
    {"visited", {"issued", "held", "mailed"}},
    {"returned", {"mailed", "held", "discarded"}},
    {"held", {"mailed", "visited", "issued", "returned", "discarded"}},
};

int pickup_status_change_ok(const char *from, const char *to)
{
    if (!from || !to)
        return 0;
    for (size_t i = 0; i < ARRAY_LEN(transitions); i++) {
        if (strcmp(transitions[i].from, from) != 0)
            continue;
        for (int j = 0; j < 6 && transitions[i].to[j]; j++)
            if (strcmp(transitions[i].to[j], to) == 0)
                return 1;
    }
    return 0;
}

int pickup_status_needs_reason(const char *status)
{
    return status &&
           (strcmp(status, "returned") == 0 || strcmp(status, "held") == 0 ||
            strcmp(status, "discarded") == 0);
}

const char *pickup_status_key(const char *status)
{
    static const char *const keys[] = {
        "pickup.status.mailed",    "pickup.status.booked",
        "pickup.status.visited",   "pickup.status.issued",
        "pickup.status.returned",  "pickup.status.held",
        "pickup.status.discarded",
    };
    for (int i = 0; PICKUP_STATUSES[i]; i++)
        if (status && strcmp(status, PICKUP_STATUSES[i]) == 0)
            return keys[i];
    return "pickup.status.unknown";
}

/* ---- reading and writing notices -------------------------------------- */

static void copy_col(struct db_stmt *st, int col, char *dst, size_t n)
{
    const char *v = db_col_text(st, col);
    str_copy(dst, v ? v : "", n);
}

static void decrypt_col(struct db_stmt *st, int col, const char *context,
                        char *dst, size_t n)
{
    const char *v = db_col_text(st, col);
    dst[0] = 0;
    if (!v || !v[0] || !the_app || !the_app->keys)
        return;
    char *plain = field_decrypt(the_app->keys, context, v);
    if (plain)
        str_copy(dst, plain, n);
    free(plain);
}

#define NOTICE_COLS                                                            \
    "id, notice_no, name_kana, status, email, card_no, production_date, "      \
    "storage_box, location_id, updated_at"

static int notice_read(struct db_conn *c, struct db_stmt *st,
                       struct pickup_notice *n)
{
    if (!st)
        return PICKUP_EDB;
    int rc = db_step(st);
    if (rc != DB_ROW) {
        db_finalize(st);
        return rc == DB_DONE ? PICKUP_ENOTFOUND : PICKUP_EDB;
    }
    memset(n, 0, sizeof *n);
    n->id = db_col_int(st, 0);
    copy_col(st, 1, n->notice_no, sizeof n->notice_no);
    decrypt_col(st, 2, "notices.name_kana", n->name_kana, sizeof n->name_kana);
    copy_col(st, 3, n->status, sizeof n->status);
    decrypt_col(st, 4, "notices.email", n->email, sizeof n->email);
    copy_col(st, 5, n->card_no, sizeof n->card_no);
    copy_col(st, 6, n->production_date, sizeof n->production_date);
    copy_col(st, 7, n->storage_box, sizeof n->storage_box);
    n->location_id = db_col_is_null(st, 8) ? 0 : db_col_int(st, 8);
    n->updated_at = db_col_int(st, 9);
    db_finalize(st);
    char key[BOOKING_KEY_MAX];
    struct booking b;
    pickup_member_key(n->notice_no, key, sizeof key);
    rc = booking_find_active(c, key, &b);
    if (rc == BOOKING_OK)
        n->booking_id = b.id;
    else if (rc != BOOKING_ENOTFOUND)
        return PICKUP_EDB;
    return PICKUP_OK;
}

int pickup_notice_get(struct db_conn *c, const char *notice_no,
                      struct pickup_notice *n)
{
    return notice_read(
        c,
        db_queryf(c, "SELECT " NOTICE_COLS " FROM notices WHERE notice_no = ?",
                  "s", notice_no ? notice_no : ""),
        n);
}

int pickup_notice_get_id(struct db_conn *c, int64_t id, struct pickup_notice *n)
{
    return notice_read(
        c,
        db_queryf(c, "SELECT " NOTICE_COLS " FROM notices WHERE id = ?", "i",
                  id),
        n);
}

int pickup_notice_add(struct db_conn *c, const struct keyring *k,
                      const char *notice_no, const char *birth,
                      const char *name_kana, int64_t location_id, int64_t *id)
{
    char no[PICKUP_NOTICE_MAX], mmdd[5], check[65], nidx[65];
    const char *md = birth;
    if (birth && strlen(birth) == 10 && birth[4] == '-' && birth[7] == '-') {
        snprintf(mmdd, sizeof mmdd, "%.2s%.2s", birth + 5, birth + 8);
        md = mmdd;
    }
    if (!k || pickup_notice_no_clean(notice_no, no) != 0 || !md ||
        pickup_mmdd_clean(md, mmdd) != 0 || !name_kana ||
        strlen(name_kana) > 300 || !utf8_valid(name_kana, strlen(name_kana)))
        return PICKUP_EINVAL;
    pickup_birth_check(k, no, mmdd, check);
    char *enc = name_kana[0] ? field_encrypt(k, "notices.name_kana", name_kana)
                             : xstrdup("");
    if (name_kana[0])
        pickup_name_index(k, name_kana, nidx);
    else
        nidx[0] = 0;
    int64_t now = now_unix();
    int64_t rc;
    if (location_id > 0)
        rc = db_run(c,
                    "INSERT INTO notices (notice_no, birth_check, name_kana, "
                    "name_index, status, location_id, created_at, updated_at) "
                    "VALUES (?, ?, ?, ?, 'mailed', ?, ?, ?) "
                    "ON CONFLICT (notice_no) DO NOTHING",
                    "ssssiii", no, check, enc, nidx, location_id, now, now);
    else
        rc = db_run(c,
                    "INSERT INTO notices (notice_no, birth_check, name_kana, "
                    "name_index, status, created_at, updated_at) "
                    "VALUES (?, ?, ?, ?, 'mailed', ?, ?) "
                    "ON CONFLICT (notice_no) DO NOTHING",
                    "ssssii", no, check, enc, nidx, now, now);
    free(enc);
    /* ON CONFLICT, not a failed INSERT: on PostgreSQL an error would spoil
    ** the caller's whole transaction (an import of many notices). */
    if (rc == 0)
        return PICKUP_EEXISTS;
    if (rc != 1)
        return PICKUP_EDB;
    if (id && db_query_int(c, id, "SELECT id FROM notices WHERE notice_no = ?",
                           "s", no) != DB_ROW)
        return PICKUP_EDB;
    return PICKUP_OK;
}

int pickup_notice_set_email(struct db_conn *c, const struct keyring *k,
                            int64_t notice_id, const char *addr)
{
    if (!addr || (addr[0] && !mail_address_valid(addr)))
        return PICKUP_EINVAL;
    int64_t rc;
    if (addr[0]) {
        char *enc = field_encrypt(k, "notices.email", addr);
        rc = db_run(c,
                    "UPDATE notices SET email = ?, updated_at = ? WHERE "
                    "id = ?",
                    "sii", enc, now_unix(), notice_id);
        free(enc);
    } else {
        rc = db_run(c,
                    "UPDATE notices SET email = NULL, updated_at = ? WHERE "
                    "id = ?",
                    "ii", now_unix(), notice_id);
    }
    if (rc < 0)
        return PICKUP_EDB;
    return rc == 1 ? PICKUP_OK : PICKUP_ENOTFOUND;
}

/* ---- status changes ----------------------------------------------------- */

static int log_status(struct db_conn *c, int64_t notice_id, const char *from,
                      const char *to, const char *reason, const char *login)
{
    return db_run(c,
                  "INSERT INTO notice_status_log (notice_id, from_status, "
                  "to_status, reason, login, ts) VALUES (?, ?, ?, ?, ?, ?)",
                  "issssi", notice_id, from, to, reason ? reason : "", login,
                  now_unix()) == 1
               ? 0
               : -1;
}

static int reason_ok(const char *status, const char *reason)
{
    if (reason && (strlen(reason) > 500 || !utf8_valid(reason, strlen(reason))))
        return 0;
    if (!pickup_status_needs_reason(status))
        return 1;
    if (!reason)
        return 0;
    for (const char *p = reason; *p; p++)
        if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
            return 1;
    return 0;
}

static const char *actor_login(const struct actor *who)
{
    return who && who->login && who->login[0] ? who->login : "system";
}

/* The body of pickup_set_status, inside a transaction. */
static int set_status_tx(struct db_conn *c, const struct actor *who,
                         const char *no, const char *status, const char *reason)
{
    int64_t id = 0;
    char from[16] = "";
    struct db_stmt *st = db_queryf(
        c, "SELECT id, status FROM notices WHERE notice_no = ?", "s", no);
    if (!st)
        return PICKUP_EDB;
    int rc = db_step(st);
    if (rc == DB_ROW) {
        id = db_col_int(st, 0);
        copy_col(st, 1, from, sizeof from);
    }
    db_finalize(st);
    if (rc != DB_ROW)
        return rc == DB_DONE ? PICKUP_ENOTFOUND : PICKUP_EDB;
    if (!pickup_status_change_ok(from, status))
        return PICKUP_ESTATUS;
    /* Conditional on the status read: a change made meanwhile (a booking,
    ** another member of staff) wins and this one is refused. */
    int64_t n = db_run(c,
                       "UPDATE notices SET status = ?, updated_at = ? WHERE "
                       "id = ? AND status = ?",
                       "siis", status, now_unix(), id, from);
    if (n < 0)
        return PICKUP_EDB;
    if (n == 0)
        return PICKUP_ESTATUS;
    if (log_status(c, id, from, status, reason, actor_login(who)) != 0)
        return PICKUP_EDB;
    char detail[700];
    snprintf(detail, sizeof detail, "%s->%s: %s", from, status,
             reason ? reason : "");
    if (audit_append(c, who, "pickup.status", "notice", no, "ok", detail) != 0)
        return PICKUP_EAUDIT;
    return PICKUP_OK;
}

int pickup_set_status(struct db_conn *c, const struct actor *who,
                      const char *notice_no, const char *status,
                      const char *reason)
{
    char no[PICKUP_NOTICE_MAX];
    if (!pickup_status_valid(status) || !reason_ok(status, reason) ||
        pickup_notice_no_clean(notice_no, no) != 0)
        return PICKUP_EINVAL;
    int own = !db_in_transaction(c);
    if (own && db_begin(c) != DB_OK)
        return PICKUP_EDB;
    int rc = set_status_tx(c, who, no, status, reason);
    if (!own)
        return rc;
    if (rc != PICKUP_OK) {
        db_rollback(c);
        if (rc == PICKUP_EAUDIT)
            audit_alert(db_of(c), "audit.write_failed", "pickup.status");
        return rc;
    }
    return db_commit(c) == DB_OK ? PICKUP_OK : PICKUP_EDB;
}

int pickup_notice_unlock(struct db_conn *c, const struct actor *who,
                         const char *notice_no)
{
    char no[PICKUP_NOTICE_MAX];
    if (pickup_notice_no_clean(notice_no, no) != 0)
        return PICKUP_EINVAL;
    int own = !db_in_transaction(c);
    if (own && db_begin(c) != DB_OK)
        return PICKUP_EDB;
    int rc = PICKUP_OK;
    int64_t n = db_run(c,
                       "UPDATE notices SET failed_count = 0, locked_until = 0 "
                       "WHERE notice_no = ?",
                       "s", no);
    if (n < 0)
        rc = PICKUP_EDB;
    else if (n == 0)
        rc = PICKUP_ENOTFOUND;
    else if (audit_append(c, who, "pickup.unlock", "notice", no, "ok", NULL) !=
             0)
        rc = PICKUP_EAUDIT;
    if (!own)
        return rc;
    if (rc != PICKUP_OK) {
        db_rollback(c);
        if (rc == PICKUP_EAUDIT)
            audit_alert(db_of(c), "audit.write_failed", "pickup.unlock");
        return rc;
    }
    return db_commit(c) == DB_OK ? PICKUP_OK : PICKUP_EDB;
}
