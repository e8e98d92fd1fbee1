/*
** resource.c - bookable resources (a pickup counter, a consultation room,
** a lendable device): creating, changing, reading and listing them.  A
** change of slot length, capacity or window brings the slots in line in
** the same transaction, refused when a booked slot would suffer.
*/
#include "booking_int.h"

#include <jansson.h>
#include <string.h>

#include "core/audit.h"
#include "core/db.h"
#include "core/parse.h"
#include "core/util.h"

/* Printable UTF-8 of fewer than max bytes (required: not empty). */
static int text_ok(const char *s, size_t max, int required)
{
    size_t n = strlen(s);
    if (n >= max || (required && n == 0) || !utf8_valid(s, n))
        return 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return 0;
    return 1;
}

static int kind_ok(const char *k)
{
    size_t n = strlen(k);
    if (n == 0 || n >= sizeof((struct booking_resource *)0)->kind)
        return 0;
    for (const char *p = k; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || *p == '_'))
            return 0;
    return 1;
}

static int resource_valid(const struct booking_resource *r)
{
    return kind_ok(r->kind) && text_ok(r->name, sizeof r->name, 1) &&
           text_ok(r->address, sizeof r->address, 0) &&
           text_ok(r->note, sizeof r->note, 0) &&
           (r->open == 0 || r->open == 1) &&
           booking_slot_len_valid(r->slot_minutes) && r->capacity >= 1 &&
           r->capacity <= 10000 && r->window_days >= 1 &&
           r->window_days <= 366 && r->deadline_days >= 0 &&
           r->deadline_days <= 365 && r->max_party >= 1 &&
           r->max_party <= BOOKING_MAX_PARTY;
}

static int resource_read(struct db_conn *c, int64_t id,
                         struct booking_resource *r)
{
    struct db_stmt *s = db_queryf(c,
                                  "SELECT " BK_RESOURCE_COLS
                                  " FROM booking_resources r WHERE r.id = ?",
                                  "i", id);
    if (!s)
        return BOOKING_EDB;
    int rc = db_step(s);
    if (rc == DB_ROW)
        bk_resource_row(s, 0, r);
    db_finalize(s);
    if (rc == DB_ROW)
        return BOOKING_OK;
    return rc == DB_DONE ? BOOKING_ENOTFOUND : bk_db_err(rc);
}

int booking_resource_get(struct db_conn *c, int64_t id,
                         struct booking_resource *r)
{
    int rc = resource_read(c, id, r);
    return rc == BK_RETRY ? BOOKING_EBUSY : rc;
}

static void detail_settings(struct buf *b, const struct booking_resource *r)
{
    buf_printf(b,
               "kind=%s name=%s open=%d slot_minutes=%d capacity=%d "
               "window_days=%d deadline_days=%d max_party=%d",
               r->kind, r->name, r->open, r->slot_minutes, r->capacity,
               r->window_days, r->deadline_days, r->max_party);
}

struct save_args {
    const struct actor *who;
    struct booking_resource *r;
    struct booking_slot *conflict;
};

static int save_new(struct db_conn *c, struct save_args *a)
{
    struct booking_resource *r = a->r;
    int64_t now = now_unix();
    struct db_stmt *s = db_queryf(
        c,
        "INSERT INTO booking_resources (kind, name, address, note, is_open, "
        "slot_minutes, capacity, window_days, deadline_days, max_party, "
        "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "RETURNING id",
        "ssssiiiiiiii", r->kind, r->name, r->address, r->note, (int64_t)r->open,
        (int64_t)r->slot_minutes, (int64_t)r->capacity, (int64_t)r->window_days,
        (int64_t)r->deadline_days, (int64_t)r->max_party, now, now);
    if (!s)
        return BOOKING_EDB;
    int rc = db_step(s);
    if (rc == DB_ROW)
        r->id = db_col_int(s, 0);
    db_finalize(s);
    if (rc != DB_ROW)
        return bk_db_err(rc);
    char tid[24];
    snprintf(tid, sizeof tid, "%lld", (long long)r->id);
    struct buf d;
    buf_init(&d);
    detail_settings(&d, r);
    rc = audit_append(c, a->who, "booking.resource.create", "booking_resource",
                      tid, "ok", d.data);
    buf_free(&d);
    return rc == 0 ? BOOKING_OK : BOOKING_EAUDIT;
}

static int save_existing(struct db_conn *c, struct save_args *a)
{
    struct booking_resource *r = a->r, old;
    int rc = resource_read(c, r->id, &old);
    if (rc != BOOKING_OK)
        return rc;
    if (strcmp(old.kind, r->kind) != 0)
        return BOOKING_EINVAL;
    int64_t n = db_run(
        c,
        "UPDATE booking_resources SET name = ?, address = ?, "
        "note = ?, is_open = ?, slot_minutes = ?, capacity = ?, "
        "window_days = ?, deadline_days = ?, max_party = ?, "
        "updated_at = ? WHERE id = ?",
        "sssiiiiiiii", r->name, r->address, r->note, (int64_t)r->open,
        (int64_t)r->slot_minutes, (int64_t)r->capacity, (int64_t)r->window_days,
        (int64_t)r->deadline_days, (int64_t)r->max_party, now_unix(), r->id);
    if (n < 0)
        return bk_db_err((int)n);
    if (old.slot_minutes != r->slot_minutes || old.capacity != r->capacity ||
        old.window_days != r->window_days) {
        char today[11];
        booking_date_of(now_unix(), today);
        rc = bk_sync(c, r, today, a->conflict);
        if (rc < 0)
            return rc;
    }
    char tid[24];
    snprintf(tid, sizeof tid, "%lld", (long long)r->id);
    struct buf d;
    buf_init(&d);
    buf_puts(&d, "before: ");
    detail_settings(&d, &old);
    buf_puts(&d, "; after: ");
    detail_settings(&d, r);
    rc = audit_append(c, a->who, "booking.resource.update", "booking_resource",
                      tid, "ok", d.data);
    buf_free(&d);
    return rc == 0 ? BOOKING_OK : BOOKING_EAUDIT;
}

static int save_body(struct db_conn *c, void *arg)
{
    struct save_args *a = arg;
    return a->r->id == 0 ? save_new(c, a) : save_existing(c, a);
}

int booking_resource_save_ex(struct db_conn *c, const struct actor *who,
                             struct booking_resource *r,
                             struct booking_slot *conflict)
{
    if (!r || r->id < 0 || !resource_valid(r))
        return BOOKING_EINVAL;
    int64_t id = r->id;
    struct save_args a = {who, r, conflict};
    int rc = bk_tx(c, save_body, &a, "booking.resource.save");
    if (rc != BOOKING_OK)
        r->id = id; /* a new resource that was rolled back has no id */
    return rc;
}

int booking_resource_save(struct db_conn *c, const struct actor *who,
                          struct booking_resource *r)
{
    return booking_resource_save_ex(c, who, r, NULL);
}

static json_t *resource_json(const struct booking_resource *r)
{
    return json_pack("{s:I, s:s, s:s, s:s, s:s, s:b, s:i, s:i, s:i, s:i, s:i}",
                     "id", (json_int_t)r->id, "kind", r->kind, "name", r->name,
                     "address", r->address, "note", r->note, "open", r->open,
                     "slot_minutes", r->slot_minutes, "capacity", r->capacity,
                     "window_days", r->window_days, "deadline_days",
                     r->deadline_days, "max_party", r->max_party);
}

int booking_resource_list(struct db_conn *c, const char *kind,
                          int include_closed, struct json_t **out)
{
    /* Fixed texts chosen by the arguments; values are bound. */
    const char *where = kind ? (include_closed ? "WHERE r.kind = ? "
                                               : "WHERE r.kind = ? AND "
                                                 "r.is_open = 1 ")
                             : (include_closed ? "" : "WHERE r.is_open = 1 ");
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT " BK_RESOURCE_COLS " FROM booking_resources r %s"
             "ORDER BY r.is_open DESC, r.id",
             where);
    struct db_stmt *s = db_prepare(c, sql);
    if (!s)
        return BOOKING_EDB;
    if (kind)
        db_bind_text(s, 1, kind);
    json_t *arr = json_array();
    int rc;
    while ((rc = db_step(s)) == DB_ROW) {
        struct booking_resource r;
        bk_resource_row(s, 0, &r);
        json_array_append_new(arr, resource_json(&r));
    }
    db_finalize(s);
    if (rc != DB_DONE) {
        json_decref(arr);
        return BOOKING_EDB;
    }
    *out = arr;
    return BOOKING_OK;
}
