/*
** staff_book.c - booking, moving and cancelling a pickup on a citizen's
** behalf (RSV-8; seed 004 第2章3(3)キ "発注者の職員により交付予約の登録
** を行うことができること", 2(3)カ the call center): the member of staff
** or the operator enters the notice number and those of the family, after
** checking the caller's identity, and books one slot for all of them.
**
** The rules are the citizens' (booking.h, pickup.h): places are never
** exceeded, a notice holds one active booking, a card issued, returned or
** discarded is never booked.  Citizen-services staff (booking.staff) may
** book, move or cancel after the citizens' deadline; the engine records
** that in the audit log.  Operators (booking.operator) may not.  The
** channel is "callcenter" for operators and "counter" for staff; who did
** what is in the booking's history (booking_history) and the audit log.
**
** Pages:
**   GET  /staff/pickup/book                 form (location, day, slots)
**   POST /staff/pickup/book                 book
**   GET  /staff/pickup/bookings/:ref        the booking, its history,
**                                           forms to move, cancel, mark
**   POST /staff/pickup/bookings/:ref/move   slot_id, override_deadline
**   POST /staff/pickup/bookings/:ref/cancel override_deadline
**   POST /staff/pickup/bookings/:ref/mark   status: visited | noshow
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/admin.h"
#include "core/app.h"
#include "core/audit.h"
#include "core/db.h"
#include "core/mail.h"
#include "core/parse.h"
#include "core/tmpl.h"
#include "pickup/staff_int.h"

#define FAMILY_FIELDS (PICKUP_FAMILY_MAX - 1)

/* ---- slots to choose from ----------------------------------------------- */

/* The slots of r on date as radio buttons: full and past ones disabled;
** ones a citizen can no longer book (deadline, window) enabled only for
** staff, marked "late".  exclude: the booking's own slot when moving. */
static json_t *slot_choices(struct req *rq, const struct booking_resource *r,
                            const char *date, int64_t exclude, int allow_late,
                            int64_t selected)
{
    json_t *a = json_array();
    struct db_stmt *st = db_queryf(
        rq->db,
        "SELECT id, resource_id, date, start_min, len_min, capacity, booked "
        "FROM booking_slots WHERE resource_id = ? AND date = ? "
        "ORDER BY start_min",
        "is", r->id, date);
    if (!st)
        return a;
    int64_t now = now_unix();
    while (db_step(st) == DB_ROW) {
        struct booking_slot s;
        memset(&s, 0, sizeof s);
        s.id = db_col_int(st, 0);
        s.resource_id = db_col_int(st, 1);
        str_copy(s.date, date, sizeof s.date);
        s.start_min = (int)db_col_int(st, 3);
        s.len_min = (int)db_col_int(st, 4);
        s.capacity = (int)db_col_int(st, 5);
        s.booked = (int)db_col_int(st, 6);
        if (s.id == exclude)
            continue;
        int left = s.capacity - s.booked;
        int past = booking_time_of(date, s.start_min) <= now;
        int open = booking_slot_open(r, &s, now);
        int late = !open && !past;
        json_t *o = json_object();
        char a1[6], a2[6], t[16], lt[64];
        ps_hhmm(s.start_min, a1);
        ps_hhmm(s.start_min + s.len_min, a2);
        snprintf(t, sizeof t, "%s〜%s", a1, a2);
        json_object_set_new(o, "id", json_integer(s.id));
        json_object_set_new(o, "time", json_string(t));
        json_object_set_new(o, "left", json_integer(left));
        char n[16];
        snprintf(n, sizeof n, "%d", left);
        const char *names[] = {"n"};
        const char *values[] = {n};
        char *ls = admin_msg(rq->lang,
                             left > 0 ? "pstaff.book.left" : "pstaff.book.full",
                             names, values, 1);
        str_copy(lt, ls, sizeof lt);
        free(ls);
        json_object_set_new(o, "left_text", json_string(lt));
        if (left <= 0 || past || (late && !allow_late))
            json_object_set_new(o, "disabled", json_true());
        if (late && !past)
            json_object_set_new(o, "late", json_true());
        if (past)
            json_object_set_new(o, "past", json_true());
        if (s.id == selected)
            json_object_set_new(o, "checked", json_true());
        json_array_append_new(a, o);
    }
    db_finalize(st);
    return a;
}

/* The channel a booking made by this user gets: "counter" for staff,
** "callcenter" for operators; a user with both chooses (channel). */
static const char *user_channel(struct req *rq, const char *asked)
{
    int staff = req_can(rq, "booking.staff");
    int op = req_can(rq, "booking.operator");
    if (staff && op && asked &&
        (strcmp(asked, "callcenter") == 0 || strcmp(asked, "counter") == 0))
        return strcmp(asked, "callcenter") == 0 ? "callcenter" : "counter";
    return staff ? "counter" : "callcenter";
}

/* ---- the booking form --------------------------------------------------- */

struct book_form {
    char notice_no[64];
    char family[FAMILY_FIELDS][64];
    char email[256];
    char channel[16];
    int64_t slot_id;
    int override_deadline;
    int identity_checked;
};

static void book_form_read(struct req *rq, struct book_form *f)
{
    memset(f, 0, sizeof *f);
    admin_text(req_param(rq, "notice_no"), 40, f->notice_no,
               sizeof f->notice_no);
    size_t k = 0;
    for (size_t i = 0; i < rq->form.n && k < FAMILY_FIELDS; i++)
        if (strcmp(rq->form.items[i].key, "family") == 0)
            admin_text(rq->form.items[i].val, 40, f->family[k++],
                       sizeof f->family[0]);
    admin_text(req_param(rq, "email"), 254, f->email, sizeof f->email);
    admin_text(req_param(rq, "channel"), 15, f->channel, sizeof f->channel);
    const char *s = req_param(rq, "slot_id");
    if (s && admin_parse_id(s, &f->slot_id) != 0)
        f->slot_id = 0;
    s = req_param(rq, "override_deadline");
    f->override_deadline = s && strcmp(s, "1") == 0;
    s = req_param(rq, "identity_checked");
    f->identity_checked = s && strcmp(s, "1") == 0;
}

/* The form's fields and the context of the booking page. */
static json_t *book_context(struct req *rq, const struct booking_resource *r,
                            const char *date, const struct book_form *f)
{
    json_t *ctx = ps_context(rq, "/staff/pickup/book");
    int64_t loc = r ? r->id : 0;
    json_t *opts = ps_location_options(rq, 0, &loc);
    json_t *filter = json_object();
    json_t *x =
        ps_field(rq, "location", "pstaff.field.location", "", NULL, 0, 0, NULL);
    json_object_set_new(x, "select", json_true());
    json_object_set_new(x, "options", opts ? opts : json_array());
    json_object_set_new(filter, "location", x);
    json_object_set_new(
        filter, "date",
        ps_field(rq, "date", "pstaff.field.date", date, "date", 10, 0, NULL));
    json_object_set_new(ctx, "filter", filter);

    json_t *form = json_object();
    x = ps_field(rq, "notice_no", "pstaff.book.notice_no", f->notice_no, NULL,
                 20, 1, "pstaff.book.notice_hint");
    json_object_set_new(x, "inputmode", json_string("numeric"));
    json_object_set_new(x, "autocomplete", json_string("off"));
    json_object_set_new(form, "notice_no", x);
    json_t *fam = json_array();
    for (int i = 0; i < FAMILY_FIELDS; i++) {
        char id[24], n[16];
        snprintf(id, sizeof id, "family-%d", i + 1);
        snprintf(n, sizeof n, "%d", i + 1);
        json_t *o = json_object();
        json_object_set_new(o, "id", json_string(id));
        json_object_set_new(o, "name", json_string("family"));
        const char *names[] = {"n"};
        const char *values[] = {n};
        char *label =
            admin_msg(rq->lang, "pstaff.book.family_n", names, values, 1);
        json_object_set_new(o, "label", json_string(label));
        free(label);
        json_object_set_new(o, "value", json_string(f->family[i]));
        json_object_set_new(o, "inputmode", json_string("numeric"));
        json_object_set_new(o, "autocomplete", json_string("off"));
        json_object_set_new(o, "maxlength", json_integer(20));
        json_array_append_new(fam, o);
    }
    json_object_set_new(ctx, "family", fam);
    x = ps_field(rq, "email", "pstaff.book.email", f->email, "email", 254, 0,
                 "pstaff.book.email_hint");
    json_object_set_new(x, "autocomplete", json_string("off"));
    json_object_set_new(form, "email", x);
    if (req_can(rq, "booking.staff") && req_can(rq, "booking.operator")) {
        x = ps_field(rq, "channel", "pstaff.book.channel", "", NULL, 0, 1,
                     NULL);
        const char *values[] = {"counter", "callcenter"};
        const char *keys[] = {"pstaff.channel.counter",
                              "pstaff.channel.callcenter"};
        ps_field_select(rq, x, values, keys, 2,
                        f->channel[0] ? f->channel : "counter");
        json_object_set_new(form, "channel", x);
    } else {
        json_object_set_new(
            ctx, "channel_label",
            json_string(ps_channel_label(rq->lang, user_channel(rq, NULL))));
    }
    if (req_can(rq, "booking.staff")) {
        x = admin_field(rq, "override_deadline", "pstaff.book.override", "1", 0,
                        0);
        json_object_set_new(
            x, "hint",
            json_string(i18n_get(rq->lang, "pstaff.book.override_hint")));
        if (f->override_deadline)
            json_object_set_new(x, "checked", json_true());
        json_object_set_new(form, "override_deadline", x);
    }
    x = admin_field(rq, "identity_checked", "pstaff.book.identity", "1", 0, 0);
    json_object_set_new(
        x, "hint",
        json_string(i18n_get(rq->lang, "pstaff.book.identity_hint")));
    if (f->identity_checked)
        json_object_set_new(x, "checked", json_true());
    json_object_set_new(form, "identity_checked", x);
    json_object_set_new(ctx, "form", form);
    if (r) {
        char day[64];
        ps_date_label(rq->lang, date, 1, day, sizeof day);
        json_object_set_new(ctx, "day_label", json_string(day));
        json_object_set_new(ctx, "location_name", json_string(r->name));
        json_object_set_new(ctx, "location_id", json_integer(r->id));
        json_object_set_new(ctx, "date", json_string(date));
        json_object_set_new(ctx, "max_party", json_integer(r->max_party));
        json_object_set_new(ctx, "slots",
                            slot_choices(rq, r, date, 0,
                                         req_can(rq, "booking.staff"),
                                         f->slot_id));
    }
    return ctx;
}

static void book_page(struct req *rq, struct resp *rs, int status, json_t *ctx,
                      json_t *errors)
{
    if (!errors)
        errors = json_array();
    /* The slots are radio buttons in a fieldset, not a field object: its
    ** error is shown on the fieldset. */
    size_t i;
    json_t *e;
    json_array_foreach(errors, i, e)
    {
        const char *id = json_string_value(json_object_get(e, "id"));
        if (id && strcmp(id, "slot_id") == 0 &&
            !json_object_get(ctx, "slot_error"))
            json_object_set(ctx, "slot_error", json_object_get(e, "text"));
    }
    json_object_set_new(ctx, "errors", errors);
    resp_page(rq, rs, status, "pickup/staff_book", "pstaff.book.title", ctx);
}

static int get_book(struct req *rq, struct resp *rs)
{
    if (!ps_require_desk(rq, rs))
        return 0;
    char date[11];
    int bad = ps_date_param(rq, "date", date) != 0;
    struct booking_resource r;
    int rc = ps_location_param(rq, &r);
    if (rc != BOOKING_OK && rc != BOOKING_ENOTFOUND) {
        resp_error(rq, rs, 500, NULL, NULL);
        return 0;
    }
    struct book_form f;
    memset(&f, 0, sizeof f);
    const char *no = req_param(rq, "notice_no");
    admin_text(no, 40, f.notice_no, sizeof f.notice_no);
    json_t *ctx = book_context(rq, rc == BOOKING_OK ? &r : NULL, date, &f);
    json_t *errors = json_array();
    if (bad)
        admin_field_error(rq, json_object_get(ctx, "filter"), errors, "date",
                          "pstaff.err.date");
    if (rc == BOOKING_ENOTFOUND)
        json_object_set_new(ctx, "no_locations", json_true());
    book_page(rq, rs, 200, ctx, errors);
    return 0;
}

/* Adds an error for field (an id) with a message built from key and the
** notice number. */
static void notice_error(struct req *rq, json_t *form, json_t *errors,
                         const char *field, const char *key, const char *no)
{
    char label[32];
    pickup_notice_no_format(no, label, sizeof label);
    const char *names[] = {"no"};
    const char *values[] = {label};
    char *t = admin_msg(rq->lang, key, names, values, 1);
    admin_field_error_text(form, errors, field, t);
    free(t);
}

/* Marks a family input (not in the form object) as wrong. */
static void family_error(json_t *ctx, int i, const char *text)
{
    json_t *fam = json_object_get(ctx, "family");
    json_t *o = json_array_get(fam, (size_t)i);
    if (o && !json_object_get(o, "error"))
        json_object_set_new(o, "error", json_string(text));
}

/* Checks one typed number; adds it to nos[] when it can be booked. */
static int check_notice(struct req *rq, json_t *ctx, json_t *errors,
                        const char *field, int family_idx, const char *typed,
                        char nos[][PICKUP_NOTICE_MAX], int *n)
{
    json_t *form = json_object_get(ctx, "form");
    char no[PICKUP_NOTICE_MAX];
    size_t before = json_array_size(errors);
    if (pickup_notice_no_clean(typed, no) != 0) {
        admin_field_error(rq, form, errors, field, "pstaff.err.notice_format");
        goto out;
    }
    for (int i = 0; i < *n; i++) {
        if (strcmp(nos[i], no) == 0) {
            notice_error(rq, form, errors, field, "pstaff.err.notice_twice",
                         no);
            goto out;
        }
    }
    struct pickup_notice pn;
    int rc = pickup_notice_get(rq->db, no, &pn);
    if (rc == PICKUP_ENOTFOUND) {
        notice_error(rq, form, errors, field, "pstaff.err.notice_unknown_no",
                     no);
        goto out;
    }
    if (rc != PICKUP_OK)
        return -1;
    /* The hooks book a card only when its notice is "mailed" (hooks.c);
    ** say why here, before trying. */
    if (strcmp(pn.status, "mailed") != 0 && strcmp(pn.status, "booked") != 0) {
        char label[32];
        pickup_notice_no_format(no, label, sizeof label);
        const char *names[] = {"no", "status"};
        const char *values[] = {label, ps_status_label(rq->lang, pn.status)};
        char *t =
            admin_msg(rq->lang, "pstaff.err.notice_final", names, values, 2);
        admin_field_error_text(form, errors, field, t);
        free(t);
        goto out;
    }
    if (pn.booking_id) {
        struct booking b;
        char label[32];
        pickup_notice_no_format(no, label, sizeof label);
        const char *ref =
            booking_get(rq->db, pn.booking_id, &b) == BOOKING_OK ? b.ref : "";
        const char *names[] = {"no", "ref"};
        const char *values[] = {label, ref};
        char *t =
            admin_msg(rq->lang, "pstaff.err.notice_booked", names, values, 2);
        admin_field_error_text(form, errors, field, t);
        free(t);
        goto out;
    }
    str_copy(nos[(*n)++], no, PICKUP_NOTICE_MAX);
out:
    if (family_idx >= 0 && json_array_size(errors) > before) {
        json_t *e = json_array_get(errors, json_array_size(errors) - 1);
        family_error(ctx, family_idx,
                     json_string_value(json_object_get(e, "text")));
    }
    return 0;
}

/* booking_create, with the e-mail address stored first in the same
** transaction when one was given (the confirmation goes to it). */
static int create_booking(struct req *rq, const struct booking_request *req,
                          int64_t notice_id, const char *email,
                          struct booking *out)
{
    if (!email[0])
        return booking_create(rq->db, &rq->actor, req, out);
    int rc = BOOKING_EBUSY;
    for (int attempt = 0; attempt < 4 && rc == BOOKING_EBUSY; attempt++) {
        if (db_begin(rq->db) != DB_OK)
            return BOOKING_EDB;
        int prc =
            pickup_notice_set_email(rq->db, rq->app->keys, notice_id, email);
        if (prc != PICKUP_OK) {
            db_rollback(rq->db);
            return prc == PICKUP_EINVAL ? BOOKING_EINVAL : BOOKING_EDB;
        }
        rc = booking_create(rq->db, &rq->actor, req, out);
        if (rc == BOOKING_OK) {
            int crc = db_commit(rq->db);
            if (crc == DB_OK)
                return BOOKING_OK;
            db_rollback(rq->db);
            rc = crc == DB_BUSY ? BOOKING_EBUSY : BOOKING_EDB;
            continue;
        }
        db_rollback(rq->db);
        if (rc == BOOKING_EAUDIT)
            audit_alert(rq->app->db, "audit.write_failed", "booking.create");
    }
    return rc;
}

static int post_book(struct req *rq, struct resp *rs)
{
    if (!ps_require_desk(rq, rs))
        return 0;
    struct book_form f;
    book_form_read(rq, &f);
    if (f.override_deadline && !req_can(rq, "booking.staff")) {
        /* Operators have no such box: a crafted request. */
        ps_deny(rq, rs, "booking.override", "route", rq->path,
                "override_deadline");
        return 0;
    }
    char date[11];
    int bad_date = ps_date_param(rq, "date", date) != 0;
    struct booking_resource r;
    int rc = ps_location_param(rq, &r);
    if (rc != BOOKING_OK) {
        resp_error(rq, rs, rc == BOOKING_ENOTFOUND ? 404 : 500, NULL, NULL);
        return 0;
    }
    json_t *ctx = book_context(rq, &r, date, &f);
    json_t *form = json_object_get(ctx, "form");
    json_t *errors = json_array();
    if (bad_date)
        admin_field_error(rq, json_object_get(ctx, "filter"), errors, "date",
                          "pstaff.err.date");
    char nos[PICKUP_FAMILY_MAX][PICKUP_NOTICE_MAX];
    int n = 0;
    if (!f.notice_no[0])
        admin_field_error(rq, form, errors, "notice_no",
                          "pstaff.err.notice_required");
    else if (check_notice(rq, ctx, errors, "notice_no", -1, f.notice_no, nos,
                          &n) != 0)
        goto dberr;
    for (int i = 0; i < FAMILY_FIELDS; i++) {
        if (!f.family[i][0])
            continue;
        char id[24];
        snprintf(id, sizeof id, "family-%d", i + 1);
        if (check_notice(rq, ctx, errors, id, i, f.family[i], nos, &n) != 0)
            goto dberr;
    }
    if (n > r.max_party) {
        char m[16];
        snprintf(m, sizeof m, "%d", r.max_party);
        const char *names[] = {"n"};
        const char *values[] = {m};
        char *t = admin_msg(rq->lang, "pstaff.err.party_max", names, values, 1);
        admin_field_error_text(form, errors, "notice_no", t);
        free(t);
    }
    if (f.email[0] && !mail_address_valid(f.email))
        admin_field_error(rq, form, errors, "email", "pstaff.err.email");
    if (!f.slot_id)
        admin_field_error_text(form, errors, "slot_id",
                               i18n_get(rq->lang, "pstaff.err.slot_required"));
    if (!f.identity_checked)
        admin_field_error(rq, form, errors, "identity_checked",
                          "pstaff.err.identity");
    if (json_array_size(errors) > 0) {
        book_page(rq, rs, 400, ctx, errors);
        return 0;
    }
    char keys[PICKUP_FAMILY_MAX][BOOKING_KEY_MAX];
    struct booking_request req;
    memset(&req, 0, sizeof req);
    req.slot_id = f.slot_id;
    req.party = n;
    for (int i = 0; i < n; i++) {
        pickup_member_key(nos[i], keys[i], sizeof keys[i]);
        req.members[i] = keys[i];
    }
    req.channel = user_channel(rq, f.channel);
    req.override_deadline = f.override_deadline;
    struct pickup_notice main;
    if (pickup_notice_get(rq->db, nos[0], &main) != PICKUP_OK)
        goto dberr;
    struct booking b;
    rc = create_booking(rq, &req, main.id, f.email, &b);
    if (rc != BOOKING_OK) {
        const char *t = ps_result_text(rq->lang, rc);
        if (rc == BOOKING_ECLOSED && req_can(rq, "booking.staff") &&
            !f.override_deadline)
            t = i18n_get(rq->lang, "pstaff.err.closed_staff");
        admin_field_error_text(form, errors, "slot_id", t);
        /* The places may have changed: show the slots as they are now. */
        json_object_set_new(
            ctx, "slots",
            slot_choices(rq, &r, date, 0, req_can(rq, "booking.staff"), 0));
        book_page(rq, rs,
                  rc == BOOKING_EAUDIT ? 503
                  : rc == BOOKING_EDB  ? 500
                                       : 409,
                  ctx, errors);
        return 0;
    }
    json_decref(ctx);
    json_decref(errors);
    char loc[96];
    snprintf(loc, sizeof loc, "/staff/pickup/bookings/%s?done=pstaff_booked",
             b.ref);
    resp_redirect(rs, loc);
    return 0;
dberr:
    json_decref(ctx);
    json_decref(errors);
    resp_error(rq, rs, 500, NULL, NULL);
    return 0;
}

/* ---- one booking -------------------------------------------------------- */

/* The booking of :ref on a pickup location; answers 404 otherwise. */
static int load_booking(struct req *rq, struct resp *rs, struct booking *b,
                        struct booking_resource *r)
{
    const char *ref = rq->params[0];
    if (!ref || strlen(ref) >= sizeof b->ref ||
        booking_get_by_ref(rq->db, ref, b) != BOOKING_OK ||
        booking_resource_get(rq->db, b->resource_id, r) != BOOKING_OK ||
        strcmp(r->kind, "pickup") != 0) {
        resp_error(rq, rs, 404, NULL, NULL);
        return -1;
    }
    return 0;
}

static json_t *members_json(struct req *rq, const struct booking *b)
{
    json_t *a = json_array();
    for (int i = 0; i < b->nmembers; i++) {
        json_t *o = json_object();
        char label[32];
        ps_member_label(b->members[i], label, sizeof label);
        json_object_set_new(o, "label", json_string(label));
        const char *no = ps_member_notice(b->members[i]);
        struct pickup_notice pn;
        if (no && pickup_notice_get(rq->db, no, &pn) == PICKUP_OK) {
            char h[64];
            snprintf(h, sizeof h, "/staff/pickup/notices/%s", no);
            json_object_set_new(o, "href", json_string(h));
            json_object_set_new(o, "name_kana", json_string(pn.name_kana));
            json_object_set_new(
                o, "status_label",
                json_string(ps_status_label(rq->lang, pn.status)));
            json_object_set_new(o, "status_badge",
                                json_string(ps_status_badge(pn.status)));
        }
        json_array_append_new(a, o);
    }
    return a;
}

static json_t *history_json(struct req *rq, const struct booking *b)
{
    json_t *h = NULL, *out = json_array();
    if (booking_history(rq->db, b->id, &h) != BOOKING_OK || !h)
        return out;
    size_t i;
    json_t *e;
    json_array_foreach(h, i, e)
    {
        json_t *o = json_object();
        char t[32], key[64];
        time_format_jst(json_integer_value(json_object_get(e, "ts")), t,
                        sizeof t);
        json_object_set_new(o, "time", json_string(t));
        const char *action = json_string_value(json_object_get(e, "action"));
        snprintf(key, sizeof key, "pstaff.hist.%s", action ? action : "");
        const char *label = i18n_get(rq->lang, key);
        json_object_set_new(
            o, "action",
            json_string(strcmp(label, key) == 0 && action ? action : label));
        const char *login = json_string_value(json_object_get(e, "login"));
        json_object_set_new(o, "login", json_string(login ? login : ""));
        json_object_set_new(
            o, "channel",
            json_string(ps_channel_label(
                rq->lang, json_string_value(json_object_get(e, "channel")))));
        const char *d = json_string_value(json_object_get(e, "detail"));
        json_object_set_new(o, "detail", json_string(d ? d : ""));
        json_array_append_new(out, o);
    }
    json_decref(h);
    return out;
}

static void show_booking(struct req *rq, struct resp *rs,
                         const struct booking *b,
                         const struct booking_resource *r, int status,
                         const char *move_date, int64_t move_slot,
                         const char *error_text)
{
    json_t *ctx = ps_context(rq, NULL);
    json_object_set_new(ctx, "ref", json_string(b->ref));
    json_object_set_new(ctx, "location_name", json_string(r->name));
    char day[64], a[6], e[6], when[96];
    ps_date_label(rq->lang, b->date, 1, day, sizeof day);
    ps_hhmm(b->start_min, a);
    ps_hhmm(b->start_min + b->len_min, e);
    snprintf(when, sizeof when, "%s %s〜%s", day, a, e);
    json_object_set_new(ctx, "when", json_string(when));
    json_object_set_new(ctx, "party", json_integer(b->party));
    json_object_set_new(ctx, "channel_label",
                        json_string(ps_channel_label(rq->lang, b->channel)));
    json_object_set_new(
        ctx, "status_label",
        json_string(ps_booking_status_label(rq->lang, b->status)));
    json_object_set_new(ctx, "status_badge",
                        json_string(ps_booking_status_badge(b->status)));
    json_object_set_new(ctx, "created_by", json_string(b->created_by));
    char t[32];
    time_format_jst(b->created_at, t, sizeof t);
    json_object_set_new(ctx, "created_at", json_string(t));
    json_object_set_new(ctx, "members", members_json(rq, b));
    json_object_set_new(ctx, "history", history_json(rq, b));
    char u[160];
    snprintf(u, sizeof u, "/staff/pickup?location=%lld&date=%s",
             (long long)r->id, b->date);
    json_object_set_new(ctx, "live_href", json_string(u));
    int active = strcmp(b->status, "active") == 0;
    int staff = req_can(rq, "booking.staff");
    if (active) {
        json_object_set_new(ctx, "active", json_true());
        json_t *mv = json_object();
        snprintf(u, sizeof u, "/staff/pickup/bookings/%s", b->ref);
        json_object_set_new(mv, "self", json_string(u));
        snprintf(u, sizeof u, "/staff/pickup/bookings/%s/move", b->ref);
        json_object_set_new(mv, "action", json_string(u));
        json_object_set_new(mv, "date",
                            ps_field(rq, "date", "pstaff.book.move_date",
                                     move_date, "date", 10, 0, NULL));
        char mday[64];
        ps_date_label(rq->lang, move_date, 1, mday, sizeof mday);
        json_object_set_new(mv, "day_label", json_string(mday));
        json_object_set_new(
            mv, "slots",
            slot_choices(rq, r, move_date, b->slot_id, staff, move_slot));
        json_object_set_new(ctx, "move", mv);
        snprintf(u, sizeof u, "/staff/pickup/bookings/%s/cancel", b->ref);
        json_object_set_new(ctx, "cancel_action", json_string(u));
        if (staff) {
            json_object_set_new(ctx, "can_override", json_true());
            snprintf(u, sizeof u, "/staff/pickup/bookings/%s/mark", b->ref);
            json_object_set_new(ctx, "mark_action", json_string(u));
        }
    }
    if (error_text) {
        json_t *fl = json_object();
        json_object_set_new(fl, "kind", json_string("error"));
        json_object_set_new(fl, "text", json_string(error_text));
        json_object_set_new(fl, "urgent", json_true());
        json_object_set_new(ctx, "action_error", fl);
    }
    resp_page(rq, rs, status, "pickup/staff_booking", "pstaff.booking.title",
              ctx);
}

static int get_booking(struct req *rq, struct resp *rs)
{
    if (!ps_require_desk(rq, rs))
        return 0;
    struct booking b;
    struct booking_resource r;
    if (load_booking(rq, rs, &b, &r) != 0)
        return 0;
    if (admin_audit_read(rq, rs, "pickup.booking.read", "booking", b.ref,
                         NULL) != 0)
        return 0;
    char date[11];
    const char *d = req_param(rq, "date");
    if (!d || !*d || pickup_date_parse(d, date) != 0)
        str_copy(date, b.date, sizeof date);
    show_booking(rq, rs, &b, &r, 200, date, 0, NULL);
    return 0;
}

static int override_param(struct req *rq, struct resp *rs, int *ov)
{
    const char *s = req_param(rq, "override_deadline");
    *ov = s && strcmp(s, "1") == 0;
    if (*ov && !req_can(rq, "booking.staff")) {
        ps_deny(rq, rs, "booking.override", "route", rq->path,
                "override_deadline");
        return -1;
    }
    return 0;
}

static int result_status(int rc)
{
    return rc == BOOKING_EAUDIT ? 503 : rc == BOOKING_EDB ? 500 : 409;
}

static int post_move(struct req *rq, struct resp *rs)
{
    if (!ps_require_desk(rq, rs))
        return 0;
    struct booking b;
    struct booking_resource r;
    int ov;
    if (load_booking(rq, rs, &b, &r) != 0 || override_param(rq, rs, &ov) != 0)
        return 0;
    int64_t slot = 0;
    const char *s = req_param(rq, "slot_id");
    char date[11];
    if (ps_date_param(rq, "date", date) != 0)
        str_copy(date, b.date, sizeof date);
    if (!s || admin_parse_id(s, &slot) != 0) {
        show_booking(rq, rs, &b, &r, 400, date, 0,
                     i18n_get(rq->lang, "pstaff.err.slot_required"));
        return 0;
    }
    struct booking_slot sl;
    if (booking_slot_get(rq->db, slot, &sl) != BOOKING_OK ||
        sl.resource_id != b.resource_id) {
        /* Pickups move between the slots of one location only. */
        show_booking(rq, rs, &b, &r, 400, date, 0,
                     i18n_get(rq->lang, "pstaff.err.slot_required"));
        return 0;
    }
    struct booking out;
    int rc = booking_move(rq->db, &rq->actor, b.id, slot, ov, &out);
    if (rc != BOOKING_OK) {
        const char *t = ps_result_text(rq->lang, rc);
        if (rc == BOOKING_ECLOSED && req_can(rq, "booking.staff") && !ov)
            t = i18n_get(rq->lang, "pstaff.err.closed_staff");
        booking_get(rq->db, b.id, &b);
        show_booking(rq, rs, &b, &r, result_status(rc), sl.date, 0, t);
        return 0;
    }
    char loc[96];
    snprintf(loc, sizeof loc, "/staff/pickup/bookings/%s?done=pstaff_moved",
             b.ref);
    resp_redirect(rs, loc);
    return 0;
}

static int post_cancel(struct req *rq, struct resp *rs)
{
    if (!ps_require_desk(rq, rs))
        return 0;
    struct booking b;
    struct booking_resource r;
    int ov;
    if (load_booking(rq, rs, &b, &r) != 0 || override_param(rq, rs, &ov) != 0)
        return 0;
    int rc = booking_cancel(rq->db, &rq->actor, b.id, ov);
    if (rc != BOOKING_OK) {
        const char *t = ps_result_text(rq->lang, rc);
        if (rc == BOOKING_ECLOSED && req_can(rq, "booking.staff") && !ov)
            t = i18n_get(rq->lang, "pstaff.err.closed_staff");
        show_booking(rq, rs, &b, &r, result_status(rc), b.date, 0, t);
        return 0;
    }
    char loc[96];
    snprintf(loc, sizeof loc, "/staff/pickup/bookings/%s?done=pstaff_cancelled",
             b.ref);
    resp_redirect(rs, loc);
    return 0;
}

static int post_mark(struct req *rq, struct resp *rs)
{
    if (!req_can(rq, "booking.staff")) {
        ps_deny(rq, rs, NULL, NULL, NULL, NULL);
        return 0;
    }
    struct booking b;
    struct booking_resource r;
    if (load_booking(rq, rs, &b, &r) != 0)
        return 0;
    const char *st = req_param(rq, "status");
    if (!st || (strcmp(st, "visited") != 0 && strcmp(st, "noshow") != 0)) {
        show_booking(rq, rs, &b, &r, 400, b.date, 0,
                     i18n_get(rq->lang, "pstaff.err.invalid"));
        return 0;
    }
    int rc = booking_mark(rq->db, &rq->actor, b.id, st);
    if (rc != BOOKING_OK) {
        /* The engine refuses a mark before the slot's day as "closed";
        ** say what actually applies. */
        char today[11];
        booking_date_of(now_unix(), today);
        const char *text = rc == BOOKING_ECLOSED && strcmp(b.date, today) > 0
                               ? i18n_get(rq->lang, "pstaff.err.mark_early")
                               : ps_result_text(rq->lang, rc);
        show_booking(rq, rs, &b, &r, result_status(rc), b.date, 0, text);
        return 0;
    }
    char loc[96];
    snprintf(loc, sizeof loc, "/staff/pickup/bookings/%s?done=pstaff_marked",
             b.ref);
    resp_redirect(rs, loc);
    return 0;
}

static const struct route book_routes[] = {
    {"GET", "/staff/pickup/book", get_book, NULL, 0},
    {"POST", "/staff/pickup/book", post_book, NULL, 0},
    {"GET", "/staff/pickup/bookings/:ref", get_booking, NULL, 0},
    {"POST", "/staff/pickup/bookings/:ref/move", post_move, NULL, 0},
    {"POST", "/staff/pickup/bookings/:ref/cancel", post_cancel, NULL, 0},
    {"POST", "/staff/pickup/bookings/:ref/mark", post_mark, "booking.staff", 0},
};

void ps_book_register(void)
{
    router_add(book_routes, ARRAY_LEN(book_routes));
}
