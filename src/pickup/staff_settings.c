/*
** staff_settings.c - the pickup locations and their schedules, for staff
** holding booking.settings (RSV-3, RSV-11, RSV-12; seed 004 第2章2(3)エ
** "職員が設定により交付場所を追加できる", 3(3)ア,エ,オ): add, edit,
** close and reopen a location; slot length (60/30/20/15/10 minutes),
** places per slot, how far ahead citizens may book and the deadline
** ("N days before"); weekly hours with several intervals a day; date
** exceptions for holiday openings, night counters and closures; and the
** places of single slots.
**
** Every change goes through the booking engine, which audits it and
** refuses (BOOKING_ECONFLICT) any change that would leave booked people
** without a place; the page then names the slot:
** "この枠には予約が入っているため変更できません: 日時 …".
**
**   GET/POST /staff/pickup/settings/new
**   GET      /staff/pickup/settings
**   GET/POST /staff/pickup/settings/:id
**   POST     /staff/pickup/settings/:id/close | /reopen
**   GET/POST /staff/pickup/settings/:id/hours
**   GET/POST /staff/pickup/settings/:id/exceptions
**   POST     /staff/pickup/settings/:id/exceptions/delete
**   GET/POST /staff/pickup/settings/:id/slots
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/admin.h"
#include "core/db.h"
#include "core/parse.h"
#include "core/tmpl.h"
#include "pickup/staff_int.h"

#define HOURS_ROWS_MIN 3
#define HOURS_ROWS_MAX 8
#define SLOT_CAP_MAX   999

static const int weekday_order[] = {1, 2, 3, 4, 5, 6, 0}; /* 月 .. 日 */

/* ---- the list ----------------------------------------------------------- */

static json_t *location_rows(struct req *rq)
{
    json_t *a = json_array();
    struct db_stmt *st = db_queryf(
        rq->db,
        "SELECT id, name, address, is_open, slot_minutes, capacity, "
        "window_days, deadline_days, max_party FROM booking_resources "
        "WHERE kind = 'pickup' ORDER BY is_open DESC, id",
        "");
    while (st && db_step(st) == DB_ROW) {
        json_t *o = json_object();
        int64_t id = db_col_int(st, 0);
        char h[64];
        json_object_set_new(o, "id", json_integer(id));
        const char *name = db_col_text(st, 1);
        json_object_set_new(o, "name", json_string(name ? name : ""));
        const char *addr = db_col_text(st, 2);
        json_object_set_new(o, "address", json_string(addr ? addr : ""));
        json_object_set_new(o, "open", json_boolean(db_col_int(st, 3)));
        json_object_set_new(o, "slot_minutes", json_integer(db_col_int(st, 4)));
        json_object_set_new(o, "capacity", json_integer(db_col_int(st, 5)));
        json_object_set_new(o, "window_days", json_integer(db_col_int(st, 6)));
        json_object_set_new(o, "deadline_days",
                            json_integer(db_col_int(st, 7)));
        json_object_set_new(o, "max_party", json_integer(db_col_int(st, 8)));
        snprintf(h, sizeof h, "/staff/pickup/settings/%lld", (long long)id);
        json_object_set_new(o, "href", json_string(h));
        json_array_append_new(a, o);
    }
    db_finalize(st);
    return a;
}

static int get_settings(struct req *rq, struct resp *rs)
{
    json_t *ctx = ps_context(rq, "/staff/pickup/settings");
    json_object_set_new(ctx, "locations", location_rows(rq));
    resp_page(rq, rs, 200, "pickup/staff_settings", "pstaff.settings.title",
              ctx);
    return 0;
}

/* ---- one location: the form --------------------------------------------- */

struct loc_form {
    char name[401], address[801], note[2001];
    char slot_minutes[8], capacity[8], window_days[8], deadline_days[8],
        max_party[8];
};

static void loc_form_from(const struct booking_resource *r, struct loc_form *f)
{
    memset(f, 0, sizeof *f);
    str_copy(f->name, r->name, sizeof f->name);
    str_copy(f->address, r->address, sizeof f->address);
    str_copy(f->note, r->note, sizeof f->note);
    snprintf(f->slot_minutes, sizeof f->slot_minutes, "%d", r->slot_minutes);
    snprintf(f->capacity, sizeof f->capacity, "%d", r->capacity);
    snprintf(f->window_days, sizeof f->window_days, "%d", r->window_days);
    snprintf(f->deadline_days, sizeof f->deadline_days, "%d", r->deadline_days);
    snprintf(f->max_party, sizeof f->max_party, "%d", r->max_party);
}

static json_t *loc_fields(struct req *rq, const struct loc_form *f)
{
    json_t *form = json_object();
    json_object_set_new(
        form, "name",
        ps_field(rq, "name", "pstaff.loc.name", f->name, NULL, 100, 1, NULL));
    json_object_set_new(form, "address",
                        ps_field(rq, "address", "pstaff.loc.address",
                                 f->address, NULL, 200, 0, NULL));
    json_t *x = ps_field(rq, "note", "pstaff.loc.note", f->note, NULL, 500, 0,
                         "pstaff.loc.note_hint");
    json_object_set_new(x, "textarea", json_true());
    json_object_set_new(x, "rows", json_integer(3));
    json_object_set_new(form, "note", x);
    x = ps_field(rq, "slot_minutes", "pstaff.loc.slot_minutes", "", NULL, 0, 1,
                 "pstaff.loc.slot_minutes_hint");
    const char *v[] = {"60", "30", "20", "15", "10"};
    const char *k[] = {"pstaff.min.60", "pstaff.min.30", "pstaff.min.20",
                       "pstaff.min.15", "pstaff.min.10"};
    ps_field_select(rq, x, v, k, 5, f->slot_minutes);
    json_object_set_new(form, "slot_minutes", x);
    x = ps_field(rq, "capacity", "pstaff.loc.capacity", f->capacity, "number",
                 3, 1, "pstaff.loc.capacity_hint");
    json_object_set_new(x, "inputmode", json_string("numeric"));
    json_object_set_new(form, "capacity", x);
    x = ps_field(rq, "window_days", "pstaff.loc.window_days", f->window_days,
                 "number", 3, 1, "pstaff.loc.window_hint");
    json_object_set_new(form, "window_days", x);
    x = ps_field(rq, "deadline_days", "pstaff.loc.deadline_days",
                 f->deadline_days, "number", 3, 1, "pstaff.loc.deadline_hint");
    json_object_set_new(form, "deadline_days", x);
    x = ps_field(rq, "max_party", "pstaff.loc.max_party", f->max_party,
                 "number", 2, 1, "pstaff.loc.max_party_hint");
    json_object_set_new(form, "max_party", x);
    return form;
}

/* Reads and checks the form into r (kind, id and open untouched). */
static int loc_form_read(struct req *rq, struct loc_form *f, json_t *form,
                         json_t *errors, struct booking_resource *r)
{
    memset(f, 0, sizeof *f);
    if (admin_text(req_param(rq, "name"), 100, f->name, sizeof f->name) ||
        !f->name[0] || strpbrk(f->name, "<>\r\n"))
        admin_field_error(rq, form, errors, "name", "pstaff.err.loc_name");
    if (admin_text(req_param(rq, "address"), 200, f->address,
                   sizeof f->address) ||
        strpbrk(f->address, "<>\r\n"))
        admin_field_error(rq, form, errors, "address", "pstaff.err.address");
    if (admin_text(req_param(rq, "note"), 500, f->note, sizeof f->note))
        admin_field_error(rq, form, errors, "note", "pstaff.err.note");
    admin_text(req_param(rq, "slot_minutes"), 4, f->slot_minutes,
               sizeof f->slot_minutes);
    admin_text(req_param(rq, "capacity"), 6, f->capacity, sizeof f->capacity);
    admin_text(req_param(rq, "window_days"), 6, f->window_days,
               sizeof f->window_days);
    admin_text(req_param(rq, "deadline_days"), 6, f->deadline_days,
               sizeof f->deadline_days);
    admin_text(req_param(rq, "max_party"), 6, f->max_party,
               sizeof f->max_party);
    int v;
    if (ps_parse_int(f->slot_minutes, 10, 60, &v) || !booking_slot_len_valid(v))
        admin_field_error(rq, form, errors, "slot_minutes",
                          "pstaff.err.slot_minutes");
    else
        r->slot_minutes = v;
    if (ps_parse_int(f->capacity, 1, SLOT_CAP_MAX, &r->capacity))
        admin_field_error(rq, form, errors, "capacity", "pstaff.err.capacity");
    if (ps_parse_int(f->window_days, 1, 366, &r->window_days))
        admin_field_error(rq, form, errors, "window_days", "pstaff.err.window");
    if (ps_parse_int(f->deadline_days, 0, 365, &r->deadline_days))
        admin_field_error(rq, form, errors, "deadline_days",
                          "pstaff.err.deadline");
    else if (r->deadline_days >= r->window_days && r->window_days > 0)
        admin_field_error(rq, form, errors, "deadline_days",
                          "pstaff.err.deadline_window");
    if (ps_parse_int(f->max_party, 1, BOOKING_MAX_PARTY, &r->max_party))
        admin_field_error(rq, form, errors, "max_party",
                          "pstaff.err.max_party");
    str_copy(r->name, f->name, sizeof r->name);
    str_copy(r->address, f->address, sizeof r->address);
    str_copy(r->note, f->note, sizeof r->note);
    return json_array_size(errors) ? -1 : 0;
}

static void loc_page(struct req *rq, struct resp *rs, int status,
                     const struct booking_resource *r, json_t *form,
                     json_t *errors, const char *error_text)
{
    json_t *ctx = ps_context(rq, "/staff/pickup/settings");
    json_object_set_new(ctx, "form", form);
    if (error_text && errors) {
        json_t *e = json_object();
        json_object_set_new(e, "id", json_string("slot_minutes"));
        json_object_set_new(e, "text", json_string(error_text));
        json_array_append_new(errors, e);
    }
    json_object_set_new(ctx, "errors", errors ? errors : json_array());
    char h[96];
    if (r && r->id) {
        json_object_set_new(ctx, "location_name", json_string(r->name));
        json_object_set_new(ctx, "open", json_boolean(r->open));
        snprintf(h, sizeof h, "/staff/pickup/settings/%lld", (long long)r->id);
        json_object_set_new(ctx, "action", json_string(h));
        snprintf(h, sizeof h, "/staff/pickup/settings/%lld/%s",
                 (long long)r->id, r->open ? "close" : "reopen");
        json_object_set_new(ctx, "toggle_action", json_string(h));
        snprintf(h, sizeof h, "/staff/pickup/settings/%lld/hours",
                 (long long)r->id);
        json_object_set_new(ctx, "hours_href", json_string(h));
        snprintf(h, sizeof h, "/staff/pickup/settings/%lld/exceptions",
                 (long long)r->id);
        json_object_set_new(ctx, "exceptions_href", json_string(h));
        snprintf(h, sizeof h, "/staff/pickup/settings/%lld/slots",
                 (long long)r->id);
        json_object_set_new(ctx, "slots_href", json_string(h));
    } else {
        json_object_set_new(ctx, "is_new", json_true());
        json_object_set_new(ctx, "action",
                            json_string("/staff/pickup/settings/new"));
    }
    resp_page(rq, rs, status, "pickup/staff_location",
              r && r->id ? "pstaff.loc.edit_title" : "pstaff.loc.new_title",
              ctx);
}

/* The location of :id (kind pickup); answers 404 otherwise. */
static int load_location(struct req *rq, struct resp *rs,
                         struct booking_resource *r)
{
    int64_t id;
    if (admin_parse_id(rq->params[0], &id) != 0 ||
        booking_resource_get(rq->db, id, r) != BOOKING_OK ||
        strcmp(r->kind, "pickup") != 0) {
        resp_error(rq, rs, 404, NULL, NULL);
        return -1;
    }
    return 0;
}

static int get_new(struct req *rq, struct resp *rs)
{
    struct booking_resource r;
    memset(&r, 0, sizeof r);
    /* Sensible starting values for a counter: 30-minute slots of 5 places,
    ** bookable four weeks ahead until two days before. */
    r.slot_minutes = 30;
    r.capacity = 5;
    r.window_days = 28;
    r.deadline_days = 2;
    r.max_party = PICKUP_FAMILY_MAX;
    struct loc_form f;
    loc_form_from(&r, &f);
    loc_page(rq, rs, 200, NULL, loc_fields(rq, &f), NULL, NULL);
    return 0;
}

static int save_location(struct req *rq, struct resp *rs,
                         struct booking_resource *r, int is_new)
{
    struct loc_form f;
    json_t *errors = json_array();
    json_t *form = json_object();
    loc_form_read(rq, &f, form, errors, r);
    json_decref(form);
    form = loc_fields(rq, &f);
    /* loc_form_read marked a throwaway form: mark the real one. */
    size_t i;
    json_t *e;
    json_array_foreach(errors, i, e)
    {
        json_t *fld =
            json_object_get(form, json_string_value(json_object_get(e, "id")));
        if (fld)
            json_object_set(fld, "error", json_object_get(e, "text"));
    }
    if (json_array_size(errors)) {
        loc_page(rq, rs, 400, is_new ? NULL : r, form, errors, NULL);
        return 0;
    }
    struct booking_slot conflict;
    memset(&conflict, 0, sizeof conflict);
    int rc = booking_resource_save_ex(rq->db, &rq->actor, r, &conflict);
    if (rc == BOOKING_ECONFLICT) {
        char *t = ps_conflict_text(rq->lang, &conflict);
        loc_page(rq, rs, 409, is_new ? NULL : r, form, errors, t);
        free(t);
        return 0;
    }
    if (rc != BOOKING_OK) {
        json_decref(form);
        json_decref(errors);
        resp_error(rq, rs, rc == BOOKING_EAUDIT ? 503 : 500, NULL,
                   ps_result_text(rq->lang, rc));
        return 0;
    }
    json_decref(form);
    json_decref(errors);
    char h[128];
    if (is_new)
        snprintf(h, sizeof h,
                 "/staff/pickup/settings/%lld/hours?done=pstaff_loc_created",
                 (long long)r->id);
    else
        snprintf(h, sizeof h, "/staff/pickup/settings/%lld?done=pstaff_saved",
                 (long long)r->id);
    resp_redirect(rs, h);
    return 0;
}

static int post_new(struct req *rq, struct resp *rs)
{
    struct booking_resource r;
    memset(&r, 0, sizeof r);
    str_copy(r.kind, "pickup", sizeof r.kind);
    r.open = 1;
    return save_location(rq, rs, &r, 1);
}

static int get_location(struct req *rq, struct resp *rs)
{
    struct booking_resource r;
    if (load_location(rq, rs, &r) != 0)
        return 0;
    struct loc_form f;
    loc_form_from(&r, &f);
    loc_page(rq, rs, 200, &r, loc_fields(rq, &f), NULL, NULL);
    return 0;
}

static int post_location(struct req *rq, struct resp *rs)
{
    struct booking_resource r;
    if (load_location(rq, rs, &r) != 0)
        return 0;
    return save_location(rq, rs, &r, 0);
}

static int set_open(struct req *rq, struct resp *rs, int open)
{
    struct booking_resource r;
    if (load_location(rq, rs, &r) != 0)
        return 0;
    r.open = open;
    struct booking_slot conflict;
    int rc = booking_resource_save_ex(rq->db, &rq->actor, &r, &conflict);
    if (rc != BOOKING_OK) {
        resp_error(rq, rs, rc == BOOKING_EAUDIT ? 503 : 500, NULL,
                   ps_result_text(rq->lang, rc));
        return 0;
    }
    char h[128];
    snprintf(h, sizeof h, "/staff/pickup/settings/%lld?done=%s",
             (long long)r.id, open ? "pstaff_reopened" : "pstaff_closed");
    resp_redirect(rs, h);
    return 0;
}

static int post_close(struct req *rq, struct resp *rs)
{
    return set_open(rq, rs, 0);
}

static int post_reopen(struct req *rq, struct resp *rs)
{
    return set_open(rq, rs, 1);
}

/* ---- weekly hours ------------------------------------------------------- */

static const char *weekday_key(int wd)
{
    static const char *const k[] = {"pstaff.wd.0", "pstaff.wd.1", "pstaff.wd.2",
                                    "pstaff.wd.3", "pstaff.wd.4", "pstaff.wd.5",
                                    "pstaff.wd.6"};
    return k[wd];
}

/* One field object of the hours grid. */
static json_t *hours_field(struct req *rq, const char *kind, int wd, int i,
                           const char *value)
{
    char name[32];
    snprintf(name, sizeof name, "%s_%d_%d", kind, wd, i);
    char key[48];
    snprintf(key, sizeof key, "pstaff.hours.%s", kind);
    json_t *f = ps_field(rq, name, key, value,
                         strcmp(kind, "cap") == 0 ? "number" : "time",
                         strcmp(kind, "cap") == 0 ? 3 : 5, 0, NULL);
    if (strcmp(kind, "cap") == 0)
        json_object_set_new(f, "inputmode", json_string("numeric"));
    return f;
}

/* The grid: days [{legend, rows [{legend, start, end, cap}]}] with the
** values of h, or with those typed in the request typed when not NULL. */
static json_t *hours_grid(struct req *rq, const struct booking_hours *h,
                          size_t nh, struct req *typed)
{
    json_t *days = json_array();
    for (size_t d = 0; d < 7; d++) {
        int wd = weekday_order[d];
        json_t *day = json_object();
        json_object_set_new(day, "legend",
                            json_string(i18n_get(rq->lang, weekday_key(wd))));
        json_object_set_new(day, "wd", json_integer(wd));
        int have = 0;
        for (size_t k = 0; k < nh; k++)
            if (h[k].weekday == wd)
                have++;
        int rows = have + 1 > HOURS_ROWS_MIN ? have + 1 : HOURS_ROWS_MIN;
        if (rows > HOURS_ROWS_MAX)
            rows = HOURS_ROWS_MAX;
        if (typed) {
            /* Keep as many rows as were sent. */
            for (int i = HOURS_ROWS_MAX; i > rows; i--) {
                char n[32];
                snprintf(n, sizeof n, "start_%d_%d", wd, i);
                if (req_param(typed, n)) {
                    rows = i;
                    break;
                }
            }
        }
        /* This weekday's intervals, in time order (booking_hours_get). */
        const struct booking_hours *mine[HOURS_ROWS_MAX];
        int nm = 0;
        for (size_t k = 0; k < nh && nm < HOURS_ROWS_MAX; k++)
            if (h[k].weekday == wd)
                mine[nm++] = &h[k];
        json_t *ra = json_array();
        for (int i = 1; i <= rows; i++) {
            char s[16] = "", e[16] = "", c[16] = "";
            if (typed) {
                char n[32];
                snprintf(n, sizeof n, "start_%d_%d", wd, i);
                admin_text(req_param(typed, n), 8, s, sizeof s);
                snprintf(n, sizeof n, "end_%d_%d", wd, i);
                admin_text(req_param(typed, n), 8, e, sizeof e);
                snprintf(n, sizeof n, "cap_%d_%d", wd, i);
                admin_text(req_param(typed, n), 6, c, sizeof c);
            } else if (i <= nm) {
                ps_hhmm(mine[i - 1]->start_min, s);
                ps_hhmm(mine[i - 1]->end_min, e);
                if (mine[i - 1]->capacity)
                    snprintf(c, sizeof c, "%d", mine[i - 1]->capacity);
            }
            json_t *row = json_object();
            char n[16];
            snprintf(n, sizeof n, "%d", i);
            const char *names[] = {"n"};
            const char *values[] = {n};
            char *lg =
                admin_msg(rq->lang, "pstaff.hours.interval", names, values, 1);
            json_object_set_new(row, "legend", json_string(lg));
            free(lg);
            json_object_set_new(row, "start",
                                hours_field(rq, "start", wd, i, s));
            json_object_set_new(row, "end", hours_field(rq, "end", wd, i, e));
            json_object_set_new(row, "cap", hours_field(rq, "cap", wd, i, c));
            json_array_append_new(ra, row);
        }
        json_object_set_new(day, "rows", ra);
        json_array_append_new(days, day);
    }
    return days;
}

/* Marks field name in the grid as wrong and adds it to errors. */
static void grid_error(struct req *rq, json_t *days, json_t *errors,
                       const char *name, const char *key, const char *day)
{
    const char *t = i18n_get(rq->lang, key);
    size_t i, j;
    json_t *d, *row;
    json_array_foreach(days, i, d)
    {
        json_array_foreach(json_object_get(d, "rows"), j, row)
        {
            const char *parts[] = {"start", "end", "cap"};
            for (size_t k = 0; k < 3; k++) {
                json_t *f = json_object_get(row, parts[k]);
                const char *n = json_string_value(json_object_get(f, "name"));
                if (n && strcmp(n, name) == 0 && !json_object_get(f, "error"))
                    json_object_set_new(f, "error", json_string(t));
            }
        }
    }
    json_t *e = json_object();
    json_object_set_new(e, "id", json_string(name));
    struct buf b;
    buf_init(&b);
    buf_printf(&b, "%s: %s", day, t);
    json_object_set_new(e, "text", json_string(b.data));
    buf_free(&b);
    json_array_append_new(errors, e);
}

static void hours_page(struct req *rq, struct resp *rs, int status,
                       const struct booking_resource *r, json_t *days,
                       json_t *errors)
{
    json_t *ctx = ps_context(rq, "/staff/pickup/settings");
    json_object_set_new(ctx, "location_name", json_string(r->name));
    char h[96];
    snprintf(h, sizeof h, "/staff/pickup/settings/%lld/hours",
             (long long)r->id);
    json_object_set_new(ctx, "action", json_string(h));
    snprintf(h, sizeof h, "/staff/pickup/settings/%lld", (long long)r->id);
    json_object_set_new(ctx, "back_href", json_string(h));
    json_object_set_new(ctx, "slot_minutes", json_integer(r->slot_minutes));
    json_object_set_new(ctx, "capacity", json_integer(r->capacity));
    json_object_set_new(ctx, "days", days);
    json_object_set_new(ctx, "errors", errors ? errors : json_array());
    resp_page(rq, rs, status, "pickup/staff_hours", "pstaff.hours.title", ctx);
}

static int get_hours(struct req *rq, struct resp *rs)
{
    struct booking_resource r;
    if (load_location(rq, rs, &r) != 0)
        return 0;
    struct booking_hours h[BOOKING_MAX_HOURS];
    size_t nh = 0;
    if (booking_hours_get(rq->db, r.id, h, BOOKING_MAX_HOURS, &nh) !=
        BOOKING_OK) {
        resp_error(rq, rs, 500, NULL, NULL);
        return 0;
    }
    hours_page(rq, rs, 200, &r, hours_grid(rq, h, nh, NULL), NULL);
    return 0;
}

static int post_hours(struct req *rq, struct resp *rs)
{
    struct booking_resource r;
    if (load_location(rq, rs, &r) != 0)
        return 0;
    json_t *days = hours_grid(rq, NULL, 0, rq);
    json_t *errors = json_array();
    struct booking_hours h[BOOKING_MAX_HOURS];
    size_t nh = 0;
    for (size_t d = 0; d < 7; d++) {
        int wd = weekday_order[d];
        const char *day = i18n_get(rq->lang, weekday_key(wd));
        for (int i = 1; i <= HOURS_ROWS_MAX; i++) {
            char ns[32], ne[32], nc[32];
            snprintf(ns, sizeof ns, "start_%d_%d", wd, i);
            snprintf(ne, sizeof ne, "end_%d_%d", wd, i);
            snprintf(nc, sizeof nc, "cap_%d_%d", wd, i);
            char s[16], e[16], c[16];
            admin_text(req_param(rq, ns), 8, s, sizeof s);
            admin_text(req_param(rq, ne), 8, e, sizeof e);
            admin_text(req_param(rq, nc), 6, c, sizeof c);
            if (!s[0] && !e[0] && !c[0])
                continue;
            int a = ps_parse_hhmm(s), b = ps_parse_hhmm(e), cap = 0;
            if (a < 0 || a >= 1440) {
                grid_error(rq, days, errors, ns, "pstaff.err.time", day);
                continue;
            }
            if (b < 0) {
                grid_error(rq, days, errors, ne, "pstaff.err.time", day);
                continue;
            }
            if (b <= a) {
                grid_error(rq, days, errors, ne, "pstaff.err.time_order", day);
                continue;
            }
            if (c[0] && ps_parse_int(c, 1, SLOT_CAP_MAX, &cap) != 0) {
                grid_error(rq, days, errors, nc, "pstaff.err.capacity", day);
                continue;
            }
            int overlap = 0;
            for (size_t k = 0; k < nh; k++)
                if (h[k].weekday == wd && a < h[k].end_min &&
                    h[k].start_min < b)
                    overlap = 1;
            if (overlap) {
                grid_error(rq, days, errors, ns, "pstaff.err.overlap", day);
                continue;
            }
            if (nh == BOOKING_MAX_HOURS) {
                grid_error(rq, days, errors, ns, "pstaff.err.too_many", day);
                continue;
            }
            h[nh].weekday = wd;
            h[nh].start_min = a;
            h[nh].end_min = b;
            h[nh].capacity = cap;
            nh++;
        }
    }
    if (json_array_size(errors)) {
        hours_page(rq, rs, 400, &r, days, errors);
        return 0;
    }
    struct booking_slot conflict;
    memset(&conflict, 0, sizeof conflict);
    int rc = booking_hours_set(rq->db, &rq->actor, r.id, h, nh, &conflict);
    if (rc != BOOKING_OK) {
        json_t *e = json_object();
        json_object_set_new(e, "id", json_string("hours-form"));
        if (rc == BOOKING_ECONFLICT) {
            char *t = ps_conflict_text(rq->lang, &conflict);
            json_object_set_new(e, "text", json_string(t));
            free(t);
        } else {
            json_object_set_new(e, "text",
                                json_string(ps_result_text(rq->lang, rc)));
        }
        json_array_append_new(errors, e);
        hours_page(rq, rs,
                   rc == BOOKING_ECONFLICT ? 409
                   : rc == BOOKING_EINVAL  ? 400
                   : rc == BOOKING_EAUDIT  ? 503
                                           : 500,
                   &r, days, errors);
        return 0;
    }
    json_decref(days);
    json_decref(errors);
    char loc[128];
    snprintf(loc, sizeof loc,
             "/staff/pickup/settings/%lld/hours?done=pstaff_hours_saved",
             (long long)r.id);
    resp_redirect(rs, loc);
    return 0;
}

/* ---- date exceptions ---------------------------------------------------- */

static json_t *exception_rows(struct req *rq, const struct booking_resource *r)
{
    json_t *a = json_array();
    char today[11];
    ps_today(today);
    struct db_stmt *st =
        db_queryf(rq->db,
                  "SELECT date, kind, start_min, end_min, capacity, note "
                  "FROM booking_exceptions WHERE resource_id = ? AND date >= ? "
                  "ORDER BY date, start_min",
                  "is", r->id, today);
    while (st && db_step(st) == DB_ROW) {
        json_t *o = json_object();
        const char *date = db_col_text(st, 0);
        const char *kind = db_col_text(st, 1);
        char day[64], s[6], e[6], t[16];
        ps_date_label(rq->lang, date ? date : "", 0, day, sizeof day);
        json_object_set_new(o, "date", json_string(date ? date : ""));
        json_object_set_new(o, "day", json_string(day));
        int closed = kind && strcmp(kind, "closed") == 0;
        json_object_set_new(o, "closed", json_boolean(closed));
        json_object_set_new(
            o, "kind_label",
            json_string(i18n_get(rq->lang, closed ? "pstaff.exc.closed"
                                                  : "pstaff.exc.open")));
        int start = (int)db_col_int(st, 2);
        json_object_set_new(o, "start_min", json_integer(start));
        if (!closed) {
            ps_hhmm(start, s);
            ps_hhmm((int)db_col_int(st, 3), e);
            snprintf(t, sizeof t, "%s〜%s", s, e);
            json_object_set_new(o, "time", json_string(t));
            int cap = (int)db_col_int(st, 4);
            if (cap)
                json_object_set_new(o, "capacity", json_integer(cap));
        }
        const char *note = db_col_text(st, 5);
        json_object_set_new(o, "note", json_string(note ? note : ""));
        json_array_append_new(a, o);
    }
    db_finalize(st);
    return a;
}

struct exc_form {
    char date[16], kind[8], start[8], end[8], capacity[8], note[400];
};

static json_t *exc_fields(struct req *rq, const struct exc_form *f)
{
    json_t *form = json_object();
    json_object_set_new(
        form, "date",
        ps_field(rq, "date", "pstaff.exc.date", f->date, "date", 10, 1, NULL));
    json_t *x = ps_field(rq, "kind", "pstaff.exc.kind", "", NULL, 0, 1,
                         "pstaff.exc.kind_hint");
    const char *v[] = {"open", "closed"};
    const char *k[] = {"pstaff.exc.open", "pstaff.exc.closed"};
    ps_field_select(rq, x, v, k, 2, f->kind[0] ? f->kind : "open");
    json_object_set_new(form, "kind", x);
    json_object_set_new(form, "start",
                        ps_field(rq, "start", "pstaff.exc.start", f->start,
                                 "time", 5, 0, NULL));
    json_object_set_new(
        form, "end",
        ps_field(rq, "end", "pstaff.exc.end", f->end, "time", 5, 0, NULL));
    x = ps_field(rq, "capacity", "pstaff.exc.capacity", f->capacity, "number",
                 3, 0, "pstaff.exc.capacity_hint");
    json_object_set_new(form, "capacity", x);
    json_object_set_new(form, "note",
                        ps_field(rq, "note", "pstaff.exc.note", f->note, NULL,
                                 100, 0, "pstaff.exc.note_hint"));
    return form;
}

static void exc_page(struct req *rq, struct resp *rs, int status,
                     const struct booking_resource *r, json_t *form,
                     json_t *errors)
{
    json_t *ctx = ps_context(rq, "/staff/pickup/settings");
    json_object_set_new(ctx, "location_name", json_string(r->name));
    char h[96];
    snprintf(h, sizeof h, "/staff/pickup/settings/%lld/exceptions",
             (long long)r->id);
    json_object_set_new(ctx, "action", json_string(h));
    snprintf(h, sizeof h, "/staff/pickup/settings/%lld/exceptions/delete",
             (long long)r->id);
    json_object_set_new(ctx, "delete_action", json_string(h));
    snprintf(h, sizeof h, "/staff/pickup/settings/%lld", (long long)r->id);
    json_object_set_new(ctx, "back_href", json_string(h));
    json_object_set_new(ctx, "rows", exception_rows(rq, r));
    json_object_set_new(ctx, "form", form);
    json_object_set_new(ctx, "errors", errors ? errors : json_array());
    resp_page(rq, rs, status, "pickup/staff_exceptions", "pstaff.exc.title",
              ctx);
}

static int get_exceptions(struct req *rq, struct resp *rs)
{
    struct booking_resource r;
    if (load_location(rq, rs, &r) != 0)
        return 0;
    struct exc_form f;
    memset(&f, 0, sizeof f);
    exc_page(rq, rs, 200, &r, exc_fields(rq, &f), NULL);
    return 0;
}

static void conflict_error(struct req *rq, json_t *form, json_t *errors, int rc,
                           const struct booking_slot *conflict)
{
    if (rc == BOOKING_ECONFLICT) {
        char *t = ps_conflict_text(rq->lang, conflict);
        admin_field_error_text(form, errors, "date", t);
        free(t);
    } else {
        admin_field_error_text(form, errors, "date",
                               ps_result_text(rq->lang, rc));
    }
}

static int exc_status(int rc)
{
    return rc == BOOKING_ECONFLICT ? 409
           : rc == BOOKING_EINVAL  ? 400
           : rc == BOOKING_EAUDIT  ? 503
                                   : 500;
}

static int post_exception(struct req *rq, struct resp *rs)
{
    struct booking_resource r;
    if (load_location(rq, rs, &r) != 0)
        return 0;
    struct exc_form f;
    memset(&f, 0, sizeof f);
    admin_text(req_param(rq, "date"), 10, f.date, sizeof f.date);
    admin_text(req_param(rq, "kind"), 6, f.kind, sizeof f.kind);
    admin_text(req_param(rq, "start"), 8, f.start, sizeof f.start);
    admin_text(req_param(rq, "end"), 8, f.end, sizeof f.end);
    admin_text(req_param(rq, "capacity"), 6, f.capacity, sizeof f.capacity);
    int long_note =
        admin_text(req_param(rq, "note"), 100, f.note, sizeof f.note) != 0;
    json_t *form = exc_fields(rq, &f);
    json_t *errors = json_array();
    struct booking_exception e;
    memset(&e, 0, sizeof e);
    char today[11];
    ps_today(today);
    if (pickup_date_parse(f.date, e.date) != 0)
        admin_field_error(rq, form, errors, "date", "pstaff.err.date");
    else if (strcmp(e.date, today) < 0)
        admin_field_error(rq, form, errors, "date", "pstaff.err.date_past");
    int closed = strcmp(f.kind, "closed") == 0;
    if (!closed && strcmp(f.kind, "open") != 0)
        admin_field_error(rq, form, errors, "kind", "pstaff.err.invalid");
    str_copy(e.kind, closed ? "closed" : "open", sizeof e.kind);
    if (!closed) {
        e.start_min = ps_parse_hhmm(f.start);
        e.end_min = ps_parse_hhmm(f.end);
        if (e.start_min < 0 || e.start_min >= 1440)
            admin_field_error(rq, form, errors, "start", "pstaff.err.time");
        if (e.end_min < 0)
            admin_field_error(rq, form, errors, "end", "pstaff.err.time");
        else if (e.start_min >= 0 && e.end_min <= e.start_min)
            admin_field_error(rq, form, errors, "end", "pstaff.err.time_order");
        if (f.capacity[0] &&
            ps_parse_int(f.capacity, 1, SLOT_CAP_MAX, &e.capacity) != 0)
            admin_field_error(rq, form, errors, "capacity",
                              "pstaff.err.capacity");
    }
    if (long_note || strpbrk(f.note, "<>\r\n"))
        admin_field_error(rq, form, errors, "note", "pstaff.err.note");
    str_copy(e.note, f.note, sizeof e.note);
    if (json_array_size(errors)) {
        exc_page(rq, rs, 400, &r, form, errors);
        return 0;
    }
    struct booking_slot conflict;
    memset(&conflict, 0, sizeof conflict);
    int rc = booking_exception_set(rq->db, &rq->actor, r.id, &e, &conflict);
    if (rc != BOOKING_OK) {
        conflict_error(rq, form, errors, rc, &conflict);
        exc_page(rq, rs, exc_status(rc), &r, form, errors);
        return 0;
    }
    json_decref(form);
    json_decref(errors);
    char loc[128];
    snprintf(loc, sizeof loc,
             "/staff/pickup/settings/%lld/exceptions?done=pstaff_exc_saved",
             (long long)r.id);
    resp_redirect(rs, loc);
    return 0;
}

static int post_exception_delete(struct req *rq, struct resp *rs)
{
    struct booking_resource r;
    if (load_location(rq, rs, &r) != 0)
        return 0;
    char date[11];
    const char *d = req_param(rq, "date");
    const char *k = req_param(rq, "kind");
    int start = 0;
    if (!d || pickup_date_parse(d, date) != 0 || !k ||
        (strcmp(k, "closed") != 0 &&
         ps_parse_int(req_param(rq, "start_min"), 0, 1439, &start) != 0)) {
        resp_error(rq, rs, 400, NULL, NULL);
        return 0;
    }
    struct booking_slot conflict;
    memset(&conflict, 0, sizeof conflict);
    int rc = strcmp(k, "closed") == 0
                 ? booking_exception_delete(rq->db, &rq->actor, r.id, date,
                                            &conflict)
                 : booking_exception_delete_one(rq->db, &rq->actor, r.id, date,
                                                start, &conflict);
    if (rc != BOOKING_OK) {
        struct exc_form f;
        memset(&f, 0, sizeof f);
        json_t *form = exc_fields(rq, &f);
        json_t *errors = json_array();
        conflict_error(rq, form, errors, rc, &conflict);
        exc_page(rq, rs, exc_status(rc), &r, form, errors);
        return 0;
    }
    char loc[128];
    snprintf(loc, sizeof loc,
             "/staff/pickup/settings/%lld/exceptions?done=pstaff_exc_deleted",
             (long long)r.id);
    resp_redirect(rs, loc);
    return 0;
}

/* ---- places of single slots --------------------------------------------- */

static json_t *slot_rows(struct req *rq, const struct booking_resource *r,
                         const char *date, struct req *typed)
{
    json_t *a = json_array();
    struct db_stmt *st = db_queryf(
        rq->db,
        "SELECT id, start_min, len_min, capacity, booked, capacity_fixed "
        "FROM booking_slots WHERE resource_id = ? AND date = ? "
        "ORDER BY start_min",
        "is", r->id, date);
    while (st && db_step(st) == DB_ROW) {
        int64_t id = db_col_int(st, 0);
        char s[6], e[6], t[16], name[32], cap[16];
        ps_hhmm((int)db_col_int(st, 1), s);
        ps_hhmm((int)(db_col_int(st, 1) + db_col_int(st, 2)), e);
        snprintf(t, sizeof t, "%s〜%s", s, e);
        snprintf(name, sizeof name, "cap_%lld", (long long)id);
        snprintf(cap, sizeof cap, "%lld", (long long)db_col_int(st, 3));
        const char *v = typed ? req_param(typed, name) : NULL;
        json_t *f = json_object();
        json_object_set_new(f, "id", json_string(name));
        json_object_set_new(f, "name", json_string(name));
        const char *names[] = {"time"};
        const char *values[] = {t};
        char *label =
            admin_msg(rq->lang, "pstaff.slots.cap_label", names, values, 1);
        json_object_set_new(f, "label", json_string(label));
        free(label);
        json_object_set_new(f, "value", json_string(v ? v : cap));
        json_object_set_new(f, "type", json_string("number"));
        json_object_set_new(f, "inputmode", json_string("numeric"));
        json_object_set_new(f, "maxlength", json_integer(3));
        json_t *o = json_object();
        json_object_set_new(o, "slot_id", json_integer(id));
        json_object_set_new(o, "time", json_string(t));
        json_object_set_new(o, "capacity", json_integer(db_col_int(st, 3)));
        json_object_set_new(o, "booked", json_integer(db_col_int(st, 4)));
        json_object_set_new(o, "fixed", json_boolean(db_col_int(st, 5)));
        json_object_set_new(o, "field", f);
        json_array_append_new(a, o);
    }
    db_finalize(st);
    return a;
}

static void slots_page(struct req *rq, struct resp *rs, int status,
                       const struct booking_resource *r, const char *date,
                       json_t *rows, json_t *errors)
{
    json_t *ctx = ps_context(rq, "/staff/pickup/settings");
    json_object_set_new(ctx, "location_name", json_string(r->name));
    char h[96], day[64];
    snprintf(h, sizeof h, "/staff/pickup/settings/%lld/slots",
             (long long)r->id);
    json_object_set_new(ctx, "action", json_string(h));
    snprintf(h, sizeof h, "/staff/pickup/settings/%lld", (long long)r->id);
    json_object_set_new(ctx, "back_href", json_string(h));
    json_object_set_new(ctx, "date", json_string(date));
    ps_date_label(rq->lang, date, 1, day, sizeof day);
    json_object_set_new(ctx, "day_label", json_string(day));
    json_t *df =
        ps_field(rq, "date", "pstaff.field.date", date, "date", 10, 0, NULL);
    json_object_set_new(ctx, "date_field", df);
    json_object_set_new(ctx, "rows", rows);
    json_object_set_new(ctx, "errors", errors ? errors : json_array());
    resp_page(rq, rs, status, "pickup/staff_slots", "pstaff.slots.title", ctx);
}

static int get_slots(struct req *rq, struct resp *rs)
{
    struct booking_resource r;
    if (load_location(rq, rs, &r) != 0)
        return 0;
    char date[11];
    int bad = ps_date_param(rq, "date", date) != 0;
    json_t *errors = json_array();
    if (bad) {
        json_t *e = json_object();
        json_object_set_new(e, "id", json_string("date"));
        json_object_set_new(e, "text",
                            json_string(i18n_get(rq->lang, "pstaff.err.date")));
        json_array_append_new(errors, e);
    }
    slots_page(rq, rs, bad ? 400 : 200, &r, date, slot_rows(rq, &r, date, NULL),
               errors);
    return 0;
}

static int post_slots(struct req *rq, struct resp *rs)
{
    struct booking_resource r;
    if (load_location(rq, rs, &r) != 0)
        return 0;
    char date[11];
    if (ps_date_param(rq, "date", date) != 0) {
        resp_error(rq, rs, 400, NULL, NULL);
        return 0;
    }
    json_t *rows = slot_rows(rq, &r, date, rq);
    json_t *errors = json_array();
    int changed = 0, failed = 0, invalid = 0;
    size_t i;
    json_t *o;
    json_array_foreach(rows, i, o)
    {
        json_t *f = json_object_get(o, "field");
        const char *v = json_string_value(json_object_get(f, "value"));
        int cap;
        char vv[16];
        admin_text(v, 6, vv, sizeof vv);
        if (ps_parse_int(vv, 1, SLOT_CAP_MAX, &cap) != 0) {
            json_object_set_new(
                f, "error",
                json_string(i18n_get(rq->lang, "pstaff.err.capacity")));
            json_t *e = json_object();
            json_object_set(e, "id", json_object_get(f, "id"));
            json_object_set_new(
                e, "text",
                json_string(i18n_get(rq->lang, "pstaff.err.capacity")));
            json_array_append_new(errors, e);
            failed = invalid = 1;
            continue;
        }
        if (cap == json_integer_value(json_object_get(o, "capacity")))
            continue;
        int rc = booking_slot_capacity_set(
            rq->db, &rq->actor,
            json_integer_value(json_object_get(o, "slot_id")), cap);
        if (rc != BOOKING_OK) {
            const char *t = ps_result_text(rq->lang, rc);
            char *ct = NULL;
            if (rc == BOOKING_ECONFLICT) {
                struct booking_slot s;
                if (booking_slot_get(
                        rq->db,
                        json_integer_value(json_object_get(o, "slot_id")),
                        &s) == BOOKING_OK)
                    t = ct = ps_conflict_text(rq->lang, &s);
            }
            json_object_set_new(f, "error", json_string(t));
            json_t *e = json_object();
            json_object_set(e, "id", json_object_get(f, "id"));
            json_object_set_new(e, "text", json_string(t));
            json_array_append_new(errors, e);
            free(ct);
            failed = 1;
            continue;
        }
        changed++;
    }
    if (failed) {
        /* The ones that were saved show their new value again. */
        slots_page(rq, rs, invalid ? 400 : 409, &r, date, rows, errors);
        return 0;
    }
    json_decref(rows);
    json_decref(errors);
    char loc[160];
    snprintf(
        loc, sizeof loc,
        "/staff/pickup/settings/%lld/slots?date=%s&done=pstaff_slots_saved",
        (long long)r.id, date);
    resp_redirect(rs, loc);
    (void)changed;
    return 0;
}

static const struct route settings_routes[] = {
    {"GET", "/staff/pickup/settings", get_settings, "booking.settings", 0},
    {"GET", "/staff/pickup/settings/new", get_new, "booking.settings", 0},
    {"POST", "/staff/pickup/settings/new", post_new, "booking.settings", 0},
    {"GET", "/staff/pickup/settings/:id", get_location, "booking.settings", 0},
    {"POST", "/staff/pickup/settings/:id", post_location, "booking.settings",
     0},
    {"POST", "/staff/pickup/settings/:id/close", post_close, "booking.settings",
     0},
    {"POST", "/staff/pickup/settings/:id/reopen", post_reopen,
     "booking.settings", 0},
    {"GET", "/staff/pickup/settings/:id/hours", get_hours, "booking.settings",
     0},
    {"POST", "/staff/pickup/settings/:id/hours", post_hours, "booking.settings",
     0},
    {"GET", "/staff/pickup/settings/:id/exceptions", get_exceptions,
     "booking.settings", 0},
    {"POST", "/staff/pickup/settings/:id/exceptions", post_exception,
     "booking.settings", 0},
    {"POST", "/staff/pickup/settings/:id/exceptions/delete",
     post_exception_delete, "booking.settings", 0},
    {"GET", "/staff/pickup/settings/:id/slots", get_slots, "booking.settings",
     0},
    {"POST", "/staff/pickup/settings/:id/slots", post_slots, "booking.settings",
     0},
};

void ps_settings_register(void)
{
    router_add(settings_routes, ARRAY_LEN(settings_routes));
}
