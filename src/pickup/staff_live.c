/*
** staff_live.c - the live view of the pickup bookings (RSV-8; seed 004
** 第2章3(1): "各予約チャネルから受け付けた予約状況をリアルタイムで把握"):
** per location and day, every slot with its capacity, places booked and
** left, and the bookings in it from every channel (web, counter, call
** center, API) with their reference, party, notice numbers, channel and
** status; counts by status above.
**
** GET /staff/pickup shows the page; the slot table asks
** GET /staff/pickup/live every 5 seconds (htmx, hx-trigger="every 5s")
** for the fragment only.  The fragment's URL carries a digest of what is
** shown (v=); when nothing changed the answer is 204 and htmx leaves the
** page alone, so screen readers do not hear the counts again every five
** seconds.  The counts are a polite live region outside the table, updated
** out of band (hx-swap-oob) only when they change.  Without JavaScript the
** "表示" button reloads the page.
**
** The view shows notice numbers, never names.  Opening it is recorded in
** the audit log ("pickup.live.view"); the polls that follow show the same
** view and are not recorded one by one (720 entries an hour per screen
** would drown the log).
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/admin.h"
#include "core/db.h"
#include "core/parse.h"
#include "core/tmpl.h"
#include "pickup/staff_int.h"

#define LIVE_MAX_SLOTS 300

struct live_slot {
    struct booking_slot s;
    json_t *bookings; /* array of booking objects */
};

static const char *const bstatuses[] = {"active", "visited", "noshow",
                                        "cancelled"};

/* One booking of the bookings table as the view shows it. */
static json_t *booking_json(struct req *rq, struct db_stmt *st)
{
    json_t *o = json_object();
    const char *ref = db_col_text(st, 1);
    json_object_set_new(o, "ref", json_string(ref ? ref : ""));
    char href[64];
    snprintf(href, sizeof href, "/staff/pickup/bookings/%s", ref ? ref : "");
    json_object_set_new(o, "href", json_string(href));
    json_object_set_new(o, "party", json_integer(db_col_int(st, 5)));
    json_t *members = json_array();
    const char *m = db_col_text(st, 6);
    while (m && *m) {
        size_t n = strcspn(m, " ");
        char key[BOOKING_KEY_MAX], label[32];
        if (n > 0 && n < sizeof key) {
            memcpy(key, m, n);
            key[n] = 0;
            ps_member_label(key, label, sizeof label);
            json_t *x = json_object();
            json_object_set_new(x, "label", json_string(label));
            const char *no = ps_member_notice(key);
            if (no) {
                char h[64];
                snprintf(h, sizeof h, "/staff/pickup/notices/%s", no);
                json_object_set_new(x, "href", json_string(h));
            }
            json_array_append_new(members, x);
        }
        m += n;
        while (*m == ' ')
            m++;
    }
    json_object_set_new(o, "members", members);
    const char *status = db_col_text(st, 7);
    const char *channel = db_col_text(st, 8);
    json_object_set_new(o, "status", json_string(status ? status : ""));
    json_object_set_new(o, "status_label",
                        json_string(ps_booking_status_label(rq->lang, status)));
    json_object_set_new(o, "status_badge",
                        json_string(ps_booking_status_badge(status)));
    json_object_set_new(o, "channel_label",
                        json_string(ps_channel_label(rq->lang, channel)));
    return o;
}

/* Counts by booking status, people and places, for the live region. */
static json_t *counts_json(struct req *rq, const int64_t nb[4],
                           const int64_t np[4], int64_t cap, int64_t booked)
{
    json_t *c = json_object();
    json_t *a = json_array();
    for (size_t i = 0; i < ARRAY_LEN(bstatuses); i++) {
        json_t *o = json_object();
        json_object_set_new(o, "status", json_string(bstatuses[i]));
        json_object_set_new(
            o, "label",
            json_string(ps_booking_status_label(rq->lang, bstatuses[i])));
        json_object_set_new(o, "bookings", json_integer(nb[i]));
        json_object_set_new(o, "people", json_integer(np[i]));
        json_array_append_new(a, o);
    }
    json_object_set_new(c, "by_status", a);
    json_object_set_new(c, "capacity", json_integer(cap));
    json_object_set_new(c, "booked", json_integer(booked));
    json_object_set_new(c, "left", json_integer(cap - booked));
    return c;
}

/* Slots and bookings of location r on date, as "live" {slots, other,
** counts}.  0, or -1 on a database error. */
static int live_build(struct req *rq, const struct booking_resource *r,
                      const char *date, int show_cancelled, json_t **out)
{
    struct db_stmt *st = db_queryf(
        rq->db,
        "SELECT id, resource_id, date, start_min, len_min, capacity, booked "
        "FROM booking_slots WHERE resource_id = ? AND date = ? "
        "ORDER BY start_min LIMIT ?",
        "isi", r->id, date, (int64_t)LIVE_MAX_SLOTS);
    if (!st)
        return -1;
    struct live_slot *slots = xcalloc(LIVE_MAX_SLOTS, sizeof *slots);
    size_t ns = 0;
    int rc;
    while ((rc = db_step(st)) == DB_ROW && ns < LIVE_MAX_SLOTS) {
        struct booking_slot *s = &slots[ns].s;
        memset(s, 0, sizeof *s);
        s->id = db_col_int(st, 0);
        s->resource_id = db_col_int(st, 1);
        str_copy(s->date, date, sizeof s->date);
        s->start_min = (int)db_col_int(st, 3);
        s->len_min = (int)db_col_int(st, 4);
        s->capacity = (int)db_col_int(st, 5);
        s->booked = (int)db_col_int(st, 6);
        slots[ns].bookings = json_array();
        ns++;
    }
    db_finalize(st);
    json_t *other = json_array();
    int64_t nb[4] = {0}, np[4] = {0}, cap = 0, booked = 0;
    if (rc != DB_DONE && rc != DB_ROW)
        goto fail;
    st = db_queryf(rq->db,
                   "SELECT id, ref, slot_id, start_min, len_min, party, "
                   "members, status, channel FROM bookings "
                   "WHERE resource_id = ? AND date = ? "
                   "ORDER BY start_min, id LIMIT ?",
                   "isi", r->id, date, (int64_t)PS_DAY_MAX);
    if (!st)
        goto fail;
    while ((rc = db_step(st)) == DB_ROW) {
        const char *status = db_col_text(st, 7);
        for (size_t i = 0; i < ARRAY_LEN(bstatuses); i++) {
            if (status && strcmp(status, bstatuses[i]) == 0) {
                nb[i]++;
                np[i] += db_col_int(st, 5);
            }
        }
        if (!show_cancelled && status && strcmp(status, "cancelled") == 0)
            continue;
        int64_t slot_id = db_col_is_null(st, 2) ? 0 : db_col_int(st, 2);
        int start = (int)db_col_int(st, 3);
        json_t *b = booking_json(rq, st);
        size_t i;
        for (i = 0; i < ns; i++)
            if (slots[i].s.id == slot_id ||
                (!slot_id && slots[i].s.start_min == start))
                break;
        if (i < ns) {
            json_array_append_new(slots[i].bookings, b);
        } else {
            char a[6], e[6], t[16];
            ps_hhmm(start, a);
            ps_hhmm(start + (int)db_col_int(st, 4), e);
            snprintf(t, sizeof t, "%s〜%s", a, e);
            json_object_set_new(b, "time", json_string(t));
            json_array_append_new(other, b);
        }
    }
    db_finalize(st);
    if (rc != DB_DONE)
        goto fail;

    int64_t now = now_unix();
    json_t *ja = json_array();
    for (size_t i = 0; i < ns; i++) {
        const struct booking_slot *s = &slots[i].s;
        json_t *o = json_object();
        char a[6], e[6];
        ps_hhmm(s->start_min, a);
        ps_hhmm(s->start_min + s->len_min, e);
        json_object_set_new(o, "id", json_integer(s->id));
        json_object_set_new(o, "start", json_string(a));
        json_object_set_new(o, "end", json_string(e));
        json_object_set_new(o, "capacity", json_integer(s->capacity));
        json_object_set_new(o, "booked", json_integer(s->booked));
        json_object_set_new(o, "left", json_integer(s->capacity - s->booked));
        const char *state = booking_slot_state(r, s, now);
        char key[48];
        snprintf(key, sizeof key, "pstaff.slot.%s", state);
        json_object_set_new(o, "state_label",
                            json_string(i18n_get(rq->lang, key)));
        json_object_set_new(o, "state_badge",
                            json_string(strcmp(state, "full") == 0  ? "error"
                                        : strcmp(state, "few") == 0 ? "warning"
                                        : strcmp(state, "closed") == 0
                                            ? "neutral"
                                            : "success"));
        json_object_set_new(
            o, "has_bookings",
            json_boolean(json_array_size(slots[i].bookings) > 0));
        json_object_set_new(o, "bookings", slots[i].bookings);
        slots[i].bookings = NULL;
        cap += s->capacity;
        booked += s->booked;
        json_array_append_new(ja, o);
    }
    json_t *live = json_object();
    json_object_set_new(live, "slots", ja);
    json_object_set_new(live, "other", other);
    json_object_set_new(live, "counts", counts_json(rq, nb, np, cap, booked));
    free(slots);
    *out = live;
    return 0;
fail:
    for (size_t i = 0; i < ns; i++)
        json_decref(slots[i].bookings);
    free(slots);
    json_decref(other);
    return -1;
}

/* A short digest of what the fragment shows, so an unchanged poll gets
** 204. */
static void live_digest(json_t *live, char out[17])
{
    char *s = json_dumps(live, JSON_COMPACT | JSON_SORT_KEYS);
    char hex[65];
    sha256_hex(s ? s : "", s ? strlen(s) : 0, hex);
    free(s);
    memcpy(out, hex, 16);
    out[16] = 0;
}

static void add_poll_url(json_t *ctx, int64_t loc, const char *date,
                         int show_cancelled, const char *digest)
{
    char u[160];
    snprintf(u, sizeof u, "/staff/pickup/live?location=%lld&date=%s%s&v=%s",
             (long long)loc, date, show_cancelled ? "&show_cancelled=1" : "",
             digest);
    json_object_set_new(ctx, "poll_url", json_string(u));
}

static int show_cancelled_param(struct req *rq)
{
    const char *s = req_param(rq, "show_cancelled");
    return s && strcmp(s, "1") == 0;
}

/* The page. */
static int get_live(struct req *rq, struct resp *rs)
{
    if (!ps_require_desk(rq, rs))
        return 0;
    char date[11];
    int bad_date = ps_date_param(rq, "date", date) != 0;
    struct booking_resource r;
    int rc = ps_location_param(rq, &r);
    json_t *ctx = ps_context(rq, "/staff/pickup");
    int64_t loc = rc == BOOKING_OK ? r.id : 0;
    json_t *opts = ps_location_options(rq, 1, &loc);
    if (!opts || (rc != BOOKING_OK && rc != BOOKING_ENOTFOUND)) {
        json_decref(opts);
        json_decref(ctx);
        resp_error(rq, rs, 500, NULL, NULL);
        return 0;
    }
    int show_cancelled = show_cancelled_param(rq);
    json_t *form = json_object();
    json_t *f =
        ps_field(rq, "location", "pstaff.field.location", "", NULL, 0, 0, NULL);
    json_object_set_new(f, "select", json_true());
    json_object_set_new(f, "options", opts);
    json_object_set_new(form, "location", f);
    f = ps_field(rq, "date", "pstaff.field.date", date, "date", 10, 0, NULL);
    json_object_set_new(form, "date", f);
    json_t *sc = admin_field(rq, "show_cancelled", "pstaff.live.show_cancelled",
                             "1", 0, 0);
    if (show_cancelled)
        json_object_set_new(sc, "checked", json_true());
    json_object_set_new(form, "show_cancelled", sc);
    json_t *errors = json_array();
    if (bad_date)
        admin_field_error(rq, form, errors, "date", "pstaff.err.date");
    json_object_set_new(ctx, "form", form);
    json_object_set_new(ctx, "errors", errors);
    if (rc == BOOKING_ENOTFOUND) {
        json_object_set_new(ctx, "no_locations", json_true());
        json_object_set_new(ctx, "can_settings",
                            json_boolean(req_can(rq, "booking.settings")));
        resp_page(rq, rs, 200, "pickup/staff_live", "pstaff.live.title", ctx);
        return 0;
    }
    json_t *live = NULL;
    if (live_build(rq, &r, date, show_cancelled, &live) != 0) {
        json_decref(ctx);
        resp_error(rq, rs, 500, NULL, NULL);
        return 0;
    }
    char detail[96];
    snprintf(detail, sizeof detail, "{\"date\":\"%s\"}", date);
    char tid[24];
    snprintf(tid, sizeof tid, "%lld", (long long)r.id);
    if (admin_audit_read(rq, rs, "pickup.live.view", "location", tid, detail) !=
        0) {
        json_decref(live);
        json_decref(ctx);
        return 0;
    }
    char digest[17], day[64], prev[11], next[11];
    live_digest(live, digest);
    add_poll_url(ctx, r.id, date, show_cancelled, digest);
    json_object_set_new(ctx, "live", live);
    json_object_set_new(ctx, "location_name", json_string(r.name));
    json_object_set_new(ctx, "location_id", json_integer(r.id));
    json_object_set_new(ctx, "location_closed", json_boolean(!r.open));
    ps_date_label(rq->lang, date, 1, day, sizeof day);
    json_object_set_new(ctx, "day_label", json_string(day));
    json_object_set_new(ctx, "date", json_string(date));
    booking_date_add(date, -1, prev);
    booking_date_add(date, 1, next);
    char u[128];
    snprintf(u, sizeof u, "/staff/pickup?location=%lld&date=%s%s",
             (long long)r.id, prev, show_cancelled ? "&show_cancelled=1" : "");
    json_object_set_new(ctx, "prev_href", json_string(u));
    snprintf(u, sizeof u, "/staff/pickup?location=%lld&date=%s%s",
             (long long)r.id, next, show_cancelled ? "&show_cancelled=1" : "");
    json_object_set_new(ctx, "next_href", json_string(u));
    snprintf(u, sizeof u, "/staff/pickup/book?location=%lld&date=%s",
             (long long)r.id, date);
    json_object_set_new(ctx, "book_href", json_string(u));
    if (req_can(rq, "booking.staff")) {
        snprintf(u, sizeof u, "/staff/pickup/pull-list?location=%lld&date=%s",
                 (long long)r.id, date);
        json_object_set_new(ctx, "pull_href", json_string(u));
    }
    resp_page(rq, rs, 200, "pickup/staff_live", "pstaff.live.title", ctx);
    return 0;
}

/* The fragment the page polls. */
static int get_live_fragment(struct req *rq, struct resp *rs)
{
    if (!ps_require_desk(rq, rs))
        return 0;
    char date[11];
    struct booking_resource r;
    if (ps_date_param(rq, "date", date) != 0 ||
        ps_location_param(rq, &r) != BOOKING_OK) {
        resp_error(rq, rs, 400, NULL, NULL);
        return 0;
    }
    int show_cancelled = show_cancelled_param(rq);
    json_t *live = NULL;
    if (live_build(rq, &r, date, show_cancelled, &live) != 0) {
        resp_error(rq, rs, 500, NULL, NULL);
        return 0;
    }
    char digest[17];
    live_digest(live, digest);
    const char *v = req_param(rq, "v");
    if (v && strcmp(v, digest) == 0) {
        json_decref(live);
        rs->status = 204;
        str_copy(rs->content_type, "text/plain", sizeof rs->content_type);
        resp_header(rs, "Cache-Control", "no-store");
        return 0;
    }
    json_t *ctx = json_object();
    add_poll_url(ctx, r.id, date, show_cancelled, digest);
    json_object_set_new(ctx, "live", live);
    json_object_set_new(ctx, "oob", json_true());
    resp_page(rq, rs, 200, "pickup/staff_live_fragment", "pstaff.live.title",
              ctx);
    resp_header(rs, "Cache-Control", "no-store");
    return 0;
}

static const struct route live_routes[] = {
    {"GET", "/staff/pickup", get_live, NULL, 0},
    {"GET", "/staff/pickup/live", get_live_fragment, NULL, 0},
};

void ps_live_register(void)
{
    router_add(live_routes, ARRAY_LEN(live_routes));
}
