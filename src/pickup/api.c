/*
** api.c - the JSON APIs of the pickup service for the call center and any
** other channel (issue #3 "APIs"; RSV-8, WIN-8), described in
** docs/api/openapi.yaml:
**
**   GET    /api/v1/pickup/locations
**   GET    /api/v1/pickup/availability?location=&from=&to=   per day
**   GET    /api/v1/pickup/availability?location=&date=       slots
**   POST   /api/v1/pickup/bookings        {slot_id, notices, channel,
**                                          override_deadline}
**   GET    /api/v1/pickup/bookings/{ref}
**   PATCH  /api/v1/pickup/bookings/{ref}  {slot_id, override_deadline}
**   DELETE /api/v1/pickup/bookings/{ref}  ?override_deadline=1
**   GET    /api/v1/pickup/notices/{no}
**
** The same permissions and rules as the staff pages: booking.staff or
** booking.operator for everything; the channel must be one the user's
** role works on ("counter": booking.staff, "callcenter": booking.operator,
** "api": either); only booking.staff may override the deadline, never the
** places; a notice is read by its number only when the role may search by
** it (WIN-8).  Refusals are recorded.  Errors are RFC 9457 problems
** (resp_error).  Names are never returned: notice numbers and statuses
** are enough to book, and fewer personal data leave the system.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/admin.h"
#include "core/db.h"
#include "core/parse.h"
#include "core/tmpl.h"
#include "pickup/staff_int.h"

#define API_MAX_DAYS 93

static void problem(struct req *rq, struct resp *rs, int status,
                    const char *key, const char *detail)
{
    resp_error(rq, rs, status, key, detail);
}

/* HTTP status of a booking engine result. */
static int booking_status(int rc)
{
    switch (rc) {
    case BOOKING_ENOTFOUND:
        return 404;
    case BOOKING_EFULL:
    case BOOKING_EDUPLICATE:
    case BOOKING_ECLOSED:
    case BOOKING_ECONFLICT:
    case PICKUP_EREFUSED:
        return 409;
    case BOOKING_EINVAL:
        return 422;
    case BOOKING_EBUSY:
    case BOOKING_EAUDIT:
        return 503;
    default:
        return 500;
    }
}

static const char *booking_key(int rc)
{
    switch (rc) {
    case BOOKING_ENOTFOUND:
        return "pstaff.err.notfound";
    case BOOKING_EFULL:
        return "pstaff.err.full";
    case BOOKING_EDUPLICATE:
        return "pstaff.err.duplicate";
    case BOOKING_ECLOSED:
        return "pstaff.err.closed";
    case BOOKING_EINVAL:
        return "pstaff.err.invalid";
    case BOOKING_EBUSY:
        return "pstaff.err.busy";
    case BOOKING_EAUDIT:
        return "error.audit";
    case PICKUP_EREFUSED:
        return "pstaff.err.refused";
    default:
        return "pstaff.err.system";
    }
}

static void booking_problem(struct req *rq, struct resp *rs, int rc)
{
    problem(rq, rs, booking_status(rc), booking_key(rc), NULL);
}

/* The request body as a JSON object, or NULL after answering. */
static json_t *json_body(struct req *rq, struct resp *rs)
{
    const char *ct = rq->content_type ? rq->content_type : "";
    if (!str_starts(ct, "application/json")) {
        problem(rq, rs, 415, "pstaff.api.json_only", NULL);
        return NULL;
    }
    json_error_t err;
    json_t *o =
        json_loadb(rq->body, rq->body_len, JSON_REJECT_DUPLICATES, &err);
    if (!o || !json_is_object(o)) {
        json_decref(o);
        problem(rq, rs, 400, "pstaff.api.bad_json", NULL);
        return NULL;
    }
    return o;
}

static json_t *booking_json(struct req *rq, const struct booking *b,
                            const struct booking_resource *r)
{
    json_t *o = json_object();
    char a[6], e[6], t[32];
    json_object_set_new(o, "ref", json_string(b->ref));
    json_t *loc = json_object();
    json_object_set_new(loc, "id", json_integer(r->id));
    json_object_set_new(loc, "name", json_string(r->name));
    json_object_set_new(o, "location", loc);
    json_object_set_new(o, "slot_id",
                        b->slot_id ? json_integer(b->slot_id) : json_null());
    json_object_set_new(o, "date", json_string(b->date));
    ps_hhmm(b->start_min, a);
    ps_hhmm(b->start_min + b->len_min, e);
    json_object_set_new(o, "start", json_string(a));
    json_object_set_new(o, "end", json_string(e));
    json_object_set_new(o, "party", json_integer(b->party));
    json_object_set_new(o, "status", json_string(b->status));
    json_object_set_new(o, "channel", json_string(b->channel));
    json_object_set_new(o, "created_by", json_string(b->created_by));
    time_format_iso(b->created_at, t, sizeof t);
    json_object_set_new(o, "created_at", json_string(t));
    time_format_iso(b->updated_at, t, sizeof t);
    json_object_set_new(o, "updated_at", json_string(t));
    json_t *members = json_array();
    for (int i = 0; i < b->nmembers; i++) {
        json_t *m = json_object();
        const char *no = ps_member_notice(b->members[i]);
        json_object_set_new(m, "notice_no", json_string(no ? no : ""));
        struct pickup_notice pn;
        if (no && pickup_notice_get(rq->db, no, &pn) == PICKUP_OK)
            json_object_set_new(m, "status", json_string(pn.status));
        json_array_append_new(members, m);
    }
    json_object_set_new(o, "notices", members);
    return o;
}

/* ---- locations and availability ----------------------------------------- */

static int api_locations(struct req *rq, struct resp *rs)
{
    if (!ps_require_desk(rq, rs))
        return 0;
    const char *ic = req_param(rq, "include_closed");
    int closed = ic && strcmp(ic, "1") == 0;
    struct db_stmt *st =
        db_queryf(rq->db,
                  "SELECT id FROM booking_resources WHERE kind = 'pickup' AND "
                  "(? = 1 OR is_open = 1) ORDER BY is_open DESC, id",
                  "i", (int64_t)closed);
    if (!st) {
        problem(rq, rs, 500, NULL, NULL);
        return 0;
    }
    int64_t ids[256];
    size_t n = 0;
    int rc;
    while ((rc = db_step(st)) == DB_ROW && n < ARRAY_LEN(ids))
        ids[n++] = db_col_int(st, 0);
    db_finalize(st);
    json_t *items = json_array();
    for (size_t i = 0; i < n; i++) {
        struct booking_resource r;
        if (booking_resource_get(rq->db, ids[i], &r) != BOOKING_OK)
            continue;
        json_t *o = json_object();
        json_object_set_new(o, "id", json_integer(r.id));
        json_object_set_new(o, "name", json_string(r.name));
        json_object_set_new(o, "address", json_string(r.address));
        json_object_set_new(o, "note", json_string(r.note));
        json_object_set_new(o, "open", json_boolean(r.open));
        json_object_set_new(o, "slot_minutes", json_integer(r.slot_minutes));
        json_object_set_new(o, "capacity", json_integer(r.capacity));
        json_object_set_new(o, "window_days", json_integer(r.window_days));
        json_object_set_new(o, "deadline_days", json_integer(r.deadline_days));
        json_object_set_new(o, "max_party", json_integer(r.max_party));
        json_array_append_new(items, o);
    }
    json_t *out = json_object();
    json_object_set_new(out, "items", items);
    resp_json(rs, 200, out);
    return 0;
}

static int api_availability(struct req *rq, struct resp *rs)
{
    if (!ps_require_desk(rq, rs))
        return 0;
    const char *ls = req_param(rq, "location");
    int64_t id;
    struct booking_resource r;
    if (!ls || admin_parse_id(ls, &id) != 0 ||
        booking_resource_get(rq->db, id, &r) != BOOKING_OK ||
        strcmp(r.kind, "pickup") != 0) {
        problem(rq, rs, 404, "pstaff.api.no_location", NULL);
        return 0;
    }
    const char *ds = req_param(rq, "date");
    const char *fs = req_param(rq, "from");
    const char *ts = req_param(rq, "to");
    char a[11], b[11];
    json_t *data = NULL;
    json_t *out = json_object();
    json_object_set_new(out, "location", json_integer(r.id));
    int64_t now = now_unix();
    if (ds && *ds) {
        if (pickup_date_parse(ds, a) != 0) {
            json_decref(out);
            problem(rq, rs, 400, "pstaff.err.date", "date");
            return 0;
        }
        if (booking_day(rq->db, r.id, a, now, &data) != BOOKING_OK) {
            json_decref(out);
            problem(rq, rs, 500, NULL, NULL);
            return 0;
        }
        json_object_set_new(out, "date", json_string(a));
        json_object_set_new(out, "slots", data);
    } else {
        int days = 0;
        if (!fs || !ts || pickup_date_parse(fs, a) != 0 ||
            pickup_date_parse(ts, b) != 0 ||
            booking_date_diff(a, b, &days) != 0 || days < 0 ||
            days >= API_MAX_DAYS) {
            json_decref(out);
            problem(rq, rs, 400, "pstaff.err.range", "from, to");
            return 0;
        }
        if (booking_month(rq->db, r.id, a, b, now, &data) != BOOKING_OK) {
            json_decref(out);
            problem(rq, rs, 500, NULL, NULL);
            return 0;
        }
        json_object_set_new(out, "from", json_string(a));
        json_object_set_new(out, "to", json_string(b));
        json_object_set_new(out, "days", data);
    }
    resp_json(rs, 200, out);
    return 0;
}

/* ---- bookings ----------------------------------------------------------- */

/* Whether the user may book on channel (see the top of the file). */
static int channel_allowed(struct req *rq, const char *ch)
{
    if (strcmp(ch, "counter") == 0)
        return req_can(rq, "booking.staff");
    if (strcmp(ch, "callcenter") == 0)
        return req_can(rq, "booking.operator");
    if (strcmp(ch, "api") == 0)
        return ps_can_desk(rq);
    return 0;
}

/* override_deadline from the body: 0/1, or -1 after refusing it. */
static int body_override(struct req *rq, struct resp *rs, json_t *body)
{
    json_t *v = json_object_get(body, "override_deadline");
    if (v && !json_is_boolean(v)) {
        problem(rq, rs, 400, "pstaff.api.bad_field", "override_deadline");
        return -1;
    }
    int ov = v && json_is_true(v);
    if (ov && !req_can(rq, "booking.staff")) {
        ps_deny(rq, rs, "booking.override", "route", rq->path,
                "override_deadline");
        return -1;
    }
    return ov;
}

static int api_create(struct req *rq, struct resp *rs)
{
    if (!ps_require_desk(rq, rs))
        return 0;
    json_t *body = json_body(rq, rs);
    if (!body)
        return 0;
    int ov = body_override(rq, rs, body);
    if (ov < 0)
        goto out;
    json_t *sv = json_object_get(body, "slot_id");
    json_t *nv = json_object_get(body, "notices");
    const char *ch = json_string_value(json_object_get(body, "channel"));
    if (!json_is_integer(sv) || json_integer_value(sv) <= 0) {
        problem(rq, rs, 400, "pstaff.api.bad_field", "slot_id");
        goto out;
    }
    if (!json_is_array(nv) || json_array_size(nv) == 0 ||
        json_array_size(nv) > PICKUP_FAMILY_MAX) {
        problem(rq, rs, 400, "pstaff.api.bad_field", "notices");
        goto out;
    }
    if (!ch)
        ch = req_can(rq, "booking.staff") ? "counter" : "callcenter";
    if (!channel_allowed(rq, ch)) {
        ps_deny(rq, rs, "booking.channel", "route", rq->path, ch);
        goto out;
    }
    struct booking_slot slot;
    struct booking_resource r;
    if (booking_slot_get(rq->db, json_integer_value(sv), &slot) != BOOKING_OK ||
        booking_resource_get(rq->db, slot.resource_id, &r) != BOOKING_OK ||
        strcmp(r.kind, "pickup") != 0) {
        problem(rq, rs, 404, "pstaff.err.notfound", "slot_id");
        goto out;
    }
    char nos[PICKUP_FAMILY_MAX][PICKUP_NOTICE_MAX];
    char keys[PICKUP_FAMILY_MAX][BOOKING_KEY_MAX];
    struct booking_request req;
    memset(&req, 0, sizeof req);
    size_t i;
    json_t *x;
    json_array_foreach(nv, i, x)
    {
        const char *s = json_string_value(x);
        if (!s || pickup_notice_no_clean(s, nos[i]) != 0) {
            problem(rq, rs, 400, "pstaff.err.notice_format", s ? s : "");
            goto out;
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(nos[i], nos[j]) == 0) {
                problem(rq, rs, 400, "pstaff.api.notice_twice", nos[i]);
                goto out;
            }
        }
        struct pickup_notice pn;
        int rc = pickup_notice_get(rq->db, nos[i], &pn);
        if (rc == PICKUP_ENOTFOUND) {
            problem(rq, rs, 422, "pstaff.err.notice_unknown", nos[i]);
            goto out;
        }
        if (rc != PICKUP_OK) {
            problem(rq, rs, 500, NULL, NULL);
            goto out;
        }
        if (strcmp(pn.status, "mailed") != 0 &&
            strcmp(pn.status, "booked") != 0) {
            problem(rq, rs, 409, "pstaff.api.notice_final", nos[i]);
            goto out;
        }
        pickup_member_key(nos[i], keys[i], sizeof keys[i]);
        req.members[i] = keys[i];
    }
    req.slot_id = slot.id;
    req.party = (int)json_array_size(nv);
    req.channel = ch;
    req.override_deadline = ov;
    struct booking b;
    int rc = booking_create(rq->db, &rq->actor, &req, &b);
    if (rc != BOOKING_OK) {
        booking_problem(rq, rs, rc);
        goto out;
    }
    char loc[96];
    snprintf(loc, sizeof loc, "/api/v1/pickup/bookings/%s", b.ref);
    resp_header(rs, "Location", loc);
    resp_json(rs, 201, booking_json(rq, &b, &r));
out:
    json_decref(body);
    return 0;
}

/* The booking of {ref} on a pickup location; 404 otherwise. */
static int load(struct req *rq, struct resp *rs, struct booking *b,
                struct booking_resource *r)
{
    const char *ref = rq->params[0];
    if (!ref || strlen(ref) >= sizeof b->ref ||
        booking_get_by_ref(rq->db, ref, b) != BOOKING_OK ||
        booking_resource_get(rq->db, b->resource_id, r) != BOOKING_OK ||
        strcmp(r->kind, "pickup") != 0) {
        problem(rq, rs, 404, "pstaff.err.notfound", NULL);
        return -1;
    }
    return 0;
}

static int api_get(struct req *rq, struct resp *rs)
{
    if (!ps_require_desk(rq, rs))
        return 0;
    struct booking b;
    struct booking_resource r;
    if (load(rq, rs, &b, &r) != 0)
        return 0;
    if (admin_audit_read(rq, rs, "pickup.booking.read", "booking", b.ref,
                         NULL) != 0)
        return 0;
    json_t *o = booking_json(rq, &b, &r);
    json_t *h = NULL;
    if (booking_history(rq->db, b.id, &h) == BOOKING_OK && h)
        json_object_set_new(o, "history", h);
    resp_json(rs, 200, o);
    return 0;
}

static int api_move(struct req *rq, struct resp *rs)
{
    if (!ps_require_desk(rq, rs))
        return 0;
    struct booking b;
    struct booking_resource r;
    if (load(rq, rs, &b, &r) != 0)
        return 0;
    json_t *body = json_body(rq, rs);
    if (!body)
        return 0;
    int ov = body_override(rq, rs, body);
    if (ov < 0)
        goto out;
    json_t *sv = json_object_get(body, "slot_id");
    struct booking_slot slot;
    if (!json_is_integer(sv) ||
        booking_slot_get(rq->db, json_integer_value(sv), &slot) != BOOKING_OK ||
        slot.resource_id != b.resource_id) {
        problem(rq, rs, 422, "pstaff.api.bad_field", "slot_id");
        goto out;
    }
    struct booking nb;
    int rc = booking_move(rq->db, &rq->actor, b.id, slot.id, ov, &nb);
    if (rc != BOOKING_OK) {
        booking_problem(rq, rs, rc);
        goto out;
    }
    resp_json(rs, 200, booking_json(rq, &nb, &r));
out:
    json_decref(body);
    return 0;
}

static int api_cancel(struct req *rq, struct resp *rs)
{
    if (!ps_require_desk(rq, rs))
        return 0;
    struct booking b;
    struct booking_resource r;
    if (load(rq, rs, &b, &r) != 0)
        return 0;
    const char *s = req_param(rq, "override_deadline");
    int ov = s && (strcmp(s, "1") == 0 || strcmp(s, "true") == 0);
    if (ov && !req_can(rq, "booking.staff")) {
        ps_deny(rq, rs, "booking.override", "route", rq->path,
                "override_deadline");
        return 0;
    }
    int rc = booking_cancel(rq->db, &rq->actor, b.id, ov);
    if (rc != BOOKING_OK) {
        booking_problem(rq, rs, rc);
        return 0;
    }
    rs->status = 204;
    buf_reset(&rs->body);
    str_copy(rs->content_type, "text/plain", sizeof rs->content_type);
    return 0;
}

/* ---- notices ------------------------------------------------------------ */

static int api_notice(struct req *rq, struct resp *rs)
{
    if (!ps_require_desk(rq, rs))
        return 0;
    int ok =
        pickup_search_allowed(rq->db, rq->actor.role, PICKUP_KEY_NOTICE_NO);
    if (ok < 0) {
        problem(rq, rs, 500, NULL, NULL);
        return 0;
    }
    if (!ok) {
        ps_deny(rq, rs, "pickup.search", "notice", "*",
                "{\"keys\":\"notice_no\"}");
        return 0;
    }
    char no[PICKUP_NOTICE_MAX];
    struct pickup_notice n;
    if (pickup_notice_no_clean(rq->params[0], no) != 0 ||
        pickup_notice_get(rq->db, no, &n) != PICKUP_OK) {
        problem(rq, rs, 404, "pstaff.err.notice_unknown", NULL);
        return 0;
    }
    if (admin_audit_read(rq, rs, "pickup.notice.read", "notice", n.notice_no,
                         NULL) != 0)
        return 0;
    json_t *o = json_object();
    json_object_set_new(o, "notice_no", json_string(n.notice_no));
    json_object_set_new(o, "status", json_string(n.status));
    json_object_set_new(o, "status_label",
                        json_string(ps_status_label(rq->lang, n.status)));
    json_object_set_new(o, "card_ready", json_boolean(n.storage_box[0] != 0));
    struct booking b;
    struct booking_resource r;
    if (n.booking_id && booking_get(rq->db, n.booking_id, &b) == BOOKING_OK &&
        booking_resource_get(rq->db, b.resource_id, &r) == BOOKING_OK) {
        json_t *bo = json_object();
        char a[6];
        json_object_set_new(bo, "ref", json_string(b.ref));
        json_object_set_new(bo, "date", json_string(b.date));
        ps_hhmm(b.start_min, a);
        json_object_set_new(bo, "start", json_string(a));
        json_object_set_new(bo, "location", json_string(r.name));
        json_object_set_new(o, "booking", bo);
    } else {
        json_object_set_new(o, "booking", json_null());
    }
    resp_json(rs, 200, o);
    return 0;
}

static const struct route api_routes[] = {
    {"GET", "/api/v1/pickup/locations", api_locations, NULL, 0},
    {"GET", "/api/v1/pickup/availability", api_availability, NULL, 0},
    {"POST", "/api/v1/pickup/bookings", api_create, NULL, 0},
    {"GET", "/api/v1/pickup/bookings/:ref", api_get, NULL, 0},
    {"PATCH", "/api/v1/pickup/bookings/:ref", api_move, NULL, 0},
    {"DELETE", "/api/v1/pickup/bookings/:ref", api_cancel, NULL, 0},
    {"GET", "/api/v1/pickup/notices/:no", api_notice, NULL, 0},
};

void ps_api_register(void)
{
    router_add(api_routes, ARRAY_LEN(api_routes));
}
