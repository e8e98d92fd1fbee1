/*
** schedule.c - opening schedules and the slots made from them (RSV-11):
** weekly hours, date exceptions (closures, holiday openings, night
** counters), slot generation and staff capacity per slot.
**
** Slot generation (bk_sync): for each day from today to today +
** window_days, the day's intervals are its "open" exceptions if it has
** any, none if it is "closed", else the weekly hours of its weekday; each
** interval is cut into slots of slot_minutes from its start (a tail
** shorter than a slot is not a slot).  Existing slots are then compared
** with that plan: missing ones are inserted, ones that no longer fit are
** deleted, and ones whose length or capacity changed are updated -- but a
** slot with bookings is never deleted nor given fewer places than are
** booked: the whole change is refused with BOOKING_ECONFLICT naming that
** slot.  Slots before today are history and never touched.  The deletes
** and updates are conditional (booked = 0, booked <= capacity), so a
** booking that slips in between plan and write is also caught.
*/
#include "booking_int.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "core/audit.h"
#include "core/db.h"
#include "core/jpdate.h"
#include "core/parse.h"
#include "core/util.h"

/* ---- reading the schedule --------------------------------------------- */

struct interval {
    int start, end, capacity;
};

struct exc {
    int64_t day;
    int closed;
    struct interval iv;
};

struct plan_slot {
    int64_t day;
    int start, len, capacity;
    int exists;
};

struct have_slot {
    int64_t id, day;
    char date[11];
    int start, len, capacity, fixed, booked;
};

static int load_hours(struct db_conn *c, int64_t rid, struct booking_hours *h,
                      size_t max, size_t *n)
{
    struct db_stmt *s = db_queryf(c,
                                  "SELECT weekday, start_min, end_min, "
                                  "capacity FROM booking_hours WHERE "
                                  "resource_id = ? ORDER BY weekday, "
                                  "start_min",
                                  "i", rid);
    if (!s)
        return BOOKING_EDB;
    size_t k = 0;
    int rc, over = 0;
    while ((rc = db_step(s)) == DB_ROW) {
        if (k == max) {
            over = 1;
            continue;
        }
        h[k].weekday = (int)db_col_int(s, 0);
        h[k].start_min = (int)db_col_int(s, 1);
        h[k].end_min = (int)db_col_int(s, 2);
        h[k].capacity = (int)db_col_int(s, 3);
        k++;
    }
    db_finalize(s);
    *n = k;
    if (rc != DB_DONE)
        return bk_db_err(rc);
    return over ? BOOKING_EINVAL : BOOKING_OK;
}

/* Exceptions from day `from` on, in date and time order. */
static int load_exceptions(struct db_conn *c, int64_t rid, const char *from,
                           struct exc **out, size_t *n)
{
    struct db_stmt *s = db_queryf(c,
                                  "SELECT date, kind, start_min, end_min, "
                                  "capacity FROM booking_exceptions WHERE "
                                  "resource_id = ? AND date >= ? ORDER BY "
                                  "date, start_min",
                                  "is", rid, from);
    if (!s)
        return BOOKING_EDB;
    struct exc *v = NULL;
    size_t k = 0, cap = 0;
    int rc;
    while ((rc = db_step(s)) == DB_ROW) {
        int64_t day;
        if (bk_days(db_col_text(s, 0), &day) != 0)
            continue;
        if (k == cap) {
            cap = cap ? cap * 2 : 32;
            v = xrealloc(v, cap * sizeof *v);
        }
        const char *kind = db_col_text(s, 1);
        v[k].day = day;
        v[k].closed = kind && strcmp(kind, "closed") == 0;
        v[k].iv.start = (int)db_col_int(s, 2);
        v[k].iv.end = (int)db_col_int(s, 3);
        v[k].iv.capacity = (int)db_col_int(s, 4);
        k++;
    }
    db_finalize(s);
    if (rc != DB_DONE) {
        free(v);
        return bk_db_err(rc);
    }
    *out = v;
    *n = k;
    return BOOKING_OK;
}

static int load_slots(struct db_conn *c, int64_t rid, const char *from,
                      struct have_slot **out, size_t *n)
{
    struct db_stmt *s = db_queryf(c,
                                  "SELECT id, date, start_min, len_min, "
                                  "capacity, capacity_fixed, booked FROM "
                                  "booking_slots WHERE resource_id = ? AND "
                                  "date >= ? ORDER BY date, start_min",
                                  "is", rid, from);
    if (!s)
        return BOOKING_EDB;
    struct have_slot *v = NULL;
    size_t k = 0, cap = 0;
    int rc;
    while ((rc = db_step(s)) == DB_ROW) {
        if (k == cap) {
            cap = cap ? cap * 2 : 256;
            v = xrealloc(v, cap * sizeof *v);
        }
        struct have_slot *h = &v[k];
        h->id = db_col_int(s, 0);
        bk_copy_col(s, 1, h->date, sizeof h->date);
        if (bk_days(h->date, &h->day) != 0)
            continue;
        h->start = (int)db_col_int(s, 2);
        h->len = (int)db_col_int(s, 3);
        h->capacity = (int)db_col_int(s, 4);
        h->fixed = (int)db_col_int(s, 5);
        h->booked = (int)db_col_int(s, 6);
        k++;
    }
    db_finalize(s);
    if (rc != DB_DONE) {
        free(v);
        return bk_db_err(rc);
    }
    *out = v;
    *n = k;
    return BOOKING_OK;
}

/* ---- the plan --------------------------------------------------------- */

struct plan {
    struct plan_slot *v;
    size_t n, cap;
};

static void plan_interval(struct plan *p, int64_t day, int len,
                          const struct interval *iv, int default_cap)
{
    for (int t = iv->start; t + len <= iv->end; t += len) {
        if (p->n == p->cap) {
            p->cap = p->cap ? p->cap * 2 : 1024;
            p->v = xrealloc(p->v, p->cap * sizeof *p->v);
        }
        p->v[p->n++] = (struct plan_slot){
            day, t, len, iv->capacity ? iv->capacity : default_cap, 0};
    }
}

/* The slots the schedule asks for, in date and time order. */
static void make_plan(const struct booking_resource *r, int64_t first,
                      int64_t last, const struct booking_hours *h, size_t nh,
                      const struct exc *ex, size_t nex, struct plan *p)
{
    size_t e = 0;
    for (int64_t day = first; day <= last; day++) {
        while (e < nex && ex[e].day < day)
            e++;
        size_t e0 = e, e1 = e;
        int closed = 0;
        while (e1 < nex && ex[e1].day == day) {
            closed |= ex[e1].closed;
            e1++;
        }
        if (closed)
            continue;
        if (e1 > e0) {
            for (size_t i = e0; i < e1; i++)
                plan_interval(p, day, r->slot_minutes, &ex[i].iv, r->capacity);
            continue;
        }
        int wd = (int)(((day + 4) % 7 + 7) % 7); /* 1970-01-01: Thursday */
        for (size_t i = 0; i < nh; i++) {
            if (h[i].weekday != wd)
                continue;
            struct interval iv = {h[i].start_min, h[i].end_min, h[i].capacity};
            plan_interval(p, day, r->slot_minutes, &iv, r->capacity);
        }
    }
}

static void fill_conflict(struct booking_slot *out, int64_t rid,
                          const struct have_slot *h)
{
    if (!out)
        return;
    memset(out, 0, sizeof *out);
    out->id = h->id;
    out->resource_id = rid;
    str_copy(out->date, h->date, sizeof out->date);
    out->start_min = h->start;
    out->len_min = h->len;
    out->capacity = h->capacity;
    out->booked = h->booked;
}

/* What happens to each existing slot.  DROP_LATER: an unbooked slot
** beyond the window, dropped unless it was booked meanwhile. */
enum { KEEP, DROP, DROP_LATER, CHANGE };

struct step {
    int what;
    int len, capacity;
};

/* Matches existing slots to the plan (both sorted); fills steps and marks
** the planned slots that exist.  Returns the index of the first slot
** that would conflict, or -1. */
static long match(const struct have_slot *have, size_t nh, struct plan *p,
                  int64_t last, struct step *steps)
{
    size_t j = 0;
    long conflict = -1;
    for (size_t i = 0; i < nh; i++) {
        const struct have_slot *h = &have[i];
        steps[i].what = KEEP;
        if (h->day > last) {
            /* Beyond the window: unbooked ones are made again later. */
            if (h->booked == 0)
                steps[i].what = DROP_LATER;
            continue;
        }
        while (j < p->n && (p->v[j].day < h->day || (p->v[j].day == h->day &&
                                                     p->v[j].start < h->start)))
            j++;
        if (j < p->n && p->v[j].day == h->day && p->v[j].start == h->start) {
            struct plan_slot *ps = &p->v[j];
            ps->exists = 1;
            int cap = h->fixed ? h->capacity : ps->capacity;
            if (ps->len != h->len || cap != h->capacity) {
                steps[i] = (struct step){CHANGE, ps->len, cap};
                if (h->booked > cap && conflict < 0)
                    conflict = (long)i;
            }
            continue;
        }
        steps[i].what = DROP;
        if (h->booked > 0 && conflict < 0)
            conflict = (long)i;
    }
    return conflict;
}

static int apply(struct db_conn *c, const struct booking_resource *r,
                 const struct have_slot *have, const struct step *steps,
                 size_t nh, const struct plan *p, struct booking_slot *conflict)
{
    for (size_t i = 0; i < nh; i++) {
        int64_t n = 0;
        if (steps[i].what == DROP || steps[i].what == DROP_LATER)
            n = db_run(c,
                       "DELETE FROM booking_slots WHERE id = ? AND booked = 0",
                       "i", have[i].id);
        else if (steps[i].what == CHANGE)
            n = db_run(c,
                       "UPDATE booking_slots SET len_min = ?, capacity = ? "
                       "WHERE id = ? AND booked <= ?",
                       "iiii", (int64_t)steps[i].len,
                       (int64_t)steps[i].capacity, have[i].id,
                       (int64_t)steps[i].capacity);
        else
            continue;
        if (n < 0)
            return bk_db_err((int)n);
        if (n == 0 && steps[i].what != DROP_LATER) {
            /* Booked meanwhile. */
            fill_conflict(conflict, r->id, &have[i]);
            return BOOKING_ECONFLICT;
        }
    }
    int created = 0;
    struct db_stmt *ins = NULL;
    for (size_t j = 0; j < p->n; j++) {
        const struct plan_slot *ps = &p->v[j];
        if (ps->exists)
            continue;
        char date[11];
        bk_ymd(ps->day, date);
        ins = db_queryf(c,
                        "INSERT INTO booking_slots (resource_id, date, "
                        "start_min, len_min, capacity) VALUES (?, ?, ?, ?, ?)",
                        "isiii", r->id, date, (int64_t)ps->start,
                        (int64_t)ps->len, (int64_t)ps->capacity);
        if (!ins)
            return BOOKING_EDB;
        int rc = db_step(ins);
        db_finalize(ins);
        if (rc == DB_CONSTRAINT)
            return BK_RETRY; /* another server made it: plan again */
        if (rc != DB_DONE)
            return bk_db_err(rc);
        created++;
    }
    return created;
}

int bk_sync(struct db_conn *c, const struct booking_resource *r,
            const char *today, struct booking_slot *conflict)
{
    int64_t first;
    if (bk_days(today, &first) != 0)
        return BOOKING_EINVAL;
    int64_t last = first + r->window_days;
    struct booking_hours hours[BOOKING_MAX_HOURS];
    size_t nh = 0, nex = 0, nhave = 0;
    struct exc *ex = NULL;
    struct have_slot *have = NULL;
    struct plan p = {0};
    struct step *steps = NULL;
    int rc = load_hours(c, r->id, hours, BOOKING_MAX_HOURS, &nh);
    if (rc == BOOKING_OK)
        rc = load_exceptions(c, r->id, today, &ex, &nex);
    if (rc == BOOKING_OK)
        rc = load_slots(c, r->id, today, &have, &nhave);
    if (rc != BOOKING_OK)
        goto out;
    make_plan(r, first, last, hours, nh, ex, nex, &p);
    steps = xcalloc(nhave ? nhave : 1, sizeof *steps);
    long bad = match(have, nhave, &p, last, steps);
    if (bad >= 0) {
        fill_conflict(conflict, r->id, &have[bad]);
        rc = BOOKING_ECONFLICT;
        goto out;
    }
    rc = apply(c, r, have, steps, nhave, &p, conflict);
out:
    free(ex);
    free(have);
    free(p.v);
    free(steps);
    return rc;
}

/* ---- weekly hours ----------------------------------------------------- */

static int read_resource(struct db_conn *c, int64_t id,
                         struct booking_resource *r)
{
    int rc = booking_resource_get(c, id, r);
    return rc == BOOKING_EBUSY ? BK_RETRY : rc;
}

static int hours_valid(const struct booking_hours *h, size_t n)
{
    if (n > BOOKING_MAX_HOURS || (n > 0 && !h))
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (h[i].weekday < 0 || h[i].weekday > 6 || h[i].start_min < 0 ||
            h[i].end_min > 1440 || h[i].start_min >= h[i].end_min ||
            h[i].capacity < 0 || h[i].capacity > 10000)
            return 0;
        for (size_t j = 0; j < i; j++)
            if (h[j].weekday == h[i].weekday && h[i].start_min < h[j].end_min &&
                h[j].start_min < h[i].end_min)
                return 0;
    }
    return 1;
}

static void today_str(char out[11])
{
    booking_date_of(now_unix(), out);
}

static int audit_resource(struct db_conn *c, const struct actor *who,
                          const char *action, int64_t rid, const char *detail)
{
    char tid[24];
    snprintf(tid, sizeof tid, "%lld", (long long)rid);
    return audit_append(c, who, action, "booking_resource", tid, "ok",
                        detail) == 0
               ? BOOKING_OK
               : BOOKING_EAUDIT;
}

struct hours_args {
    const struct actor *who;
    int64_t rid;
    const struct booking_hours *h;
    size_t n;
    struct booking_slot *conflict;
};

static int hours_body(struct db_conn *c, void *arg)
{
    struct hours_args *a = arg;
    struct booking_resource r;
    int rc = read_resource(c, a->rid, &r);
    if (rc != BOOKING_OK)
        return rc;
    int64_t n = db_run(c, "DELETE FROM booking_hours WHERE resource_id = ?",
                       "i", a->rid);
    if (n < 0)
        return bk_db_err((int)n);
    struct buf d;
    buf_init(&d);
    for (size_t i = 0; i < a->n; i++) {
        const struct booking_hours *h = &a->h[i];
        n = db_run(c,
                   "INSERT INTO booking_hours (resource_id, weekday, "
                   "start_min, end_min, capacity) VALUES (?, ?, ?, ?, ?)",
                   "iiiii", a->rid, (int64_t)h->weekday, (int64_t)h->start_min,
                   (int64_t)h->end_min, (int64_t)h->capacity);
        if (n < 0) {
            buf_free(&d);
            return bk_db_err((int)n);
        }
        buf_printf(&d, "%s%d %02d:%02d-%02d:%02d cap %d", i ? "; " : "",
                   h->weekday, h->start_min / 60, h->start_min % 60,
                   h->end_min / 60, h->end_min % 60, h->capacity);
    }
    char today[11];
    today_str(today);
    rc = bk_sync(c, &r, today, a->conflict);
    if (rc >= 0)
        rc = audit_resource(c, a->who, "booking.hours.set", a->rid,
                            a->n ? d.data : "(none)");
    buf_free(&d);
    return rc;
}

int booking_hours_set(struct db_conn *c, const struct actor *who,
                      int64_t resource_id, const struct booking_hours *h,
                      size_t n, struct booking_slot *conflict)
{
    if (!hours_valid(h, n))
        return BOOKING_EINVAL;
    struct hours_args a = {who, resource_id, h, n, conflict};
    return bk_tx(c, hours_body, &a, "booking.hours.set");
}

int booking_hours_get(struct db_conn *c, int64_t resource_id,
                      struct booking_hours *h, size_t max, size_t *n)
{
    int rc = load_hours(c, resource_id, h, max, n);
    return rc == BK_RETRY ? BOOKING_EBUSY : rc;
}

/* ---- exceptions ------------------------------------------------------- */

static int exception_valid(const struct booking_exception *e)
{
    int64_t day, today = bk_today(now_unix());
    size_t nl = strnlen(e->note, sizeof e->note);
    if (bk_days(e->date, &day) != 0 || day < today || nl == sizeof e->note ||
        !utf8_valid(e->note, nl))
        return 0;
    for (const unsigned char *p = (const unsigned char *)e->note; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return 0;
    if (strcmp(e->kind, "closed") == 0)
        return 1;
    return strcmp(e->kind, "open") == 0 && e->start_min >= 0 &&
           e->end_min <= 1440 && e->start_min < e->end_min &&
           e->capacity >= 0 && e->capacity <= 10000;
}

struct exc_args {
    const struct actor *who;
    int64_t rid;
    const struct booking_exception *e; /* set */
    const char *date;                  /* delete */
    int start_min;                     /* delete one; -1 all */
    struct booking_slot *conflict;
};

/* An "open" interval may not overlap another of the same date. */
static int open_overlaps(struct db_conn *c, const struct exc_args *a)
{
    int64_t n = 0;
    int rc = db_query_int(c, &n,
                          "SELECT COUNT(*) FROM booking_exceptions WHERE "
                          "resource_id = ? AND date = ? AND kind = 'open' AND "
                          "start_min <> ? AND start_min < ? AND end_min > ?",
                          "isiii", a->rid, a->e->date, (int64_t)a->e->start_min,
                          (int64_t)a->e->end_min, (int64_t)a->e->start_min);
    if (rc != DB_ROW)
        return bk_db_err(rc);
    return n > 0 ? BOOKING_EINVAL : BOOKING_OK;
}

static int exc_set_body(struct db_conn *c, void *arg)
{
    struct exc_args *a = arg;
    const struct booking_exception *e = a->e;
    struct booking_resource r;
    int rc = read_resource(c, a->rid, &r);
    if (rc != BOOKING_OK)
        return rc;
    int closed = strcmp(e->kind, "closed") == 0;
    int64_t n;
    if (closed) {
        n = db_run(c,
                   "DELETE FROM booking_exceptions WHERE resource_id = ? AND "
                   "date = ?",
                   "is", a->rid, e->date);
    } else {
        rc = open_overlaps(c, a);
        if (rc != BOOKING_OK)
            return rc;
        n = db_run(c,
                   "DELETE FROM booking_exceptions WHERE resource_id = ? AND "
                   "date = ? AND (kind = 'closed' OR start_min = ?)",
                   "isi", a->rid, e->date, (int64_t)e->start_min);
    }
    if (n < 0)
        return bk_db_err((int)n);
    n = db_run(c,
               "INSERT INTO booking_exceptions (resource_id, date, kind, "
               "start_min, end_min, capacity, note) VALUES (?, ?, ?, ?, ?, ?, "
               "?)",
               "issiiis", a->rid, e->date, e->kind,
               (int64_t)(closed ? 0 : e->start_min),
               (int64_t)(closed ? 0 : e->end_min),
               (int64_t)(closed ? 0 : e->capacity), e->note);
    if (n < 0)
        return bk_db_err((int)n);
    char today[11];
    today_str(today);
    rc = bk_sync(c, &r, today, a->conflict);
    if (rc < 0)
        return rc;
    char detail[300];
    if (closed)
        snprintf(detail, sizeof detail, "%s closed %s", e->date, e->note);
    else
        snprintf(detail, sizeof detail, "%s open %02d:%02d-%02d:%02d cap %d %s",
                 e->date, e->start_min / 60, e->start_min % 60, e->end_min / 60,
                 e->end_min % 60, e->capacity, e->note);
    return audit_resource(c, a->who, "booking.exception.set", a->rid, detail);
}

int booking_exception_set(struct db_conn *c, const struct actor *who,
                          int64_t resource_id,
                          const struct booking_exception *e,
                          struct booking_slot *conflict)
{
    if (!e || !exception_valid(e))
        return BOOKING_EINVAL;
    struct exc_args a = {who, resource_id, e, NULL, -1, conflict};
    return bk_tx(c, exc_set_body, &a, "booking.exception.set");
}

static int exc_delete_body(struct db_conn *c, void *arg)
{
    struct exc_args *a = arg;
    struct booking_resource r;
    int rc = read_resource(c, a->rid, &r);
    if (rc != BOOKING_OK)
        return rc;
    int64_t n;
    if (a->start_min < 0)
        n = db_run(c,
                   "DELETE FROM booking_exceptions WHERE resource_id = ? AND "
                   "date = ?",
                   "is", a->rid, a->date);
    else
        n = db_run(c,
                   "DELETE FROM booking_exceptions WHERE resource_id = ? AND "
                   "date = ? AND kind = 'open' AND start_min = ?",
                   "isi", a->rid, a->date, (int64_t)a->start_min);
    if (n < 0)
        return bk_db_err((int)n);
    if (n == 0)
        return BOOKING_ENOTFOUND;
    char today[11];
    today_str(today);
    rc = bk_sync(c, &r, today, a->conflict);
    if (rc < 0)
        return rc;
    char detail[64];
    if (a->start_min < 0)
        snprintf(detail, sizeof detail, "%s", a->date);
    else
        snprintf(detail, sizeof detail, "%s %02d:%02d", a->date,
                 a->start_min / 60, a->start_min % 60);
    return audit_resource(c, a->who, "booking.exception.delete", a->rid,
                          detail);
}

int booking_exception_delete(struct db_conn *c, const struct actor *who,
                             int64_t resource_id, const char *date,
                             struct booking_slot *conflict)
{
    int64_t day;
    if (!date || bk_days(date, &day) != 0)
        return BOOKING_EINVAL;
    struct exc_args a = {who, resource_id, NULL, date, -1, conflict};
    return bk_tx(c, exc_delete_body, &a, "booking.exception.delete");
}

int booking_exception_delete_one(struct db_conn *c, const struct actor *who,
                                 int64_t resource_id, const char *date,
                                 int start_min, struct booking_slot *conflict)
{
    int64_t day;
    if (!date || bk_days(date, &day) != 0 || start_min < 0 || start_min > 1440)
        return BOOKING_EINVAL;
    struct exc_args a = {who, resource_id, NULL, date, start_min, conflict};
    return bk_tx(c, exc_delete_body, &a, "booking.exception.delete");
}

int booking_exception_list(struct db_conn *c, int64_t resource_id,
                           const char *from, const char *to,
                           struct json_t **out)
{
    int64_t day;
    if ((from && bk_days(from, &day) != 0) || (to && bk_days(to, &day) != 0))
        return BOOKING_EINVAL;
    struct db_stmt *s = db_queryf(
        c,
        "SELECT date, kind, start_min, end_min, capacity, note FROM "
        "booking_exceptions WHERE resource_id = ? AND date >= ? AND date <= ? "
        "ORDER BY date, start_min",
        "iss", resource_id, from ? from : "0000-00-00", to ? to : "9999-99-99");
    if (!s)
        return BOOKING_EDB;
    json_t *arr = json_array();
    int rc;
    while ((rc = db_step(s)) == DB_ROW) {
        const char *date = db_col_text(s, 0);
        int start = (int)db_col_int(s, 2), end = (int)db_col_int(s, 3);
        char ts[8], te[8];
        jpdate_time(start, ts, sizeof ts);
        jpdate_time(end, te, sizeof te);
        json_array_append_new(
            arr,
            json_pack("{s:s, s:i, s:s, s:s, s:s, s:i, s:i, s:i, s:s}", "date",
                      date ? date : "", "weekday", booking_weekday(date),
                      "kind", db_col_text(s, 1) ? db_col_text(s, 1) : "",
                      "start", ts, "end", te, "start_min", start, "end_min",
                      end, "capacity", (int)db_col_int(s, 4), "note",
                      db_col_text(s, 5) ? db_col_text(s, 5) : ""));
    }
    db_finalize(s);
    if (rc != DB_DONE) {
        json_decref(arr);
        return BOOKING_EDB;
    }
    *out = arr;
    return BOOKING_OK;
}

/* ---- slots ------------------------------------------------------------ */

struct sync_args {
    int64_t rid;
    const char *today;
    struct booking_slot *conflict;
};

static int sync_body(struct db_conn *c, void *arg)
{
    struct sync_args *a = arg;
    struct booking_resource r;
    int rc = read_resource(c, a->rid, &r);
    if (rc != BOOKING_OK)
        return rc;
    return bk_sync(c, &r, a->today, a->conflict);
}

int booking_slots_sync_ex(struct db_conn *c, int64_t resource_id,
                          const char *today, struct booking_slot *conflict)
{
    int64_t day;
    if (!today || bk_days(today, &day) != 0)
        return BOOKING_EINVAL;
    struct sync_args a = {resource_id, today, conflict};
    return bk_tx(c, sync_body, &a, "booking.slots.sync");
}

int booking_slots_sync(struct db_conn *c, int64_t resource_id,
                       const char *today)
{
    return booking_slots_sync_ex(c, resource_id, today, NULL);
}

int booking_slots_sync_all(struct db_conn *c, const char *today)
{
    struct db_stmt *s = db_prepare(c, "SELECT id FROM booking_resources "
                                      "WHERE is_open = 1 ORDER BY id");
    if (!s)
        return BOOKING_EDB;
    int64_t *ids = NULL;
    size_t n = 0, cap = 0;
    int rc;
    while ((rc = db_step(s)) == DB_ROW) {
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            ids = xrealloc(ids, cap * sizeof *ids);
        }
        ids[n++] = db_col_int(s, 0);
    }
    db_finalize(s);
    if (rc != DB_DONE) {
        free(ids);
        return BOOKING_EDB;
    }
    int created = 0, first_err = 0;
    for (size_t i = 0; i < n; i++) {
        struct booking_slot conflict;
        rc = booking_slots_sync_ex(c, ids[i], today, &conflict);
        if (rc >= 0) {
            created += rc;
            continue;
        }
        if (rc == BOOKING_ECONFLICT)
            log_warn("booking.slots: resource %lld: slot %s %02d:%02d has %d "
                     "booked, the schedule no longer has it",
                     (long long)ids[i], conflict.date, conflict.start_min / 60,
                     conflict.start_min % 60, conflict.booked);
        if (!first_err)
            first_err = rc;
    }
    free(ids);
    return first_err ? first_err : created;
}

int booking_slot_get(struct db_conn *c, int64_t slot_id,
                     struct booking_slot *sl)
{
    struct db_stmt *s = db_queryf(
        c, "SELECT " BK_SLOT_COLS " FROM booking_slots s WHERE s.id = ?", "i",
        slot_id);
    if (!s)
        return BOOKING_EDB;
    int rc = db_step(s);
    if (rc == DB_ROW)
        bk_slot_row(s, 0, sl);
    db_finalize(s);
    if (rc == DB_ROW)
        return BOOKING_OK;
    return rc == DB_DONE   ? BOOKING_ENOTFOUND
           : rc == DB_BUSY ? BOOKING_EBUSY
                           : BOOKING_EDB;
}

struct cap_args {
    const struct actor *who;
    int64_t slot_id;
    int capacity;
};

static int cap_body(struct db_conn *c, void *arg)
{
    struct cap_args *a = arg;
    struct booking_slot s;
    int rc = booking_slot_get(c, a->slot_id, &s);
    if (rc != BOOKING_OK)
        return rc == BOOKING_EBUSY ? BK_RETRY : rc;
    int64_t n =
        db_run(c,
               "UPDATE booking_slots SET capacity = ?, "
               "capacity_fixed = 1 WHERE id = ? AND booked <= ?",
               "iii", (int64_t)a->capacity, a->slot_id, (int64_t)a->capacity);
    if (n < 0)
        return bk_db_err((int)n);
    if (n == 0)
        return BOOKING_ECONFLICT;
    char tid[24], detail[96];
    snprintf(tid, sizeof tid, "%lld", (long long)a->slot_id);
    snprintf(detail, sizeof detail, "%s %02d:%02d capacity %d -> %d", s.date,
             s.start_min / 60, s.start_min % 60, s.capacity, a->capacity);
    return audit_append(c, a->who, "booking.slot.capacity", "booking_slot", tid,
                        "ok", detail) == 0
               ? BOOKING_OK
               : BOOKING_EAUDIT;
}

int booking_slot_capacity_set(struct db_conn *c, const struct actor *who,
                              int64_t slot_id, int capacity)
{
    if (capacity < 1 || capacity > 10000)
        return BOOKING_EINVAL;
    struct cap_args a = {who, slot_id, capacity};
    return bk_tx(c, cap_body, &a, "booking.slot.capacity");
}
