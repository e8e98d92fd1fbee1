/*
** staff_notice.c - notices (交付通知書) for staff and operators: search
** restricted to the keys of the user's role (WIN-8), counts by card
** status and the status filter (RSV-13, seed 004 第2章3(3)ウ "ステータス
** 毎に絞込みを行い検索"), one notice with its card data, booking and
** status history, and the status change with a reason.
**
**   GET  /staff/pickup/notices               search form, counts, results
**   GET  /staff/pickup/notices/:no           one notice
**   POST /staff/pickup/notices/:no/status    status, reason (booking.staff)
**   POST /staff/pickup/notices/:no/unlock    clear the sign-in lock (staff)
**
** WIN-8: the search keys of a role are roles.search_keys (staff.c).  A
** request that searches by a key the role does not have, or by any
** parameter that is not a search key at all (a resident code, a name in
** kanji ...), is refused with 403 and recorded as "pickup.search" with
** result "denied", however it was made.  Opening a notice by its number
** is a search by the notice number and follows the same rule.  Names are
** matched exactly, after normalising the kana, through their blind index:
** there is no partial or name-prefix search.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/admin.h"
#include "core/app.h"
#include "core/db.h"
#include "core/parse.h"
#include "core/tmpl.h"
#include "pickup/staff_int.h"

#define NOTICES_PER_PAGE 50
#define NAME_CANDIDATES  40

/* Query parameters of the search page that are not search keys. */
static int harmless_param(const char *name)
{
    return strcmp(name, "page") == 0 || strcmp(name, "lang") == 0 ||
           strcmp(name, "done") == 0;
}

/* The user's search keys; -1 on a database error. */
static int user_keys(struct req *rq, unsigned *keys)
{
    return pickup_role_search_keys(rq->db, rq->actor.role, keys);
}

/* Refuses a search by keys the role does not have (WIN-8). */
static void deny_search(struct req *rq, struct resp *rs, const char *keys)
{
    json_t *d = json_object();
    json_object_set_new(d, "keys", json_string(keys));
    json_object_set_new(d, "role", json_string(rq->actor.role));
    char *s = json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(d);
    ps_deny(rq, rs, "pickup.search", "notice", "*", s);
    free(s);
}

/* ---- search ------------------------------------------------------------- */

struct search {
    char notice_no_typed[64], name_typed[PICKUP_NAME_MAX_CHARS * 4 + 1];
    char status[16];
    char notice_no[PICKUP_NOTICE_MAX];
    char name_kana[PICKUP_NAME_MAX_CHARS * 3 + 1];
    unsigned used;
    int64_t page;
};

static json_t *status_counts(struct req *rq)
{
    json_t *a = json_array();
    int64_t n[16] = {0};
    struct db_stmt *st = db_queryf(
        rq->db, "SELECT status, COUNT(*) FROM notices GROUP BY status", "");
    while (st && db_step(st) == DB_ROW) {
        const char *s = db_col_text(st, 0);
        for (int i = 0; PICKUP_STATUSES[i] && i < 16; i++)
            if (s && strcmp(s, PICKUP_STATUSES[i]) == 0)
                n[i] = db_col_int(st, 1);
    }
    db_finalize(st);
    int64_t total = 0;
    for (int i = 0; PICKUP_STATUSES[i] && i < 16; i++) {
        json_t *o = json_object();
        json_object_set_new(o, "status", json_string(PICKUP_STATUSES[i]));
        json_object_set_new(
            o, "label",
            json_string(ps_status_label(rq->lang, PICKUP_STATUSES[i])));
        json_object_set_new(o, "badge",
                            json_string(ps_status_badge(PICKUP_STATUSES[i])));
        json_object_set_new(o, "count", json_integer(n[i]));
        char h[64];
        snprintf(h, sizeof h, "/staff/pickup/notices?status=%s",
                 PICKUP_STATUSES[i]);
        json_object_set_new(o, "href", json_string(h));
        total += n[i];
        json_array_append_new(a, o);
    }
    json_t *o = json_object();
    json_object_set_new(o, "by_status", a);
    json_object_set_new(o, "total", json_integer(total));
    return o;
}

static json_t *search_form(struct req *rq, unsigned keys,
                           const struct search *s)
{
    json_t *form = json_object();
    if (keys & PICKUP_KEY_NOTICE_NO) {
        json_t *f = ps_field(rq, "notice_no", "pstaff.search.notice_no",
                             s->notice_no_typed, NULL, 20, 0,
                             "pstaff.search.notice_no_hint");
        json_object_set_new(f, "inputmode", json_string("numeric"));
        json_object_set_new(f, "autocomplete", json_string("off"));
        json_object_set_new(form, "notice_no", f);
    }
    if (keys & PICKUP_KEY_NAME_KANA) {
        json_t *f = ps_field(rq, "name_kana", "pstaff.search.name_kana",
                             s->name_typed, NULL, PICKUP_NAME_MAX_CHARS, 0,
                             "pstaff.search.name_kana_hint");
        json_object_set_new(f, "autocomplete", json_string("off"));
        json_object_set_new(form, "name_kana", f);
    }
    if (keys & PICKUP_KEY_STATUS) {
        json_t *f = ps_field(rq, "status", "pstaff.search.status", "", NULL, 0,
                             0, NULL);
        const char *values[16];
        const char *labels[16];
        size_t n = 0;
        values[n] = "";
        labels[n++] = "admin.any";
        for (int i = 0; PICKUP_STATUSES[i] && n < 16; i++) {
            values[n] = PICKUP_STATUSES[i];
            labels[n++] = pickup_status_key(PICKUP_STATUSES[i]);
        }
        ps_field_select(rq, f, values, labels, n, s->status);
        /* pickup_status_key() names the citizens' catalog; our own labels
        ** are the same words, used when that catalog lacks one. */
        json_t *opts = json_object_get(f, "options");
        size_t i;
        json_t *o;
        json_array_foreach(opts, i, o)
        {
            if (i > 0)
                json_object_set_new(
                    o, "label",
                    json_string(ps_status_label(rq->lang, values[i])));
        }
        json_object_set_new(form, "status", f);
    }
    return form;
}

/* Reads the search from the query; 1 when a key outside keys (or an
** unknown parameter) was used: the caller refuses. */
static int search_read(struct req *rq, unsigned keys, struct search *s,
                       char *bad, size_t badlen)
{
    memset(s, 0, sizeof *s);
    bad[0] = 0;
    for (size_t i = 0; i < rq->query_params.n; i++) {
        const char *k = rq->query_params.items[i].key;
        const char *v = rq->query_params.items[i].val;
        if (harmless_param(k))
            continue;
        unsigned bit = pickup_search_key_bit(k);
        if (!bit) {
            snprintf(bad, badlen, "%s", k);
            return 1;
        }
        if (v && *v)
            s->used |= bit;
    }
    if (s->used & ~keys) {
        struct buf b;
        buf_init(&b);
        const char *names[] = {"notice_no", "name_kana", "status"};
        for (size_t i = 0; i < ARRAY_LEN(names); i++)
            if (s->used & ~keys & pickup_search_key_bit(names[i]))
                buf_printf(&b, "%s%s", b.len ? "," : "", names[i]);
        str_copy(bad, b.data ? b.data : "", badlen);
        buf_free(&b);
        return 1;
    }
    admin_text(req_param(rq, "notice_no"), 40, s->notice_no_typed,
               sizeof s->notice_no_typed);
    admin_text(req_param(rq, "name_kana"), PICKUP_NAME_MAX_CHARS, s->name_typed,
               sizeof s->name_typed);
    admin_text(req_param(rq, "status"), 15, s->status, sizeof s->status);
    s->page = admin_page_param(req_param(rq, "page"));
    return 0;
}

static json_t *notice_row(struct req *rq, struct db_stmt *st)
{
    json_t *o = json_object();
    const char *no = db_col_text(st, 0);
    char label[32], h[64];
    pickup_notice_no_format(no ? no : "", label, sizeof label);
    snprintf(h, sizeof h, "/staff/pickup/notices/%s", no ? no : "");
    json_object_set_new(o, "notice_no", json_string(label));
    json_object_set_new(o, "href", json_string(h));
    char *name = ps_name_decrypt(db_col_text(st, 1));
    json_object_set_new(o, "name_kana", json_string(name));
    free(name);
    const char *status = db_col_text(st, 2);
    json_object_set_new(o, "status_label",
                        json_string(ps_status_label(rq->lang, status)));
    json_object_set_new(o, "status_badge",
                        json_string(ps_status_badge(status)));
    if (!db_col_is_null(st, 3)) {
        const char *ref = db_col_text(st, 3);
        json_object_set_new(o, "ref", json_string(ref ? ref : ""));
        snprintf(h, sizeof h, "/staff/pickup/bookings/%s", ref ? ref : "");
        json_object_set_new(o, "ref_href", json_string(h));
        char day[48], t[6], when[64];
        const char *d = db_col_text(st, 4);
        ps_date_short(rq->lang, d ? d : "", day, sizeof day);
        ps_hhmm((int)db_col_int(st, 5), t);
        snprintf(when, sizeof when, "%s %s", day, t);
        json_object_set_new(o, "when", json_string(when));
        const char *loc = db_col_text(st, 6);
        json_object_set_new(o, "location", json_string(loc ? loc : ""));
    }
    return o;
}

/* The blind indexes a name typed in kana may be stored under: names are
** stored with one ideographic space between family and given name, or
** without; a search typed without the space tries it at every place
** (the index is an exact-match keyed hash, so this is how "spaces do not
** matter" works without storing anything else).  Returns the count. */
static int name_candidates(struct req *rq, const char *kana,
                           char idx[NAME_CANDIDATES][65])
{
    int n = 0;
    char compact[PICKUP_NAME_MAX_CHARS * 3 + 1];
    size_t j = 0;
    int spaced = 0;
    for (size_t i = 0; kana[i] && j + 1 < sizeof compact; i++) {
        if ((unsigned char)kana[i] == 0xe3 &&
            (unsigned char)kana[i + 1] == 0x80 &&
            (unsigned char)kana[i + 2] == 0x80) {
            i += 2;
            spaced = 1;
            continue;
        }
        compact[j++] = kana[i];
    }
    compact[j] = 0;
    pickup_name_index(rq->app->keys, kana, idx[n++]);
    if (spaced)
        pickup_name_index(rq->app->keys, compact, idx[n++]);
    /* Every split of the compact name into two parts (each character is
    ** 3 bytes of UTF-8: katakana and the marks are all in U+30xx). */
    size_t chars = j / 3;
    for (size_t k = 1; k < chars && n < NAME_CANDIDATES; k++) {
        char t[sizeof compact + 3];
        snprintf(t, sizeof t, "%.*s\xe3\x80\x80%s", (int)(k * 3), compact,
                 compact + k * 3);
        if (strcmp(t, kana) != 0)
            pickup_name_index(rq->app->keys, t, idx[n++]);
    }
    return n;
}

/* Runs the search; rows and total.  0 or -1. */
static int search_run(struct req *rq, const struct search *s, json_t **rows,
                      int64_t *total)
{
    struct buf where;
    buf_init(&where);
    buf_puts(&where, " WHERE 1 = 1");
    const char *args[2 + NAME_CANDIDATES];
    int na = 0;
    char idx[NAME_CANDIDATES][65];
    if (s->notice_no[0]) {
        buf_puts(&where, " AND n.notice_no = ?");
        args[na++] = s->notice_no;
    }
    if (s->name_kana[0]) {
        int nc = name_candidates(rq, s->name_kana, idx);
        buf_puts(&where, " AND n.name_index IN (");
        for (int i = 0; i < nc; i++) {
            buf_puts(&where, i ? ", ?" : "?");
            args[na++] = idx[i];
        }
        buf_puts(&where, ")");
    }
    if (s->status[0]) {
        buf_puts(&where, " AND n.status = ?");
        args[na++] = s->status;
    }
    struct buf sql;
    buf_init(&sql);
    buf_printf(&sql, "SELECT COUNT(*) FROM notices n%s", where.data);
    struct db_stmt *st = db_prepare(rq->db, sql.data);
    int rc = DB_ERROR;
    if (st) {
        for (int i = 0; i < na; i++)
            db_bind_text(st, i + 1, args[i]);
        rc = db_step(st);
        *total = rc == DB_ROW ? db_col_int(st, 0) : 0;
        db_finalize(st);
    }
    if (rc != DB_ROW) {
        buf_free(&sql);
        buf_free(&where);
        return -1;
    }
    buf_reset(&sql);
    buf_printf(&sql,
               "SELECT n.notice_no, n.name_kana, n.status, b.ref, b.date, "
               "b.start_min, r.name FROM notices n "
               "LEFT JOIN booking_members m "
               " ON m.member_key = 'notice:' || n.notice_no "
               "LEFT JOIN bookings b ON b.id = m.booking_id "
               "LEFT JOIN booking_resources r ON r.id = b.resource_id"
               "%s ORDER BY n.notice_no LIMIT ? OFFSET ?",
               where.data);
    buf_free(&where);
    st = db_prepare(rq->db, sql.data);
    buf_free(&sql);
    if (!st)
        return -1;
    for (int i = 0; i < na; i++)
        db_bind_text(st, i + 1, args[i]);
    db_bind_int(st, na + 1, NOTICES_PER_PAGE);
    db_bind_int(st, na + 2, (s->page - 1) * NOTICES_PER_PAGE);
    json_t *a = json_array();
    while ((rc = db_step(st)) == DB_ROW)
        json_array_append_new(a, notice_row(rq, st));
    db_finalize(st);
    if (rc != DB_DONE) {
        json_decref(a);
        return -1;
    }
    *rows = a;
    return 0;
}

static int get_notices(struct req *rq, struct resp *rs)
{
    if (!ps_require_desk(rq, rs))
        return 0;
    unsigned keys;
    if (user_keys(rq, &keys) != 0) {
        resp_error(rq, rs, 500, NULL, NULL);
        return 0;
    }
    struct search s;
    char bad[128];
    if (search_read(rq, keys, &s, bad, sizeof bad)) {
        deny_search(rq, rs, bad);
        return 0;
    }
    json_t *ctx = ps_context(rq, "/staff/pickup/notices");
    json_t *form = search_form(rq, keys, &s);
    json_t *errors = json_array();
    /* A key given must also be usable: a value too long for its field
    ** is refused, never dropped (that would search without it). */
    if ((s.used & PICKUP_KEY_NOTICE_NO) &&
        pickup_notice_no_clean(s.notice_no_typed, s.notice_no) != 0)
        admin_field_error(rq, form, errors, "notice_no",
                          "pstaff.err.notice_format");
    if ((s.used & PICKUP_KEY_NAME_KANA) &&
        pickup_kana_normalize(s.name_typed, PICKUP_NAME_MAX_CHARS, s.name_kana,
                              sizeof s.name_kana) != 0)
        admin_field_error(rq, form, errors, "name_kana", "pstaff.err.kana");
    if ((s.used & PICKUP_KEY_STATUS) && !pickup_status_valid(s.status))
        admin_field_error(rq, form, errors, "status", "pstaff.err.status");
    json_object_set_new(ctx, "form", form);
    json_object_set_new(ctx, "errors", errors);
    json_object_set_new(ctx, "no_keys", json_boolean(keys == 0));
    json_object_set_new(ctx, "only_notice_no",
                        json_boolean(keys == PICKUP_KEY_NOTICE_NO));
    if (keys & PICKUP_KEY_STATUS)
        json_object_set_new(ctx, "counts", status_counts(rq));
    if (json_array_size(errors) > 0 || s.used == 0) {
        resp_page(rq, rs, json_array_size(errors) ? 400 : 200,
                  "pickup/staff_notices", "pstaff.notices.title", ctx);
        return 0;
    }
    json_t *rows = NULL;
    int64_t total = 0;
    if (search_run(rq, &s, &rows, &total) != 0) {
        json_decref(ctx);
        resp_error(rq, rs, 500, NULL, NULL);
        return 0;
    }
    json_t *d = json_object();
    if (s.notice_no[0])
        json_object_set_new(d, "notice_no", json_string(s.notice_no));
    if (s.name_kana[0])
        json_object_set_new(d, "name_kana", json_string(s.name_kana));
    if (s.status[0])
        json_object_set_new(d, "status", json_string(s.status));
    json_object_set_new(d, "rows",
                        json_integer((json_int_t)json_array_size(rows)));
    char *detail = json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(d);
    int arc = admin_audit_read(rq, rs, "pickup.search", "notice", "*", detail);
    free(detail);
    if (arc != 0) {
        json_decref(rows);
        json_decref(ctx);
        return 0;
    }
    json_object_set_new(ctx, "searched", json_true());
    json_object_set_new(ctx, "rows", rows);
    json_object_set_new(ctx, "total", json_integer(total));
    struct buf q;
    buf_init(&q);
    buf_puts(&q, "/staff/pickup/notices?");
    int first = 1;
    const char *names[] = {"notice_no", "name_kana", "status"};
    const char *vals[] = {s.notice_no, s.name_typed, s.status};
    for (size_t i = 0; i < ARRAY_LEN(names); i++) {
        if (!vals[i][0])
            continue;
        buf_printf(&q, "%s%s=", first ? "" : "&", names[i]);
        url_encode(&q, vals[i]);
        first = 0;
    }
    json_object_set_new(
        ctx, "pagination",
        admin_pagination(rq, q.data, s.page, NOTICES_PER_PAGE, total));
    buf_free(&q);
    resp_page(rq, rs, 200, "pickup/staff_notices", "pstaff.notices.title", ctx);
    return 0;
}

/* ---- one notice --------------------------------------------------------- */

/* The notice of :no, with the key rule applied.  -1 when answered. */
static int load_notice(struct req *rq, struct resp *rs, struct pickup_notice *n)
{
    unsigned keys;
    if (user_keys(rq, &keys) != 0) {
        resp_error(rq, rs, 500, NULL, NULL);
        return -1;
    }
    if (!(keys & PICKUP_KEY_NOTICE_NO)) {
        deny_search(rq, rs, "notice_no");
        return -1;
    }
    char no[PICKUP_NOTICE_MAX];
    if (pickup_notice_no_clean(rq->params[0], no) != 0) {
        resp_error(rq, rs, 404, NULL, NULL);
        return -1;
    }
    int rc = pickup_notice_get(rq->db, no, n);
    if (rc != PICKUP_OK) {
        resp_error(rq, rs, rc == PICKUP_ENOTFOUND ? 404 : 500, NULL, NULL);
        return -1;
    }
    return 0;
}

static json_t *status_history(struct req *rq, int64_t notice_id)
{
    json_t *a = json_array();
    struct db_stmt *st =
        db_queryf(rq->db,
                  "SELECT ts, from_status, to_status, reason, login "
                  "FROM notice_status_log WHERE notice_id = ? ORDER BY ts, id",
                  "i", notice_id);
    while (st && db_step(st) == DB_ROW) {
        json_t *o = json_object();
        char t[32];
        time_format_jst(db_col_int(st, 0), t, sizeof t);
        json_object_set_new(o, "time", json_string(t));
        json_object_set_new(
            o, "from",
            json_string(ps_status_label(rq->lang, db_col_text(st, 1))));
        json_object_set_new(
            o, "to",
            json_string(ps_status_label(rq->lang, db_col_text(st, 2))));
        const char *reason = db_col_text(st, 3);
        json_object_set_new(o, "reason", json_string(reason ? reason : ""));
        const char *login = db_col_text(st, 4);
        json_object_set_new(o, "login", json_string(login ? login : ""));
        json_array_append_new(a, o);
    }
    db_finalize(st);
    return a;
}

static json_t *status_form(struct req *rq, const struct pickup_notice *n,
                           const char *status, const char *reason)
{
    json_t *form = json_object();
    json_t *f = ps_field(rq, "status", "pstaff.notice.new_status", "", NULL, 0,
                         1, NULL);
    json_t *opts = json_array();
    json_t *o = json_object();
    json_object_set_new(o, "value", json_string(""));
    json_object_set_new(o, "label",
                        json_string(i18n_get(rq->lang, "admin.choose")));
    json_array_append_new(opts, o);
    int any = 0;
    for (int i = 0; PICKUP_STATUSES[i]; i++) {
        if (!pickup_status_change_ok(n->status, PICKUP_STATUSES[i]))
            continue;
        any = 1;
        o = json_object();
        json_object_set_new(o, "value", json_string(PICKUP_STATUSES[i]));
        json_object_set_new(
            o, "label",
            json_string(ps_status_label(rq->lang, PICKUP_STATUSES[i])));
        if (status && strcmp(status, PICKUP_STATUSES[i]) == 0)
            json_object_set_new(o, "selected", json_true());
        json_array_append_new(opts, o);
    }
    json_object_set_new(f, "select", json_true());
    json_object_set_new(f, "options", opts);
    json_object_set_new(form, "status", f);
    f = ps_field(rq, "reason", "pstaff.notice.reason", reason, NULL, 500, 0,
                 "pstaff.notice.reason_hint");
    json_object_set_new(f, "textarea", json_true());
    json_object_set_new(f, "rows", json_integer(3));
    json_object_set_new(form, "reason", f);
    return any ? form : (json_decref(form), NULL);
}

static void show_notice(struct req *rq, struct resp *rs,
                        const struct pickup_notice *n, int status, json_t *form,
                        json_t *errors)
{
    json_t *ctx = ps_context(rq, "/staff/pickup/notices");
    char label[32];
    pickup_notice_no_format(n->notice_no, label, sizeof label);
    json_object_set_new(ctx, "notice_no", json_string(label));
    json_object_set_new(ctx, "name_kana", json_string(n->name_kana));
    json_object_set_new(ctx, "status_label",
                        json_string(ps_status_label(rq->lang, n->status)));
    json_object_set_new(ctx, "status_badge",
                        json_string(ps_status_badge(n->status)));
    json_object_set_new(ctx, "has_email", json_boolean(n->email[0] != 0));
    json_object_set_new(ctx, "card_no", json_string(n->card_no));
    if (n->production_date[0]) {
        char d[64];
        ps_date_label(rq->lang, n->production_date, 0, d, sizeof d);
        json_object_set_new(ctx, "production_date", json_string(d));
    }
    json_object_set_new(ctx, "storage_box", json_string(n->storage_box));
    struct booking_resource r;
    if (n->location_id &&
        booking_resource_get(rq->db, n->location_id, &r) == BOOKING_OK)
        json_object_set_new(ctx, "preferred_location", json_string(r.name));
    struct booking b;
    if (n->booking_id && booking_get(rq->db, n->booking_id, &b) == BOOKING_OK) {
        json_t *o = json_object();
        char h[64], day[64], a[6], e[6], when[96];
        json_object_set_new(o, "ref", json_string(b.ref));
        snprintf(h, sizeof h, "/staff/pickup/bookings/%s", b.ref);
        json_object_set_new(o, "href", json_string(h));
        ps_date_label(rq->lang, b.date, 1, day, sizeof day);
        ps_hhmm(b.start_min, a);
        ps_hhmm(b.start_min + b.len_min, e);
        snprintf(when, sizeof when, "%s %s〜%s", day, a, e);
        json_object_set_new(o, "when", json_string(when));
        if (booking_resource_get(rq->db, b.resource_id, &r) == BOOKING_OK)
            json_object_set_new(o, "location", json_string(r.name));
        json_object_set_new(o, "channel_label",
                            json_string(ps_channel_label(rq->lang, b.channel)));
        json_object_set_new(ctx, "booking", o);
    } else if (strcmp(n->status, "mailed") == 0) {
        char h[64];
        snprintf(h, sizeof h, "/staff/pickup/book?notice_no=%s", n->notice_no);
        json_object_set_new(ctx, "book_href", json_string(h));
    }
    int64_t locked = 0;
    db_query_int(rq->db, &locked,
                 "SELECT locked_until FROM notices WHERE id = ?", "i", n->id);
    int staff = req_can(rq, "booking.staff");
    if (locked > now_unix()) {
        json_object_set_new(ctx, "locked", json_true());
        if (staff) {
            char h[64];
            snprintf(h, sizeof h, "/staff/pickup/notices/%s/unlock",
                     n->notice_no);
            json_object_set_new(ctx, "unlock_action", json_string(h));
        }
    }
    json_object_set_new(ctx, "history", status_history(rq, n->id));
    if (staff) {
        if (!form)
            form = status_form(rq, n, NULL, "");
        if (form) {
            char h[64];
            snprintf(h, sizeof h, "/staff/pickup/notices/%s/status",
                     n->notice_no);
            json_object_set_new(ctx, "status_action", json_string(h));
            json_object_set_new(ctx, "form", form);
        } else {
            json_object_set_new(ctx, "final", json_true());
        }
    } else {
        json_decref(form);
    }
    json_object_set_new(ctx, "errors", errors ? errors : json_array());
    resp_page(rq, rs, status, "pickup/staff_notice", "pstaff.notice.title",
              ctx);
}

static int get_notice(struct req *rq, struct resp *rs)
{
    if (!ps_require_desk(rq, rs))
        return 0;
    struct pickup_notice n;
    if (load_notice(rq, rs, &n) != 0)
        return 0;
    if (admin_audit_read(rq, rs, "pickup.notice.read", "notice", n.notice_no,
                         NULL) != 0)
        return 0;
    show_notice(rq, rs, &n, 200, NULL, NULL);
    return 0;
}

static int post_status(struct req *rq, struct resp *rs)
{
    if (!req_can(rq, "booking.staff")) {
        ps_deny(rq, rs, NULL, NULL, NULL, NULL);
        return 0;
    }
    struct pickup_notice n;
    if (load_notice(rq, rs, &n) != 0)
        return 0;
    char status[16], reason[2048];
    admin_text(req_param(rq, "status"), 15, status, sizeof status);
    int long_reason =
        admin_text(req_param(rq, "reason"), 500, reason, sizeof reason) != 0;
    json_t *form = status_form(rq, &n, status, reason);
    json_t *errors = json_array();
    if (!form) {
        form = json_object();
        admin_field_error(rq, form, errors, "status", "pstaff.err.final");
    } else if (!pickup_status_valid(status) ||
               !pickup_status_change_ok(n.status, status)) {
        admin_field_error(rq, form, errors, "status",
                          status[0] ? "pstaff.err.status_change"
                                    : "pstaff.err.status_required");
    }
    if (long_reason)
        admin_field_error(rq, form, errors, "reason", "pstaff.err.reason_long");
    else if (pickup_status_needs_reason(status) && !reason[0])
        admin_field_error(rq, form, errors, "reason", "pstaff.err.reason");
    if (json_array_size(errors) > 0) {
        show_notice(rq, rs, &n, 400, form, errors);
        return 0;
    }
    int rc = pickup_set_status(rq->db, &rq->actor, n.notice_no, status, reason);
    if (rc != PICKUP_OK) {
        if (rc == PICKUP_EAUDIT || rc == PICKUP_EDB) {
            json_decref(form);
            json_decref(errors);
            resp_error(rq, rs, rc == PICKUP_EAUDIT ? 503 : 500,
                       rc == PICKUP_EAUDIT ? "error.audit" : NULL, NULL);
            return 0;
        }
        admin_field_error_text(form, errors, "status",
                               ps_result_text(rq->lang, rc));
        pickup_notice_get(rq->db, n.notice_no, &n);
        show_notice(rq, rs, &n, 409, form, errors);
        return 0;
    }
    json_decref(form);
    json_decref(errors);
    char loc[96];
    snprintf(loc, sizeof loc, "/staff/pickup/notices/%s?done=pstaff_status",
             n.notice_no);
    resp_redirect(rs, loc);
    return 0;
}

static int post_unlock(struct req *rq, struct resp *rs)
{
    if (!req_can(rq, "booking.staff")) {
        ps_deny(rq, rs, NULL, NULL, NULL, NULL);
        return 0;
    }
    struct pickup_notice n;
    if (load_notice(rq, rs, &n) != 0)
        return 0;
    int rc = pickup_notice_unlock(rq->db, &rq->actor, n.notice_no);
    if (rc != PICKUP_OK) {
        resp_error(rq, rs, rc == PICKUP_EAUDIT ? 503 : 500,
                   rc == PICKUP_EAUDIT ? "error.audit" : NULL, NULL);
        return 0;
    }
    char loc[96];
    snprintf(loc, sizeof loc, "/staff/pickup/notices/%s?done=pstaff_unlocked",
             n.notice_no);
    resp_redirect(rs, loc);
    return 0;
}

static const struct route notice_routes[] = {
    {"GET", "/staff/pickup/notices", get_notices, NULL, 0},
    {"GET", "/staff/pickup/notices/:no", get_notice, NULL, 0},
    {"POST", "/staff/pickup/notices/:no/status", post_status, "booking.staff",
     0},
    {"POST", "/staff/pickup/notices/:no/unlock", post_unlock, "booking.staff",
     0},
};

void ps_notice_register(void)
{
    router_add(notice_routes, ARRAY_LEN(notice_routes));
}
