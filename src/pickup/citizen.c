/*
** citizen.c - the citizens' pages of the My Number Card pickup service
** (RSV-1, RSV-5, RSV-6, RSV-7): the start page, sign-in with the notice
** ID and the birth month and day, adding family members to the same
** sign-in, "my booking" (view, then change or cancel until the deadline;
** after it, the number to call), cancellation with its confirmation, and
** the page shown when a booking is done.  The booking steps themselves
** (location, calendar, time, confirmation) are in cbook.c.
**
** Every route is ROUTE_PUBLIC for the core router, so the staff session
** check never applies; each handler checks the citizen's own session
** (citizen.h).  Pages are made for phones first and work without
** JavaScript; each says what will happen, and each error is a Japanese
** message with nothing changed.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "booking/booking.h"
#include "core/app.h"
#include "core/db.h"
#include "core/jpdate.h"
#include "core/tmpl.h"
#include "core/util.h"
#include "pickup/citizen.h"

/* ---- what every page shares -------------------------------------------- */

const char *cz_t(const struct cz *z, const char *key)
{
    return i18n_get(z->rq->lang, key);
}

void cz_date(const struct cz *z, const char *ymd, char *out, size_t n)
{
    if (jpdate_format_lang(z->rq->lang, ymd, 1, out, n) != 0)
        str_copy(out, ymd, n);
}

int cz_begin(struct req *rq, struct resp *rs, struct cz *z, int require)
{
    memset(z, 0, sizeof *z);
    z->rq = rq;
    z->rs = rs;
    z->who = rq->actor;
    z->who.role = "citizen";
    int rc = psession_load(rq, &z->ps);
    if (rc < 0) {
        cz_error(z, 503, "pickup.err.busy");
        return -1;
    }
    z->signed_in = rc == 1;
    for (int i = 0; z->signed_in && i < z->ps.n; i++) {
        int r = pickup_notice_get_id(rq->db, z->ps.notice_ids[i],
                                     &z->members[z->n]);
        if (r == PICKUP_OK)
            z->n++;
        else if (r != PICKUP_ENOTFOUND) {
            cz_error(z, 503, "pickup.err.busy");
            return -1;
        }
    }
    if (z->signed_in && z->n == 0)
        z->signed_in = 0; /* every notice deleted meanwhile */
    if (require && !z->signed_in) {
        resp_redirect(rs, "/pickup/login?done=pickup_expired");
        return 1;
    }
    return 0;
}

static json_t *member_json(const struct cz *z, const struct pickup_notice *n,
                           int first)
{
    char disp[24];
    pickup_notice_no_format(n->notice_no, disp, sizeof disp);
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer(n->id));
    json_object_set_new(o, "no_display", json_string(disp));
    json_object_set_new(o, "status", json_string(n->status));
    json_object_set_new(o, "status_label",
                        json_string(cz_t(z, pickup_status_key(n->status))));
    json_object_set_new(o, "has_booking", json_boolean(n->booking_id != 0));
    /* Colour is never the only sign: the label says the same. */
    const char *badge = "neutral";
    if (strcmp(n->status, "booked") == 0)
        badge = "success";
    else if (strcmp(n->status, "mailed") == 0)
        badge = "info";
    else if (strcmp(n->status, "held") == 0 ||
             strcmp(n->status, "returned") == 0)
        badge = "warning";
    json_object_set_new(o, "badge", json_string(badge));
    if (strcmp(n->status, "mailed") != 0 && strcmp(n->status, "booked") != 0) {
        char key[64];
        snprintf(key, sizeof key, "pickup.member_note.%s", n->status);
        json_object_set_new(o, "note", json_string(cz_t(z, key)));
    }
    json_object_set_new(o, "first", json_boolean(first));
    return o;
}

json_t *cz_ctx(struct cz *z)
{
    json_t *ctx = json_object();
    if (!z->rq->sess) {
        /* The core checks POSTs of pages without a staff session against
        ** the __Host-csrf cookie (double submit): make sure there is one. */
        const char *pre = kv_get(&z->rq->cookies, "__Host-csrf");
        if (pre) {
            json_object_set_new(ctx, "csrf", json_string(pre));
        } else {
            char *fresh = random_token(32);
            resp_cookie(z->rs, "__Host-csrf", fresh, -1);
            json_object_set_new(ctx, "csrf", json_string(fresh));
            free(fresh);
        }
    }
    json_object_set_new(ctx, "signed_in", json_boolean(z->signed_in));
    if (z->signed_in) {
        json_object_set_new(ctx, "pcsrf", json_string(z->ps.csrf));
        json_t *members = json_array();
        for (int i = 0; i < z->n; i++)
            json_array_append_new(members,
                                  member_json(z, &z->members[i], i == 0));
        json_object_set_new(ctx, "members", members);
        json_object_set_new(ctx, "nmembers", json_integer(z->n));
        json_object_set_new(ctx, "family_more", json_boolean(z->n > 1));
        json_object_set_new(ctx, "can_add",
                            json_boolean(z->ps.n < PICKUP_FAMILY_MAX));
    }
    json_object_set_new(ctx, "contact",
                        json_string(pickup_contact_text(z->rq->lang)));
    return ctx;
}

void cz_page(struct cz *z, int status, const char *tmpl, const char *title,
             json_t *ctx)
{
    char name[64];
    snprintf(name, sizeof name, "pickup/%s", tmpl);
    resp_page(z->rq, z->rs, status, name, title, ctx);
}

void cz_error(struct cz *z, int status, const char *key)
{
    json_t *ctx = cz_ctx(z);
    json_object_set_new(ctx, "error", json_string(cz_t(z, key)));
    cz_page(z, status, "problem", "pickup.title.problem", ctx);
}

int cz_post_ok(struct cz *z)
{
    const char *tok = req_param(z->rq, "pcsrf");
    return z->signed_in && tok && z->ps.csrf[0] && str_ct_eq(tok, z->ps.csrf);
}

const struct pickup_notice *cz_member(const struct cz *z, int64_t id)
{
    for (int i = 0; i < z->n; i++)
        if (z->members[i].id == id)
            return &z->members[i];
    return NULL;
}

int cz_holds(const struct cz *z, const struct booking *b)
{
    for (int i = 0; i < z->n; i++) {
        char key[BOOKING_KEY_MAX];
        pickup_member_key(z->members[i].notice_no, key, sizeof key);
        for (int j = 0; j < b->nmembers; j++)
            if (strcmp(b->members[j], key) == 0)
                return 1;
    }
    return 0;
}

int cz_bookable(const struct cz *z, char keys[][BOOKING_KEY_MAX])
{
    int n = 0;
    for (int i = 0; i < z->n; i++) {
        const struct pickup_notice *m = &z->members[i];
        if (m->booking_id || (strcmp(m->status, "mailed") != 0 &&
                              strcmp(m->status, "booked") != 0))
            continue;
        pickup_member_key(m->notice_no, keys[n++], BOOKING_KEY_MAX);
    }
    return n;
}

/* A positive id from a parameter, or 0. */
int64_t cz_param_id(struct req *rq, const char *name)
{
    const char *v = req_param(rq, name);
    if (!v || !v[0] || strlen(v) > 18)
        return 0;
    char *end;
    long long n = strtoll(v, &end, 10);
    return *end == 0 && n > 0 ? n : 0;
}

/* ---- start, sign-in, sign-out ----------------------------------------- */

static int get_start(struct req *rq, struct resp *rs)
{
    struct cz z;
    if (cz_begin(rq, rs, &z, 0) != 0)
        return 0;
    if (z.signed_in) {
        resp_redirect(rs, "/pickup/mine");
        return 0;
    }
    cz_page(&z, 200, "start", "pickup.title.start", cz_ctx(&z));
    return 0;
}

/* The sign-in form; for adding a family member too (family set). */
static void login_form(struct cz *z, int status, int family,
                       const char *error_key)
{
    json_t *ctx = cz_ctx(z);
    if (error_key)
        json_object_set_new(ctx, "error", json_string(cz_t(z, error_key)));
    const char *no = req_param(z->rq, "notice_no");
    if (no && strlen(no) <= 40 && error_key)
        json_object_set_new(ctx, "notice_no", json_string(no));
    json_object_set_new(ctx, "family", json_boolean(family));
    json_object_set_new(
        ctx, "action",
        json_string(family ? "/pickup/family" : "/pickup/login"));
    json_object_set_new(ctx, "lock_after", json_integer(PICKUP_LOCK_AFTER));
    cz_page(z, status, family ? "family" : "login",
            family ? "pickup.title.family" : "pickup.title.login", ctx);
}

static int get_login(struct req *rq, struct resp *rs)
{
    struct cz z;
    if (cz_begin(rq, rs, &z, 0) != 0)
        return 0;
    login_form(&z, 200, 0, NULL);
    return 0;
}

/* Checks the form's two fields and the pair; on success *n is the
** notice.  Returns 0, or the HTTP status with *err the message key. */
static int check_pair(struct cz *z, struct pickup_notice *n, const char **err)
{
    const char *no = req_param(z->rq, "notice_no");
    const char *md = req_param(z->rq, "mmdd");
    char digits[PICKUP_NOTICE_MAX], mmdd[5];
    if (!no || !md || !no[0] || !md[0]) {
        *err = "pickup.err.missing";
        return 400;
    }
    /* Format errors say nothing about which numbers exist. */
    if (pickup_notice_no_clean(no, digits) != 0) {
        *err = "pickup.err.format_no";
        return 400;
    }
    if (pickup_mmdd_clean(md, mmdd) != 0) {
        *err = "pickup.err.format_mmdd";
        return 400;
    }
    int rc = pickup_authenticate(z->rq->db, &z->who, digits, mmdd, n);
    switch (rc) {
    case PICKUP_OK:
        return 0;
    case PICKUP_EAUTH:
        *err = "pickup.err.auth";
        return 401;
    case PICKUP_ELOCKED:
        *err = "pickup.err.locked";
        return 403;
    case PICKUP_ETHROTTLED:
        *err = "pickup.err.throttled";
        return 429;
    default:
        *err = rc == PICKUP_EAUDIT ? "error.audit" : "pickup.err.busy";
        return 503;
    }
}

static int post_login(struct req *rq, struct resp *rs)
{
    struct cz z;
    if (cz_begin(rq, rs, &z, 0) != 0)
        return 0;
    struct pickup_notice n;
    const char *err = NULL;
    int status = check_pair(&z, &n, &err);
    if (status) {
        login_form(&z, status, 0, err);
        return 0;
    }
    /* A new sign-in replaces whatever session this browser had: one
    ** person, a new token. */
    struct pickup_session ps;
    if (psession_start(rq, rs, NULL, n.id, &ps) != 0) {
        cz_error(&z, 503, "pickup.err.busy");
        return 0;
    }
    if (z.signed_in)
        db_run(rq->db, "DELETE FROM pickup_sessions WHERE id = ?", "s",
               z.ps.id);
    resp_redirect(rs, "/pickup/mine");
    return 0;
}

static int post_logout(struct req *rq, struct resp *rs)
{
    struct cz z;
    if (cz_begin(rq, rs, &z, 0) != 0)
        return 0;
    if (z.signed_in && !cz_post_ok(&z)) {
        cz_error(&z, 403, "error.csrf");
        return 0;
    }
    psession_end(rq, rs, z.signed_in ? &z.ps : NULL);
    resp_redirect(rs, "/pickup/login?done=pickup_signed_out");
    return 0;
}

/* ---- family ----------------------------------------------------------- */

static int get_family(struct req *rq, struct resp *rs)
{
    struct cz z;
    if (cz_begin(rq, rs, &z, 1) != 0)
        return 0;
    login_form(&z, 200, 1,
               z.ps.n >= PICKUP_FAMILY_MAX ? "pickup.err.family_full" : NULL);
    return 0;
}

static int post_family(struct req *rq, struct resp *rs)
{
    struct cz z;
    if (cz_begin(rq, rs, &z, 1) != 0)
        return 0;
    if (!cz_post_ok(&z)) {
        cz_error(&z, 403, "error.csrf");
        return 0;
    }
    if (z.ps.n >= PICKUP_FAMILY_MAX) {
        login_form(&z, 400, 1, "pickup.err.family_full");
        return 0;
    }
    struct pickup_notice n;
    const char *err = NULL;
    int status = check_pair(&z, &n, &err);
    if (status) {
        login_form(&z, status, 1, err);
        return 0;
    }
    struct pickup_session ps;
    if (psession_start(rq, rs, &z.ps, n.id, &ps) != 0) {
        cz_error(&z, 503, "pickup.err.busy");
        return 0;
    }
    resp_redirect(rs, "/pickup/mine?done=pickup_member_added");
    return 0;
}

static int post_family_remove(struct req *rq, struct resp *rs)
{
    struct cz z;
    if (cz_begin(rq, rs, &z, 1) != 0)
        return 0;
    if (!cz_post_ok(&z)) {
        cz_error(&z, 403, "error.csrf");
        return 0;
    }
    int64_t id = cz_param_id(rq, "id");
    if (!cz_member(&z, id) || psession_drop(rq, &z.ps, id) != 0) {
        cz_error(&z, 400, "pickup.err.invalid");
        return 0;
    }
    resp_redirect(rs, "/pickup/mine?done=pickup_member_removed");
    return 0;
}

/* ---- my booking --------------------------------------------------------- */

/* The booking as the pages show it: place, date, time, members, and
** whether the citizen may still change or cancel it. */
json_t *cz_booking_json(struct cz *z, const struct booking *b)
{
    struct booking_resource r;
    struct booking_slot s;
    memset(&r, 0, sizeof r);
    booking_resource_get(z->rq->db, b->resource_id, &r);
    int open = b->slot_id &&
               booking_slot_get(z->rq->db, b->slot_id, &s) == BOOKING_OK &&
               booking_slot_open(&r, &s, now_unix());
    char date[64], time[48];
    cz_date(z, b->date, date, sizeof date);
    jpdate_time_range(z->rq->lang, b->start_min, b->start_min + b->len_min,
                      time, sizeof time);
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer(b->id));
    json_object_set_new(o, "ref", json_string(b->ref));
    json_object_set_new(o, "date", json_string(date));
    json_object_set_new(o, "time", json_string(time));
    json_object_set_new(o, "place", json_string(r.name));
    json_object_set_new(o, "address", json_string(r.address));
    json_object_set_new(o, "note", json_string(r.note));
    json_object_set_new(o, "party", json_integer(b->party));
    json_object_set_new(o, "resource_id", json_integer(b->resource_id));
    json_object_set_new(o, "can_change", json_boolean(open));
    char deadline[96] = "";
    char day[11];
    if (r.deadline_days > 0 &&
        booking_date_add(b->date, -r.deadline_days, day) == 0) {
        char d[64];
        cz_date(z, day, d, sizeof d);
        snprintf(deadline, sizeof deadline, "%s", d);
    }
    json_object_set_new(o, "deadline", json_string(deadline));
    json_t *members = json_array();
    struct buf text;
    buf_init(&text);
    for (int i = 0; i < b->nmembers; i++) {
        const char *no = str_starts(b->members[i], "notice:")
                             ? b->members[i] + strlen("notice:")
                             : b->members[i];
        char disp[24];
        pickup_notice_no_format(no, disp, sizeof disp);
        json_array_append_new(members, json_string(disp));
        buf_printf(&text, "%s%s", i ? cz_t(z, "pickup.sum.sep") : "", disp);
    }
    json_object_set_new(o, "members", members);
    json_object_set_new(o, "members_text",
                        json_string(text.data ? text.data : ""));
    buf_free(&text);
    return o;
}

static int get_mine(struct req *rq, struct resp *rs)
{
    struct cz z;
    if (cz_begin(rq, rs, &z, 1) != 0)
        return 0;
    json_t *ctx = cz_ctx(&z);
    json_t *bookings = json_array();
    int64_t seen[PICKUP_FAMILY_MAX];
    int nseen = 0;
    for (int i = 0; i < z.n; i++) {
        int64_t id = z.members[i].booking_id;
        int dup = 0;
        for (int j = 0; j < nseen; j++)
            dup |= seen[j] == id;
        struct booking b;
        if (!id || dup || booking_get(rq->db, id, &b) != BOOKING_OK)
            continue;
        seen[nseen++] = id;
        json_array_append_new(bookings, cz_booking_json(&z, &b));
    }
    json_object_set_new(ctx, "bookings", bookings);
    char keys[PICKUP_FAMILY_MAX][BOOKING_KEY_MAX];
    int nb = cz_bookable(&z, keys);
    json_object_set_new(ctx, "bookable", json_integer(nb));
    json_object_set_new(ctx, "can_book", json_boolean(nb > 0));
    cz_page(&z, 200, "mine", "pickup.title.mine", ctx);
    return 0;
}

/* The booking named by parameter "b" when one of the members holds it
** and it is active; else answers with an error and returns -1. */
int cz_own_booking(struct cz *z, struct booking *b)
{
    int64_t id = cz_param_id(z->rq, "b");
    if (!id || booking_get(z->rq->db, id, b) != BOOKING_OK || !cz_holds(z, b)) {
        cz_error(z, 404, "pickup.err.no_booking");
        return -1;
    }
    if (strcmp(b->status, "active") != 0) {
        cz_error(z, 409, "pickup.err.not_active");
        return -1;
    }
    return 0;
}

/* ---- cancel ------------------------------------------------------------- */

static void cancel_page(struct cz *z, int status, const struct booking *b,
                        const char *error_key)
{
    json_t *ctx = cz_ctx(z);
    json_object_set_new(ctx, "booking", cz_booking_json(z, b));
    if (error_key)
        json_object_set_new(ctx, "error", json_string(cz_t(z, error_key)));
    cz_page(z, status, "cancel", "pickup.title.cancel", ctx);
}

static int get_cancel(struct req *rq, struct resp *rs)
{
    struct cz z;
    struct booking b;
    if (cz_begin(rq, rs, &z, 1) != 0 || cz_own_booking(&z, &b) != 0)
        return 0;
    cancel_page(&z, 200, &b, NULL);
    return 0;
}

static int post_cancel(struct req *rq, struct resp *rs)
{
    struct cz z;
    struct booking b;
    if (cz_begin(rq, rs, &z, 1) != 0)
        return 0;
    if (!cz_post_ok(&z)) {
        cz_error(&z, 403, "error.csrf");
        return 0;
    }
    if (cz_own_booking(&z, &b) != 0)
        return 0;
    int rc = booking_cancel(rq->db, &z.who, b.id, 0);
    if (rc != BOOKING_OK) {
        cancel_page(&z, rc == BOOKING_ECLOSED ? 409 : 503, &b,
                    rc == BOOKING_ECLOSED ? "pickup.err.deadline"
                                          : pickup_booking_error_key(rc));
        return 0;
    }
    resp_redirect(rs, "/pickup/mine?done=pickup_cancelled");
    return 0;
}

/* ---- done ------------------------------------------------------------- */

static int get_done(struct req *rq, struct resp *rs)
{
    struct cz z;
    struct booking b;
    if (cz_begin(rq, rs, &z, 1) != 0 || cz_own_booking(&z, &b) != 0)
        return 0;
    json_t *ctx = cz_ctx(&z);
    json_object_set_new(ctx, "booking", cz_booking_json(&z, &b));
    const char *kind = req_param(rq, "kind");
    int changed = kind && strcmp(kind, "change") == 0;
    json_object_set_new(ctx, "changed", json_boolean(changed));
    int mailed = 0;
    for (int i = 0; i < z.n; i++)
        if (z.members[i].booking_id == b.id && z.members[i].email[0])
            mailed = 1;
    json_object_set_new(ctx, "mailed", json_boolean(mailed));
    cz_page(&z, 200, "done",
            changed ? "pickup.title.changed" : "pickup.title.done", ctx);
    return 0;
}

static const struct route citizen_routes[] = {
    {"GET", "/pickup", get_start, NULL, ROUTE_PUBLIC},
    {"GET", "/pickup/login", get_login, NULL, ROUTE_PUBLIC},
    {"POST", "/pickup/login", post_login, NULL, ROUTE_PUBLIC},
    {"POST", "/pickup/logout", post_logout, NULL, ROUTE_PUBLIC},
    {"GET", "/pickup/family", get_family, NULL, ROUTE_PUBLIC},
    {"POST", "/pickup/family", post_family, NULL, ROUTE_PUBLIC},
    {"POST", "/pickup/family/remove", post_family_remove, NULL, ROUTE_PUBLIC},
    {"GET", "/pickup/mine", get_mine, NULL, ROUTE_PUBLIC},
    {"GET", "/pickup/cancel", get_cancel, NULL, ROUTE_PUBLIC},
    {"POST", "/pickup/cancel", post_cancel, NULL, ROUTE_PUBLIC},
    {"GET", "/pickup/done", get_done, NULL, ROUTE_PUBLIC},
};

void citizen_register(void)
{
    router_add(citizen_routes, ARRAY_LEN(citizen_routes));
    cbook_register();
}
