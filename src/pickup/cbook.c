/*
** cbook.c - the booking steps of the citizens' pickup pages (RSV-3,
** RSV-4, RSV-5, RSV-6, RSV-11): choose the location, then a day on a
** month calendar of availability, then a time, then confirm (with the
** optional e-mail address, the only personal data asked for).  The same
** steps change a booking ("b" names it in every URL): the last one moves
** it atomically with booking_move(), so the old time is kept unless the
** new one was taken.
**
** Everyone signed in together who may be booked (no active booking, card
** not handed over) is booked in one slot; a slot with fewer places left
** than the party is shown but cannot be chosen, with the reason.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "booking/booking.h"
#include "core/app.h"
#include "core/audit.h"
#include "core/db.h"
#include "core/jpdate.h"
#include "core/mail.h"
#include "core/tmpl.h"
#include "core/util.h"
#include "pickup/citizen.h"

#define TX_TRIES 5

/* Where the citizen is in the steps: a new booking, or a change. */
struct flow {
    int64_t change_id; /* 0: a new booking */
    struct booking old;
    int party;
    char keys[PICKUP_FAMILY_MAX][BOOKING_KEY_MAX]; /* new bookings */
    char suffix[32]; /* "&b=<id>" carried by every link of a change */
};

/* The members a new booking is for, as the confirm page showed them: a
** card handed over (or a member removed) meanwhile must not silently
** change who is booked. */
static void flow_members(const struct flow *f, char *out, size_t n)
{
    struct buf b;
    buf_init(&b);
    for (int i = 0; !f->change_id && i < f->party; i++)
        buf_printf(&b, "%s%s", i ? "," : "", f->keys[i]);
    str_copy(out, b.data ? b.data : "", n);
    buf_free(&b);
}

/* 0 go on, 1 answered. */
static int flow_begin(struct cz *z, struct flow *f)
{
    memset(f, 0, sizeof *f);
    f->change_id = cz_param_id(z->rq, "b");
    if (f->change_id) {
        if (cz_own_booking(z, &f->old) != 0)
            return 1;
        json_t *bj = cz_booking_json(z, &f->old);
        int open = json_is_true(json_object_get(bj, "can_change"));
        json_decref(bj);
        if (!open) {
            cz_error(z, 409, "pickup.err.deadline");
            return 1;
        }
        f->party = f->old.party;
        snprintf(f->suffix, sizeof f->suffix, "&b=%lld",
                 (long long)f->change_id);
        return 0;
    }
    f->party = cz_bookable(z, f->keys);
    if (f->party == 0) {
        resp_redirect(z->rs, "/pickup/mine");
        return 1;
    }
    return 0;
}

static json_t *flow_ctx(struct cz *z, const struct flow *f, int step)
{
    json_t *ctx = cz_ctx(z);
    json_object_set_new(ctx, "party", json_integer(f->party));
    json_object_set_new(ctx, "change", json_boolean(f->change_id != 0));
    json_object_set_new(ctx, "b", json_integer(f->change_id));
    json_object_set_new(ctx, "suffix", json_string(f->suffix));
    json_t *steps = json_array();
    static const char *const keys[] = {"pickup.step.location",
                                       "pickup.step.day", "pickup.step.time",
                                       "pickup.step.confirm"};
    for (int i = 0; i < 4; i++) {
        json_t *s = json_object();
        json_object_set_new(s, "n", json_integer(i + 1));
        json_object_set_new(s, "label", json_string(cz_t(z, keys[i])));
        json_object_set_new(s, "current", json_boolean(i + 1 == step));
        json_object_set_new(s, "done", json_boolean(i + 1 < step));
        json_array_append_new(steps, s);
    }
    json_object_set_new(ctx, "steps", steps);
    json_object_set_new(ctx, "step", json_integer(step));
    return ctx;
}

/* An open pickup location, or an error page and -1. */
static int location(struct cz *z, int64_t id, struct booking_resource *r)
{
    if (!id || booking_resource_get(z->rq->db, id, r) != BOOKING_OK ||
        strcmp(r->kind, "pickup") != 0) {
        cz_error(z, 404, "pickup.err.no_location");
        return -1;
    }
    if (!r->open) {
        cz_error(z, 409, "pickup.err.location_closed");
        return -1;
    }
    return 0;
}

static json_t *place_json(const struct booking_resource *r)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer(r->id));
    json_object_set_new(o, "name", json_string(r->name));
    json_object_set_new(o, "address", json_string(r->address));
    json_object_set_new(o, "note", json_string(r->note));
    return o;
}

/* ---- step 1: location --------------------------------------------------- */

static int get_locations(struct req *rq, struct resp *rs)
{
    struct cz z;
    struct flow f;
    if (cz_begin(rq, rs, &z, 1) != 0 || flow_begin(&z, &f) != 0)
        return 0;
    json_t *list = NULL;
    if (booking_resource_list(rq->db, "pickup", 0, &list) != BOOKING_OK) {
        cz_error(&z, 503, "pickup.err.busy");
        return 0;
    }
    int64_t preferred = z.n ? z.members[0].location_id : 0;
    json_t *places = json_array();
    size_t i;
    json_t *it;
    json_array_foreach(list, i, it)
    {
        struct booking_resource r;
        if (booking_resource_get(rq->db,
                                 json_integer_value(json_object_get(it, "id")),
                                 &r) != BOOKING_OK ||
            !r.open)
            continue;
        json_t *p = place_json(&r);
        char href[96];
        snprintf(href, sizeof href, "/pickup/calendar?loc=%lld%s",
                 (long long)r.id, f.suffix);
        int fits = f.party <= r.max_party;
        json_object_set_new(p, "href", fits ? json_string(href) : json_null());
        json_object_set_new(p, "max_party", json_integer(r.max_party));
        json_object_set_new(p, "too_many", json_boolean(!fits));
        json_object_set_new(p, "preferred", json_boolean(r.id == preferred));
        json_object_set_new(
            p, "current",
            json_boolean(f.change_id && r.id == f.old.resource_id));
        json_array_append_new(places, p);
    }
    json_decref(list);
    json_t *ctx = flow_ctx(&z, &f, 1);
    json_object_set_new(ctx, "places", places);
    cz_page(&z, 200, "locations", "pickup.title.locations", ctx);
    return 0;
}

/* ---- step 2: a month calendar ---------------------------------------- */

static const char *state_mark(const char *state)
{
    if (strcmp(state, "available") == 0)
        return "○";
    if (strcmp(state, "few") == 0)
        return "△";
    if (strcmp(state, "full") == 0)
        return "×";
    return "－";
}

/* "YYYY-MM" of a parameter or of today; the first day, the number of
** days, and the weekday of the first. */
struct month {
    int y, m;
    char first[11], last[11];
    int days, wday1;
};

static int month_of(int y, int m, struct month *mo)
{
    if (m < 1 || m > 12 || y < 2000 || y > 9998)
        return -1;
    mo->y = y;
    mo->m = m;
    int64_t d1 = jpdate_days(y, m, 1);
    int ny = m == 12 ? y + 1 : y, nm = m == 12 ? 1 : m + 1;
    mo->days = (int)(jpdate_days(ny, nm, 1) - d1);
    jpdate_ymd(d1, mo->first);
    jpdate_ymd(d1 + mo->days - 1, mo->last);
    mo->wday1 = jpdate_weekday(mo->first);
    return 0;
}

static int parse_month(const char *s, int *y, int *m)
{
    if (!s || strlen(s) != 7 || s[4] != '-')
        return -1;
    for (int i = 0; i < 7; i++)
        if (i != 4 && (s[i] < '0' || s[i] > '9'))
            return -1;
    *y = atoi(s);
    *m = atoi(s + 5);
    return 0;
}

static void month_label(struct cz *z, const struct month *mo, char *out,
                        size_t n)
{
    if (strcmp(z->rq->lang, "en") == 0)
        snprintf(out, n, "%04d-%02d", mo->y, mo->m);
    else
        snprintf(out, n, "%d年%d月", mo->y, mo->m);
}

static void month_link(const struct flow *f, int64_t loc, int y, int m,
                       char *out, size_t n)
{
    snprintf(out, n, "/pickup/calendar?loc=%lld&month=%04d-%02d%s",
             (long long)loc, y, m, f->suffix);
}

static json_t *day_cell(struct cz *z, const struct flow *f, int64_t loc,
                        json_t *day, const char *today)
{
    const char *date = json_string_value(json_object_get(day, "date"));
    const char *state = json_string_value(json_object_get(day, "state"));
    if (!date || !state)
        return json_object();
    char key[48], label[160], when[64], href[128];
    snprintf(key, sizeof key, "pickup.cal.%s", state);
    cz_date(z, date, when, sizeof when);
    snprintf(label, sizeof label, "%s %s", when, cz_t(z, key));
    json_t *c = json_object();
    json_object_set_new(c, "day", json_integer(atoi(date + 8)));
    json_object_set_new(c, "date", json_string(date));
    json_object_set_new(c, "state", json_string(state));
    json_object_set_new(c, "mark", json_string(state_mark(state)));
    json_object_set_new(c, "label", json_string(label));
    json_object_set_new(c, "today", json_boolean(strcmp(date, today) == 0));
    if (strcmp(state, "available") == 0 || strcmp(state, "few") == 0) {
        snprintf(href, sizeof href, "/pickup/day?loc=%lld&date=%s%s",
                 (long long)loc, date, f->suffix);
        json_object_set_new(c, "href", json_string(href));
    }
    return c;
}

static int get_calendar(struct req *rq, struct resp *rs)
{
    struct cz z;
    struct flow f;
    struct booking_resource r;
    if (cz_begin(rq, rs, &z, 1) != 0 || flow_begin(&z, &f) != 0 ||
        location(&z, cz_param_id(rq, "loc"), &r) != 0)
        return 0;
    int64_t now = now_unix();
    char today[11], lastday[11];
    booking_date_of(now, today);
    booking_date_add(today, r.window_days, lastday);
    int ty = atoi(today), tm = atoi(today + 5);
    int ly = atoi(lastday), lm = atoi(lastday + 5);
    int y = ty, m = tm;
    const char *mp = req_param(rq, "month");
    if (mp && (parse_month(mp, &y, &m) != 0 || y * 12 + m < ty * 12 + tm ||
               y * 12 + m > ly * 12 + lm)) {
        /* Outside what can be booked: the nearest month that can. */
        y = ty;
        m = tm;
    }
    struct month mo;
    json_t *days = NULL;
    if (month_of(y, m, &mo) != 0 ||
        booking_month(rq->db, r.id, mo.first, mo.last, now, &days) !=
            BOOKING_OK) {
        cz_error(&z, 503, "pickup.err.busy");
        return 0;
    }
    json_t *weeks = json_array();
    json_t *week = json_array();
    for (int i = 0; i < mo.wday1; i++)
        json_array_append_new(week, json_object());
    int any = 0;
    size_t i;
    json_t *d;
    json_array_foreach(days, i, d)
    {
        json_t *cell = day_cell(&z, &f, r.id, d, today);
        any |= json_object_get(cell, "href") != NULL;
        json_array_append_new(week, cell);
        if (json_array_size(week) == 7) {
            json_array_append_new(weeks, json_pack("{s:o}", "days", week));
            week = json_array();
        }
    }
    json_decref(days);
    if (json_array_size(week) > 0) {
        while (json_array_size(week) < 7)
            json_array_append_new(week, json_object());
        json_array_append_new(weeks, json_pack("{s:o}", "days", week));
    } else {
        json_decref(week);
    }
    json_t *ctx = flow_ctx(&z, &f, 2);
    char label[32], href[128];
    month_label(&z, &mo, label, sizeof label);
    json_object_set_new(ctx, "month_label", json_string(label));
    json_object_set_new(ctx, "weeks", weeks);
    json_object_set_new(ctx, "place", place_json(&r));
    json_object_set_new(ctx, "any", json_boolean(any));
    if (y * 12 + m > ty * 12 + tm) {
        month_link(&f, r.id, m == 1 ? y - 1 : y, m == 1 ? 12 : m - 1, href,
                   sizeof href);
        json_object_set_new(ctx, "prev", json_string(href));
    }
    if (y * 12 + m < ly * 12 + lm) {
        month_link(&f, r.id, m == 12 ? y + 1 : y, m == 12 ? 1 : m + 1, href,
                   sizeof href);
        json_object_set_new(ctx, "next", json_string(href));
    }
    snprintf(href, sizeof href, "/pickup/locations%s%s", f.suffix[0] ? "?" : "",
             f.suffix[0] ? f.suffix + 1 : "");
    json_object_set_new(ctx, "back", json_string(href));
    cz_page(&z, 200, "calendar", "pickup.title.calendar", ctx);
    return 0;
}

/* ---- step 3: the times of a day --------------------------------------- */

/* A catalog text with "{1}" and "{2}" replaced by numbers (catalog texts
** are never printf formats). */
static void fill(char *out, size_t n, const char *text, int a, int b)
{
    struct buf t;
    buf_init(&t);
    for (const char *p = text; *p; p++) {
        if (p[0] == '{' && (p[1] == '1' || p[1] == '2') && p[2] == '}') {
            buf_printf(&t, "%d", p[1] == '1' ? a : b);
            p += 2;
        } else {
            buf_putc(&t, *p);
        }
    }
    str_copy(out, t.data ? t.data : "", n);
    buf_free(&t);
}

static json_t *slot_json(struct cz *z, const struct flow *f, json_t *s)
{
    const char *state = json_string_value(json_object_get(s, "state"));
    int left = (int)json_integer_value(json_object_get(s, "left"));
    int64_t id = json_integer_value(json_object_get(s, "id"));
    int start = (int)json_integer_value(json_object_get(s, "start_min"));
    int len = (int)json_integer_value(json_object_get(s, "len_min"));
    char time[48], why[160] = "", left_text[64];
    jpdate_time_range(z->rq->lang, start, start + len, time, sizeof time);
    int current = f->change_id && id == f->old.slot_id;
    int open =
        state && (strcmp(state, "available") == 0 || strcmp(state, "few") == 0);
    if (current)
        str_copy(why, cz_t(z, "pickup.slot.current"), sizeof why);
    else if (!open && state && strcmp(state, "full") == 0)
        str_copy(why, cz_t(z, "pickup.slot.full"), sizeof why);
    else if (!open)
        str_copy(why, cz_t(z, "pickup.slot.closed"), sizeof why);
    else if (left < f->party)
        fill(why, sizeof why, cz_t(z, "pickup.slot.too_small"), left, f->party);
    fill(left_text, sizeof left_text, cz_t(z, "pickup.slot.left"), left, 0);
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer(id));
    json_object_set_new(o, "time", json_string(time));
    json_object_set_new(o, "left", json_integer(left));
    json_object_set_new(o, "left_text", json_string(open ? left_text : ""));
    json_object_set_new(o, "few",
                        json_boolean(state && strcmp(state, "few") == 0));
    json_object_set_new(o, "why", json_string(why));
    json_object_set_new(o, "disabled", json_boolean(why[0] != 0));
    return o;
}

static int get_day(struct req *rq, struct resp *rs)
{
    struct cz z;
    struct flow f;
    struct booking_resource r;
    if (cz_begin(rq, rs, &z, 1) != 0 || flow_begin(&z, &f) != 0 ||
        location(&z, cz_param_id(rq, "loc"), &r) != 0)
        return 0;
    const char *date = req_param(rq, "date");
    int64_t now = now_unix();
    char today[11], lastday[11];
    booking_date_of(now, today);
    booking_date_add(today, r.window_days, lastday);
    int y, m, d;
    if (!date || jpdate_parse(date, &y, &m, &d) != 0) {
        cz_error(&z, 400, "pickup.err.bad_date");
        return 0;
    }
    if (strcmp(date, today) < 0) {
        cz_error(&z, 409, "pickup.err.past");
        return 0;
    }
    if (strcmp(date, lastday) > 0) {
        cz_error(&z, 409, "pickup.err.not_yet");
        return 0;
    }
    json_t *slots = NULL;
    if (booking_day(rq->db, r.id, date, now, &slots) != BOOKING_OK) {
        cz_error(&z, 503, "pickup.err.busy");
        return 0;
    }
    json_t *list = json_array();
    int choosable = 0;
    size_t i;
    json_t *s;
    json_array_foreach(slots, i, s)
    {
        json_t *o = slot_json(&z, &f, s);
        choosable += !json_is_true(json_object_get(o, "disabled"));
        json_array_append_new(list, o);
    }
    json_decref(slots);
    json_t *ctx = flow_ctx(&z, &f, 3);
    char when[64], href[128];
    cz_date(&z, date, when, sizeof when);
    json_object_set_new(ctx, "date", json_string(date));
    json_object_set_new(ctx, "date_label", json_string(when));
    json_object_set_new(ctx, "slots", list);
    json_object_set_new(ctx, "choosable", json_boolean(choosable > 0));
    json_object_set_new(ctx, "place", place_json(&r));
    snprintf(href, sizeof href, "/pickup/calendar?loc=%lld&month=%.7s%s",
             (long long)r.id, date, f.suffix);
    json_object_set_new(ctx, "back", json_string(href));
    cz_page(&z, 200, "day", "pickup.title.day", ctx);
    return 0;
}

/* ---- step 4: confirm and book ----------------------------------------- */

struct choice {
    struct booking_slot slot;
    struct booking_resource r;
};

/* The slot chosen, checked: open, in a pickup location, room for the
** party.  0, or an error key with *status. */
static const char *check_choice(struct cz *z, const struct flow *f,
                                struct choice *ch, int *status)
{
    int64_t id = cz_param_id(z->rq, "slot");
    *status = 409;
    if (!id) {
        *status = 400;
        return "pickup.err.choose_slot";
    }
    if (booking_slot_get(z->rq->db, id, &ch->slot) != BOOKING_OK ||
        booking_resource_get(z->rq->db, ch->slot.resource_id, &ch->r) !=
            BOOKING_OK ||
        strcmp(ch->r.kind, "pickup") != 0) {
        *status = 404;
        return "pickup.err.slot_notfound";
    }
    if (!ch->r.open)
        return "pickup.err.location_closed";
    if (f->change_id && ch->slot.id == f->old.slot_id)
        return "pickup.err.same_slot";
    if (!booking_slot_open(&ch->r, &ch->slot, now_unix()))
        return "pickup.err.closed";
    if (f->party > ch->r.max_party)
        return "pickup.err.party_max";
    if (ch->slot.capacity - ch->slot.booked < f->party)
        return "pickup.err.full";
    return NULL;
}

static void confirm_page(struct cz *z, const struct flow *f,
                         const struct choice *ch, int status,
                         const char *error_key, const char *email_error)
{
    json_t *ctx = flow_ctx(z, f, 4);
    char when[64], time[48], back[128];
    cz_date(z, ch->slot.date, when, sizeof when);
    jpdate_time_range(z->rq->lang, ch->slot.start_min,
                      ch->slot.start_min + ch->slot.len_min, time, sizeof time);
    json_object_set_new(ctx, "place", place_json(&ch->r));
    json_object_set_new(ctx, "date_label", json_string(when));
    json_object_set_new(ctx, "time", json_string(time));
    json_object_set_new(ctx, "slot", json_integer(ch->slot.id));
    json_object_set_new(ctx, "left",
                        json_integer(ch->slot.capacity - ch->slot.booked));
    snprintf(back, sizeof back, "/pickup/day?loc=%lld&date=%s%s",
             (long long)ch->r.id, ch->slot.date, f->suffix);
    json_object_set_new(ctx, "back", json_string(back));
    json_t *who = json_array();
    struct buf who_text;
    buf_init(&who_text);
    const char *email = NULL;
    for (int i = 0; i < z->n; i++) {
        char key[BOOKING_KEY_MAX], disp[24];
        pickup_member_key(z->members[i].notice_no, key, sizeof key);
        int in = 0;
        if (f->change_id)
            for (int j = 0; j < f->old.nmembers; j++)
                in |= strcmp(f->old.members[j], key) == 0;
        else
            for (int j = 0; j < f->party; j++)
                in |= strcmp(f->keys[j], key) == 0;
        if (!in)
            continue;
        pickup_notice_no_format(z->members[i].notice_no, disp, sizeof disp);
        json_array_append_new(who, json_string(disp));
        buf_printf(&who_text, "%s%s",
                   json_array_size(who) > 1 ? cz_t(z, "pickup.sum.sep") : "",
                   disp);
        if (!email && z->members[i].email[0])
            email = z->members[i].email;
    }
    json_object_set_new(ctx, "who", who);
    char sig[PICKUP_FAMILY_MAX * BOOKING_KEY_MAX];
    flow_members(f, sig, sizeof sig);
    json_object_set_new(ctx, "members", json_string(sig));
    json_object_set_new(ctx, "who_text",
                        json_string(who_text.data ? who_text.data : ""));
    buf_free(&who_text);
    const char *typed = req_param(z->rq, "email");
    if (typed && strlen(typed) <= 300)
        email = typed;
    json_object_set_new(ctx, "email", json_string(email ? email : ""));
    if (email_error) {
        json_object_set_new(ctx, "email_error",
                            json_string(cz_t(z, email_error)));
        json_t *errs = json_array();
        json_array_append_new(errs, json_pack("{s:s, s:s}", "id", "email",
                                              "text", cz_t(z, email_error)));
        json_object_set_new(ctx, "errors", errs);
    }
    if (error_key)
        json_object_set_new(ctx, "error", json_string(cz_t(z, error_key)));
    cz_page(z, status, "confirm", "pickup.title.confirm", ctx);
}

static int get_confirm(struct req *rq, struct resp *rs)
{
    struct cz z;
    struct flow f;
    struct choice ch;
    if (cz_begin(rq, rs, &z, 1) != 0 || flow_begin(&z, &f) != 0)
        return 0;
    int status;
    const char *err = check_choice(&z, &f, &ch, &status);
    if (err && (status == 404 || status == 400)) {
        cz_error(&z, status, err);
        return 0;
    }
    confirm_page(&z, &f, &ch, err ? status : 200, err, NULL);
    return 0;
}

/* Stores the address on the notices booked (audited when it changes). */
static int set_emails(struct cz *z, const struct flow *f, const char *email)
{
    for (int i = 0; i < z->n; i++) {
        const struct pickup_notice *m = &z->members[i];
        char key[BOOKING_KEY_MAX];
        pickup_member_key(m->notice_no, key, sizeof key);
        int in = 0;
        for (int j = 0; j < (f->change_id ? f->old.nmembers : f->party); j++)
            in |=
                strcmp(f->change_id ? f->old.members[j] : f->keys[j], key) == 0;
        if (!in || strcmp(m->email, email) == 0)
            continue;
        if (pickup_notice_set_email(z->rq->db, the_app->keys, m->id, email) !=
            PICKUP_OK)
            return BOOKING_EDB;
        if (audit_append(z->rq->db, &z->who, "pickup.email", "notice",
                         m->notice_no, "ok", email[0] ? "set" : "cleared") != 0)
            return BOOKING_EAUDIT;
    }
    return BOOKING_OK;
}

/* The address and the booking (or the move) in one transaction, tried
** again while the database is busy. */
static int book(struct cz *z, const struct flow *f, int64_t slot_id,
                const char *email, struct booking *out)
{
    struct db_conn *c = z->rq->db;
    int rc = BOOKING_EBUSY;
    for (int attempt = 0; attempt < TX_TRIES && rc == BOOKING_EBUSY;
         attempt++) {
        if (db_begin(c) != DB_OK)
            continue;
        rc = set_emails(z, f, email);
        if (rc == BOOKING_OK && f->change_id) {
            rc = booking_move(c, &z->who, f->change_id, slot_id, 0, out);
        } else if (rc == BOOKING_OK) {
            struct booking_request req;
            memset(&req, 0, sizeof req);
            req.slot_id = slot_id;
            req.party = f->party;
            for (int i = 0; i < f->party; i++)
                req.members[i] = f->keys[i];
            req.channel = "web";
            rc = booking_create(c, &z->who, &req, out);
        }
        if (rc == BOOKING_OK) {
            int crc = db_commit(c);
            if (crc == DB_OK)
                return BOOKING_OK;
            db_rollback(c);
            rc = crc == DB_BUSY ? BOOKING_EBUSY : BOOKING_EDB;
            continue;
        }
        db_rollback(c);
        if (rc == BOOKING_EAUDIT)
            audit_alert(db_of(c), "audit.write_failed", "pickup.book");
    }
    return rc;
}

static int post_confirm(struct req *rq, struct resp *rs)
{
    struct cz z;
    struct flow f;
    struct choice ch;
    if (cz_begin(rq, rs, &z, 1) != 0)
        return 0;
    if (!cz_post_ok(&z)) {
        cz_error(&z, 403, "error.csrf");
        return 0;
    }
    if (flow_begin(&z, &f) != 0)
        return 0;
    int status;
    const char *err = check_choice(&z, &f, &ch, &status);
    if (err) {
        if (status == 404 || status == 400)
            cz_error(&z, status, err);
        else
            confirm_page(&z, &f, &ch, status, err, NULL);
        return 0;
    }
    char sig[PICKUP_FAMILY_MAX * BOOKING_KEY_MAX];
    flow_members(&f, sig, sizeof sig);
    const char *shown = req_param(rq, "members");
    if (!f.change_id && (!shown || strcmp(shown, sig) != 0)) {
        confirm_page(&z, &f, &ch, 409, "pickup.err.members_changed", NULL);
        return 0;
    }
    const char *email = req_param(rq, "email");
    char addr[256] = "";
    if (email) {
        /* Spaces around an address pasted from elsewhere are dropped. */
        while (*email == ' ')
            email++;
        size_t n = strlen(email);
        while (n > 0 && email[n - 1] == ' ')
            n--;
        if (n >= sizeof addr) {
            confirm_page(&z, &f, &ch, 400, NULL, "pickup.err.email");
            return 0;
        }
        memcpy(addr, email, n);
        addr[n] = 0;
    }
    if (addr[0] && !mail_address_valid(addr)) {
        confirm_page(&z, &f, &ch, 400, NULL, "pickup.err.email");
        return 0;
    }
    struct booking out;
    int rc = book(&z, &f, ch.slot.id, addr, &out);
    if (rc != BOOKING_OK) {
        /* Nothing changed: the page says why, with the slot as it is now. */
        booking_slot_get(rq->db, ch.slot.id, &ch.slot);
        confirm_page(&z, &f, &ch,
                     rc == BOOKING_EBUSY || rc == BOOKING_EDB ||
                             rc == BOOKING_EAUDIT
                         ? 503
                         : 409,
                     pickup_booking_error_key(rc), NULL);
        return 0;
    }
    char href[96];
    snprintf(href, sizeof href, "/pickup/done?b=%lld%s", (long long)out.id,
             f.change_id ? "&kind=change" : "");
    resp_redirect(rs, href);
    return 0;
}

static const struct route book_routes[] = {
    {"GET", "/pickup/locations", get_locations, NULL, ROUTE_PUBLIC},
    {"GET", "/pickup/calendar", get_calendar, NULL, ROUTE_PUBLIC},
    {"GET", "/pickup/day", get_day, NULL, ROUTE_PUBLIC},
    {"GET", "/pickup/confirm", get_confirm, NULL, ROUTE_PUBLIC},
    {"POST", "/pickup/confirm", post_confirm, NULL, ROUTE_PUBLIC},
};

void cbook_register(void)
{
    router_add(book_routes, ARRAY_LEN(book_routes));
}
