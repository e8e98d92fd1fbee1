/*
** view.c - what citizens and staff see of the engine, as JSON for pages
** and APIs: the slots of a day with their state (available / few left /
** full / closed), a month of per-day availability, the bookings of a day
** and the history of one booking.
**
** "Few left": at most max(1, capacity / 5) places left, so a slot of 5
** shows "few" at its last place and one of 20 at its last four.
*/
#include "booking_int.h"

#include <jansson.h>
#include <string.h>

#include "core/db.h"
#include "core/jpdate.h"
#include "core/util.h"

static int few_threshold(int capacity)
{
    int t = capacity / 5;
    return t < 1 ? 1 : t;
}

const char *booking_slot_state(const struct booking_resource *r,
                               const struct booking_slot *s, int64_t now)
{
    if (!booking_slot_open(r, s, now))
        return "closed";
    int left = s->capacity - s->booked;
    if (left <= 0)
        return "full";
    return left <= few_threshold(s->capacity) ? "few" : "available";
}

static int resource_of(struct db_conn *c, int64_t id,
                       struct booking_resource *r)
{
    return booking_resource_get(c, id, r);
}

int booking_day(struct db_conn *c, int64_t resource_id, const char *date,
                int64_t now, struct json_t **out)
{
    int64_t day;
    if (!date || bk_days(date, &day) != 0)
        return BOOKING_EINVAL;
    struct booking_resource r;
    int rc = resource_of(c, resource_id, &r);
    if (rc != BOOKING_OK)
        return rc;
    struct db_stmt *s =
        db_queryf(c,
                  "SELECT " BK_SLOT_COLS " FROM booking_slots s WHERE "
                  "s.resource_id = ? AND s.date = ? ORDER BY "
                  "s.start_min",
                  "is", resource_id, date);
    if (!s)
        return BOOKING_EDB;
    json_t *arr = json_array();
    while ((rc = db_step(s)) == DB_ROW) {
        struct booking_slot sl;
        bk_slot_row(s, 0, &sl);
        char ts[8], te[8];
        jpdate_time(sl.start_min, ts, sizeof ts);
        jpdate_time(sl.start_min + sl.len_min, te, sizeof te);
        int left = sl.capacity - sl.booked;
        json_array_append_new(
            arr, json_pack("{s:I, s:s, s:s, s:i, s:i, s:i, s:i, s:i, s:s}",
                           "id", (json_int_t)sl.id, "start", ts, "end", te,
                           "start_min", sl.start_min, "len_min", sl.len_min,
                           "capacity", sl.capacity, "booked", sl.booked, "left",
                           left > 0 ? left : 0, "state",
                           booking_slot_state(&r, &sl, now)));
    }
    db_finalize(s);
    if (rc != DB_DONE) {
        json_decref(arr);
        return rc == DB_BUSY ? BOOKING_EBUSY : BOOKING_EDB;
    }
    *out = arr;
    return BOOKING_OK;
}

/* Per-day sums while walking the slots of a month. */
struct day_sum {
    int places;   /* capacity of every slot */
    int open_cap; /* capacity of the slots still open for booking */
    int left;     /* places left in those */
    int slots, open_slots;
};

static json_t *day_json(int64_t day, const struct day_sum *d)
{
    char date[11];
    bk_ymd(day, date);
    const char *state;
    if (d->open_slots == 0)
        state = "closed";
    else if (d->left <= 0)
        state = "full";
    else if (d->left <= few_threshold(d->open_cap))
        state = "few";
    else
        state = "available";
    return json_pack("{s:s, s:i, s:i, s:i, s:i, s:i, s:s}", "date", date,
                     "weekday", (int)(((day + 4) % 7 + 7) % 7), "places",
                     d->places, "left", d->left, "slots", d->slots,
                     "open_slots", d->open_slots, "state", state);
}

int booking_month(struct db_conn *c, int64_t resource_id, const char *from,
                  const char *to, int64_t now, struct json_t **out)
{
    int64_t first, last;
    if (!from || !to || bk_days(from, &first) != 0 || bk_days(to, &last) != 0 ||
        last < first || last - first > 400)
        return BOOKING_EINVAL;
    struct booking_resource r;
    int rc = resource_of(c, resource_id, &r);
    if (rc != BOOKING_OK)
        return rc;
    struct db_stmt *s =
        db_queryf(c,
                  "SELECT " BK_SLOT_COLS " FROM booking_slots s WHERE "
                  "s.resource_id = ? AND s.date >= ? AND "
                  "s.date <= ? ORDER BY s.date, s.start_min",
                  "iss", resource_id, from, to);
    if (!s)
        return BOOKING_EDB;
    json_t *arr = json_array();
    int64_t day = first;
    struct day_sum sum = {0};
    while ((rc = db_step(s)) == DB_ROW) {
        struct booking_slot sl;
        int64_t sday;
        bk_slot_row(s, 0, &sl);
        if (bk_days(sl.date, &sday) != 0)
            continue;
        while (day < sday) {
            json_array_append_new(arr, day_json(day, &sum));
            memset(&sum, 0, sizeof sum);
            day++;
        }
        sum.places += sl.capacity;
        sum.slots++;
        if (booking_slot_open(&r, &sl, now)) {
            sum.open_slots++;
            sum.open_cap += sl.capacity;
            sum.left += sl.capacity > sl.booked ? sl.capacity - sl.booked : 0;
        }
    }
    db_finalize(s);
    if (rc != DB_DONE) {
        json_decref(arr);
        return rc == DB_BUSY ? BOOKING_EBUSY : BOOKING_EDB;
    }
    for (; day <= last; day++) {
        json_array_append_new(arr, day_json(day, &sum));
        memset(&sum, 0, sizeof sum);
    }
    *out = arr;
    return BOOKING_OK;
}

static json_t *booking_json(const struct booking *b)
{
    char ts[8], te[8];
    jpdate_time(b->start_min, ts, sizeof ts);
    jpdate_time(b->start_min + b->len_min, te, sizeof te);
    json_t *members = json_array();
    for (int i = 0; i < b->nmembers; i++)
        json_array_append_new(members, json_string(b->members[i]));
    json_t *o = json_pack(
        "{s:I, s:s, s:s, s:s, s:s, s:i, s:i, s:i, s:o, s:s, s:s, s:s, s:I, "
        "s:I}",
        "id", (json_int_t)b->id, "ref", b->ref, "date", b->date, "start", ts,
        "end", te, "start_min", b->start_min, "len_min", b->len_min, "party",
        b->party, "members", members, "status", b->status, "channel",
        b->channel, "created_by", b->created_by, "created_at",
        (json_int_t)b->created_at, "updated_at", (json_int_t)b->updated_at);
    if (o)
        json_object_set_new(
            o, "slot_id", b->slot_id ? json_integer(b->slot_id) : json_null());
    return o;
}

int booking_list_day(struct db_conn *c, int64_t resource_id, const char *date,
                     struct json_t **out)
{
    int64_t day;
    if (!date || bk_days(date, &day) != 0)
        return BOOKING_EINVAL;
    struct db_stmt *s = db_queryf(c,
                                  "SELECT " BK_BOOKING_COLS
                                  " FROM bookings b WHERE b.resource_id = ? "
                                  "AND b.date = ? ORDER BY b.start_min, b.id",
                                  "is", resource_id, date);
    if (!s)
        return BOOKING_EDB;
    json_t *arr = json_array();
    int rc;
    while ((rc = db_step(s)) == DB_ROW) {
        struct booking b;
        bk_booking_row(s, &b);
        json_array_append_new(arr, booking_json(&b));
    }
    db_finalize(s);
    if (rc != DB_DONE) {
        json_decref(arr);
        return rc == DB_BUSY ? BOOKING_EBUSY : BOOKING_EDB;
    }
    *out = arr;
    return BOOKING_OK;
}

static json_t *id_or_null(struct db_stmt *s, int col)
{
    return db_col_is_null(s, col) ? json_null()
                                  : json_integer(db_col_int(s, col));
}

static json_t *text_or_null(struct db_stmt *s, int col)
{
    const char *v = db_col_text(s, col);
    return v ? json_string(v) : json_null();
}

int booking_history(struct db_conn *c, int64_t booking_id, struct json_t **out)
{
    struct db_stmt *s = db_queryf(c,
                                  "SELECT ts, action, login, channel, "
                                  "from_slot_id, to_slot_id, from_status, "
                                  "to_status, detail FROM booking_history "
                                  "WHERE booking_id = ? ORDER BY id",
                                  "i", booking_id);
    if (!s)
        return BOOKING_EDB;
    json_t *arr = json_array();
    int rc;
    while ((rc = db_step(s)) == DB_ROW) {
        json_t *o = json_object();
        json_object_set_new(o, "ts", json_integer(db_col_int(s, 0)));
        json_object_set_new(o, "action", text_or_null(s, 1));
        json_object_set_new(o, "login", text_or_null(s, 2));
        json_object_set_new(o, "channel", text_or_null(s, 3));
        json_object_set_new(o, "from_slot_id", id_or_null(s, 4));
        json_object_set_new(o, "to_slot_id", id_or_null(s, 5));
        json_object_set_new(o, "from_status", text_or_null(s, 6));
        json_object_set_new(o, "to_status", text_or_null(s, 7));
        json_object_set_new(o, "detail", text_or_null(s, 8));
        json_array_append_new(arr, o);
    }
    db_finalize(s);
    if (rc != DB_DONE) {
        json_decref(arr);
        return rc == DB_BUSY ? BOOKING_EBUSY : BOOKING_EDB;
    }
    *out = arr;
    return BOOKING_OK;
}
