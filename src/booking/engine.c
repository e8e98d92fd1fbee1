/*
** engine.c - what every part of the booking engine shares: result keys,
** the registry of services' hooks, the transaction runner with its
** retries and fail-closed audit handling, row readers, and the daily job
** that keeps the slots of every open resource generated.
*/
#include "booking_int.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/app.h"
#include "core/audit.h"
#include "core/db.h"
#include "core/http.h"
#include "core/jobs.h"
#include "core/util.h"

const char *booking_error_key(int rc)
{
    switch (rc) {
    case BOOKING_OK:
        return "booking.ok";
    case BOOKING_ENOTFOUND:
        return "booking.err.notfound";
    case BOOKING_EFULL:
        return "booking.err.full";
    case BOOKING_EDUPLICATE:
        return "booking.err.duplicate";
    case BOOKING_ECLOSED:
        return "booking.err.closed";
    case BOOKING_EINVAL:
        return "booking.err.invalid";
    case BOOKING_EAUDIT:
        return "error.audit";
    case BOOKING_EBUSY:
        return "booking.err.busy";
    case BOOKING_ECONFLICT:
        return "booking.err.conflict";
    default:
        return "error.500";
    }
}

int booking_slot_len_valid(int minutes)
{
    return minutes == 60 || minutes == 30 || minutes == 20 || minutes == 15 ||
           minutes == 10;
}

/* ---- hooks ------------------------------------------------------------ */

#define MAX_KINDS 16

/* Filled at start-up before any thread serves, read-only afterwards. */
static struct {
    char kind[32];
    struct booking_hooks hooks;
} kinds[MAX_KINDS];
static int nkinds;

void booking_kind_register(const char *kind, const struct booking_hooks *h)
{
    for (int i = 0; i < nkinds; i++) {
        if (strcmp(kinds[i].kind, kind) == 0) {
            kinds[i].hooks = *h;
            return;
        }
    }
    if (nkinds == MAX_KINDS) {
        log_error("booking: too many kinds registered (%s ignored)", kind);
        return;
    }
    str_copy(kinds[nkinds].kind, kind, sizeof kinds[nkinds].kind);
    kinds[nkinds].hooks = *h;
    nkinds++;
}

const struct booking_hooks *bk_hooks(const char *kind)
{
    for (int i = 0; i < nkinds; i++)
        if (strcmp(kinds[i].kind, kind) == 0)
            return &kinds[i].hooks;
    return NULL;
}

/* ---- transactions ----------------------------------------------------- */

int bk_db_err(int db_rc)
{
    return db_rc == DB_BUSY ? BK_RETRY : BOOKING_EDB;
}

/* A short random pause before trying again, growing with each attempt,
** so that transactions that collided do not collide again in step. */
static void backoff(int attempt)
{
    uint32_t cap = 200u << (attempt < 6 ? attempt : 6); /* microseconds */
    uint32_t us = sodium_ready() == 0 ? randombytes_uniform(cap) + 50 : cap;
    struct timespec ts = {0, (long)us * 1000L};
    nanosleep(&ts, NULL);
}

int bk_tx(struct db_conn *c, int (*body)(struct db_conn *c, void *arg),
          void *arg, const char *what)
{
    if (db_in_transaction(c)) {
        /* The caller's transaction: it commits or rolls back. */
        int rc = body(c, arg);
        return rc == BK_RETRY ? BOOKING_EBUSY : rc;
    }
    int rc = bk_tx_own(c, body, arg, what);
    if (rc == BOOKING_EAUDIT)
        audit_alert(db_of(c), "audit.write_failed", what);
    return rc;
}

int bk_tx_own(struct db_conn *c, int (*body)(struct db_conn *c, void *arg),
              void *arg, const char *what)
{
    for (int attempt = 0; attempt < BK_TRIES; attempt++) {
        if (attempt > 0)
            backoff(attempt);
        int rc = db_begin(c);
        if (rc == DB_BUSY)
            continue;
        if (rc != DB_OK) {
            log_error("booking: %s: begin: %s", what, db_errmsg(c));
            return BOOKING_EDB;
        }
        rc = body(c, arg);
        if (rc >= 0 && rc != BK_RETRY) {
            int crc = db_commit(c);
            if (crc == DB_OK)
                return rc;
            if (crc == DB_BUSY)
                continue;
            log_error("booking: %s: commit: %s", what, db_errmsg(c));
            return BOOKING_EDB;
        }
        db_rollback(c);
        if (rc == BK_RETRY || rc == BOOKING_EBUSY)
            continue;
        if (rc == BOOKING_EDB)
            log_error("booking: %s: %s", what, db_errmsg(c));
        return rc;
    }
    log_warn("booking: %s: database busy after %d attempts", what, BK_TRIES);
    return BOOKING_EBUSY;
}

const char *bk_login(const struct actor *who)
{
    return who && who->login && *who->login ? who->login : "system";
}

/* ---- rows ------------------------------------------------------------- */

void bk_copy_col(struct db_stmt *s, int col, char *dst, size_t n)
{
    const char *v = db_col_text(s, col);
    str_copy(dst, v ? v : "", n);
}

void bk_resource_row(struct db_stmt *s, int col, struct booking_resource *r)
{
    memset(r, 0, sizeof *r);
    r->id = db_col_int(s, col);
    bk_copy_col(s, col + 1, r->kind, sizeof r->kind);
    bk_copy_col(s, col + 2, r->name, sizeof r->name);
    bk_copy_col(s, col + 3, r->address, sizeof r->address);
    bk_copy_col(s, col + 4, r->note, sizeof r->note);
    r->open = (int)db_col_int(s, col + 5);
    r->slot_minutes = (int)db_col_int(s, col + 6);
    r->capacity = (int)db_col_int(s, col + 7);
    r->window_days = (int)db_col_int(s, col + 8);
    r->deadline_days = (int)db_col_int(s, col + 9);
    r->max_party = (int)db_col_int(s, col + 10);
}

void bk_slot_row(struct db_stmt *s, int col, struct booking_slot *sl)
{
    memset(sl, 0, sizeof *sl);
    sl->id = db_col_int(s, col);
    sl->resource_id = db_col_int(s, col + 1);
    bk_copy_col(s, col + 2, sl->date, sizeof sl->date);
    sl->start_min = (int)db_col_int(s, col + 3);
    sl->len_min = (int)db_col_int(s, col + 4);
    sl->capacity = (int)db_col_int(s, col + 5);
    sl->booked = (int)db_col_int(s, col + 6);
}

static void split_members(const char *list, struct booking *b)
{
    b->nmembers = 0;
    const char *p = list ? list : "";
    while (*p && b->nmembers < BOOKING_MAX_PARTY) {
        const char *sp = strchr(p, ' ');
        size_t n = sp ? (size_t)(sp - p) : strlen(p);
        if (n > 0 && n < BOOKING_KEY_MAX) {
            memcpy(b->members[b->nmembers], p, n);
            b->members[b->nmembers][n] = 0;
            b->nmembers++;
        }
        p += n;
        while (*p == ' ')
            p++;
    }
}

void bk_booking_row(struct db_stmt *s, struct booking *b)
{
    memset(b, 0, sizeof *b);
    b->id = db_col_int(s, 0);
    b->resource_id = db_col_int(s, 1);
    b->slot_id = db_col_int(s, 2);
    bk_copy_col(s, 3, b->ref, sizeof b->ref);
    b->party = (int)db_col_int(s, 4);
    bk_copy_col(s, 5, b->status, sizeof b->status);
    bk_copy_col(s, 6, b->channel, sizeof b->channel);
    bk_copy_col(s, 7, b->date, sizeof b->date);
    b->start_min = (int)db_col_int(s, 8);
    b->len_min = (int)db_col_int(s, 9);
    b->created_at = db_col_int(s, 10);
    b->updated_at = db_col_int(s, 11);
    split_members(db_col_text(s, 12), b);
    bk_copy_col(s, 13, b->created_by, sizeof b->created_by);
}

/* ---- the daily job ---------------------------------------------------- */

static int slots_due(struct app *app, int64_t now, char *slot, size_t slotlen)
{
    /* From 00:10 to the end of the day: a server started later in the day
    ** still runs it once. */
    return job_due_daily_window("00:10-24:00", now, "booking.slots", slot,
                                slotlen);
}

static int slots_run(struct app *app)
{
    struct db_conn *c = db_acquire(app->db);
    if (!c)
        return -1;
    char today[11];
    booking_date_of(now_unix(), today);
    int rc = booking_slots_sync_all(c, today);
    db_release(c);
    if (rc < 0) {
        log_error("booking.slots: %s", booking_error_key(rc));
        return -1;
    }
    log_info("booking.slots: %d slots created", rc);
    return 0;
}

void booking_register(void)
{
    static const struct job job = {"booking.slots", slots_due, slots_run};
    jobs_register(&job);
}
