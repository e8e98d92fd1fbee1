/*
** export.c - lists of the pickup bookings out of the system:
**
**  - CSV exports (RSV-15; seed 004 第2章3(4)ア "予約日別・時間別等に詳細な
**    リストが一覧(CSV形式)で抽出"), for staff holding pickup.export: by
**    day, one row per person booked (date, time, location, reference,
**    notice number, name in kana, card status, storage box, booking
**    status, channel, who booked), or by time slot, one row per slot
**    (places, booked, left, bookings).  UTF-8 with a BOM or CP932 for
**    Excel (csv.h), as an attachment.  Every export is recorded in the
**    audit log with its filter and row count before a byte is sent.
**
**  - the pull list (RSV-16; 3(4)ウ "予約情報から交付対象カードの引抜き作業
**    を支援する情報"), for booking.staff: the cards to take out of storage
**    for one location and day (or one slot of it), sorted by storage box
**    then slot, or grouped by slot; printable on A4 (app.css "@media
**    print": no navigation, a page per slot group).
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/admin.h"
#include "core/csv.h"
#include "core/db.h"
#include "core/parse.h"
#include "core/tmpl.h"
#include "pickup/staff_int.h"

#define EXPORT_MAX_DAYS 93
#define EXPORT_MAX_ROWS 200000

/* ---- the export form ---------------------------------------------------- */

struct export_filter {
    int64_t location; /* 0: every location */
    char from[11], to[11];
    char kind[8];     /* "day" or "slot" */
    char encoding[8]; /* "utf8" or "cp932" */
    int include_cancelled;
};

static json_t *export_form(struct req *rq, const struct export_filter *f)
{
    json_t *form = json_object();
    int64_t loc = f->location;
    json_t *opts = ps_location_options(rq, 1, &loc);
    json_t *all = json_object();
    json_object_set_new(all, "value", json_string(""));
    json_object_set_new(all, "label",
                        json_string(i18n_get(rq->lang, "pstaff.exp.all_loc")));
    if (!f->location) {
        /* ps_location_options picked the first one: undo it. */
        size_t i;
        json_t *o;
        json_array_foreach(opts, i, o) json_object_del(o, "selected");
        json_object_set_new(all, "selected", json_true());
    }
    if (!opts)
        opts = json_array();
    json_array_insert_new(opts, 0, all);
    json_t *x =
        ps_field(rq, "location", "pstaff.field.location", "", NULL, 0, 0, NULL);
    json_object_set_new(x, "select", json_true());
    json_object_set_new(x, "options", opts);
    json_object_set_new(form, "location", x);
    json_object_set_new(
        form, "from",
        ps_field(rq, "from", "pstaff.exp.from", f->from, "date", 10, 1, NULL));
    json_object_set_new(form, "to",
                        ps_field(rq, "to", "pstaff.exp.to", f->to, "date", 10,
                                 1, "pstaff.exp.range_hint"));
    x = ps_field(rq, "kind", "pstaff.exp.kind", "", NULL, 0, 1, NULL);
    const char *kv[] = {"day", "slot"};
    const char *kk[] = {"pstaff.exp.kind_day", "pstaff.exp.kind_slot"};
    ps_field_select(rq, x, kv, kk, 2, f->kind);
    json_object_set_new(form, "kind", x);
    x = ps_field(rq, "encoding", "pstaff.exp.encoding", "", NULL, 0, 1,
                 "pstaff.exp.encoding_hint");
    const char *ev[] = {"utf8", "cp932"};
    const char *ek[] = {"pstaff.exp.utf8", "pstaff.exp.cp932"};
    ps_field_select(rq, x, ev, ek, 2, f->encoding);
    json_object_set_new(form, "encoding", x);
    x = admin_field(rq, "include_cancelled", "pstaff.exp.include_cancelled",
                    "1", 0, 0);
    if (f->include_cancelled)
        json_object_set_new(x, "checked", json_true());
    json_object_set_new(form, "include_cancelled", x);
    return form;
}

/* Reads the filter; marks errors on form when form is not NULL.
** 0 or -1. */
static int export_filter_read(struct req *rq, struct export_filter *f,
                              json_t *form, json_t *errors)
{
    memset(f, 0, sizeof *f);
    int bad = 0;
    const char *s = req_param(rq, "location");
    if (s && *s &&
        (admin_parse_id(s, &f->location) != 0 ||
         db_query_int(rq->db, &(int64_t){0},
                      "SELECT id FROM booking_resources WHERE id = ? AND "
                      "kind = 'pickup'",
                      "i", f->location) != DB_ROW)) {
        f->location = 0;
        bad = 1;
        if (form)
            admin_field_error(rq, form, errors, "location",
                              "pstaff.err.invalid");
    }
    if (ps_date_param(rq, "from", f->from) != 0) {
        bad = 1;
        if (form)
            admin_field_error(rq, form, errors, "from", "pstaff.err.date");
    }
    if (ps_date_param(rq, "to", f->to) != 0) {
        bad = 1;
        if (form)
            admin_field_error(rq, form, errors, "to", "pstaff.err.date");
    }
    int days = 0;
    if (!bad && (booking_date_diff(f->from, f->to, &days) != 0 || days < 0 ||
                 days >= EXPORT_MAX_DAYS)) {
        bad = 1;
        if (form)
            admin_field_error(rq, form, errors, "to", "pstaff.err.range");
    }
    s = req_param(rq, "kind");
    str_copy(f->kind, s && strcmp(s, "slot") == 0 ? "slot" : "day",
             sizeof f->kind);
    if (s && *s && strcmp(s, "slot") != 0 && strcmp(s, "day") != 0) {
        bad = 1;
        if (form)
            admin_field_error(rq, form, errors, "kind", "pstaff.err.invalid");
    }
    s = req_param(rq, "encoding");
    str_copy(f->encoding, s && strcmp(s, "cp932") == 0 ? "cp932" : "utf8",
             sizeof f->encoding);
    if (s && *s && strcmp(s, "cp932") != 0 && strcmp(s, "utf8") != 0) {
        bad = 1;
        if (form)
            admin_field_error(rq, form, errors, "encoding",
                              "admin.err.encoding");
    }
    s = req_param(rq, "include_cancelled");
    f->include_cancelled = s && strcmp(s, "1") == 0;
    return bad ? -1 : 0;
}

static int get_export(struct req *rq, struct resp *rs)
{
    struct export_filter f;
    json_t *errors = json_array();
    int given = req_param(rq, "from") != NULL;
    json_t *tmp = json_object();
    int bad = export_filter_read(rq, &f, tmp, errors) != 0;
    json_decref(tmp);
    json_t *form = export_form(rq, &f);
    if (!given) {
        json_decref(errors);
        errors = json_array();
        bad = 0;
    }
    size_t i;
    json_t *e;
    json_array_foreach(errors, i, e)
    {
        json_t *fld =
            json_object_get(form, json_string_value(json_object_get(e, "id")));
        if (fld)
            json_object_set(fld, "error", json_object_get(e, "text"));
    }
    json_t *ctx = ps_context(rq, "/staff/pickup/export");
    json_object_set_new(ctx, "form", form);
    json_object_set_new(ctx, "errors", errors);
    resp_page(rq, rs, bad ? 400 : 200, "pickup/staff_export",
              "pstaff.exp.title", ctx);
    return 0;
}

/* ---- the CSV ------------------------------------------------------------ */

static void csv_weekday(struct buf *out, const char *date)
{
    static const char *const wd[] = {"日", "月", "火", "水", "木", "金", "土"};
    int w = booking_weekday(date);
    csv_field(out, w >= 0 ? wd[w] : "");
}

static void csv_time(struct buf *out, int minutes)
{
    char t[6];
    ps_hhmm(minutes, t);
    csv_field(out, t);
}

/* One row per person of each booking.  Returns rows, or -1. */
static long export_by_day(struct req *rq, const struct export_filter *f,
                          struct buf *out)
{
    const char *cols[] = {"予約日",   "曜日",         "開始",    "終了",
                          "交付場所", "予約番号",     "人数",    "通知書番号",
                          "氏名カナ", "カードの状態", "保管箱",  "予約の状態",
                          "受付経路", "受付者",       "受付日時"};
    for (size_t i = 0; i < ARRAY_LEN(cols); i++)
        csv_field(out, cols[i]);
    csv_row_end(out);
    struct db_stmt *st = db_queryf(
        rq->db,
        "SELECT b.date, b.start_min, b.len_min, r.name, b.ref, b.party, "
        "b.members, b.status, b.channel, b.created_by, b.created_at "
        "FROM bookings b JOIN booking_resources r ON r.id = b.resource_id "
        "WHERE r.kind = 'pickup' AND b.date >= ? AND b.date <= ? "
        "AND (? = 0 OR b.resource_id = ?) AND (? = 1 OR b.status <> "
        "'cancelled') ORDER BY b.date, r.id, b.start_min, b.ref LIMIT ?",
        "ssiiii", f->from, f->to, f->location, f->location,
        (int64_t)f->include_cancelled, (int64_t)EXPORT_MAX_ROWS);
    if (!st)
        return -1;
    long n = 0;
    int rc;
    while ((rc = db_step(st)) == DB_ROW) {
        const char *date = db_col_text(st, 0);
        int start = (int)db_col_int(st, 1), len = (int)db_col_int(st, 2);
        const char *members = db_col_text(st, 6);
        const char *m = members ? members : "";
        while (*m) {
            size_t k = strcspn(m, " ");
            char key[BOOKING_KEY_MAX] = "";
            if (k < sizeof key) {
                memcpy(key, m, k);
                key[k] = 0;
            }
            m += k;
            while (*m == ' ')
                m++;
            if (!key[0])
                continue;
            struct pickup_notice pn;
            const char *no = ps_member_notice(key);
            int have = no && pickup_notice_get(rq->db, no, &pn) == PICKUP_OK;
            csv_field(out, date);
            csv_weekday(out, date ? date : "");
            csv_time(out, start);
            csv_time(out, start + len);
            csv_field(out, db_col_text(st, 3));
            csv_field(out, db_col_text(st, 4));
            csv_field_int(out, db_col_int(st, 5));
            char label[32];
            ps_member_label(key, label, sizeof label);
            csv_field(out, label);
            csv_field(out, have ? pn.name_kana : "");
            csv_field(out, have ? ps_status_label("ja", pn.status) : "");
            csv_field(out, have ? pn.storage_box : "");
            csv_field(out, ps_booking_status_label("ja", db_col_text(st, 7)));
            csv_field(out, ps_channel_label("ja", db_col_text(st, 8)));
            csv_field(out, db_col_text(st, 9));
            char t[32];
            time_format_jst(db_col_int(st, 10), t, sizeof t);
            csv_field(out, t);
            csv_row_end(out);
            n++;
        }
    }
    db_finalize(st);
    return rc == DB_DONE ? n : -1;
}

/* One row per slot. */
static long export_by_slot(struct req *rq, const struct export_filter *f,
                           struct buf *out)
{
    const char *cols[] = {"日付", "曜日",     "交付場所", "開始",    "終了",
                          "定員", "予約人数", "残り",     "予約件数"};
    for (size_t i = 0; i < ARRAY_LEN(cols); i++)
        csv_field(out, cols[i]);
    csv_row_end(out);
    struct db_stmt *st = db_queryf(
        rq->db,
        "SELECT s.date, r.name, s.start_min, s.len_min, s.capacity, s.booked, "
        "(SELECT COUNT(*) FROM bookings b WHERE b.slot_id = s.id AND "
        " b.status <> 'cancelled') "
        "FROM booking_slots s JOIN booking_resources r ON r.id = s.resource_id "
        "WHERE r.kind = 'pickup' AND s.date >= ? AND s.date <= ? "
        "AND (? = 0 OR s.resource_id = ?) "
        "ORDER BY s.date, r.id, s.start_min LIMIT ?",
        "ssiii", f->from, f->to, f->location, f->location,
        (int64_t)EXPORT_MAX_ROWS);
    if (!st)
        return -1;
    long n = 0;
    int rc;
    while ((rc = db_step(st)) == DB_ROW) {
        const char *date = db_col_text(st, 0);
        int start = (int)db_col_int(st, 2);
        csv_field(out, date);
        csv_weekday(out, date ? date : "");
        csv_field(out, db_col_text(st, 1));
        csv_time(out, start);
        csv_time(out, start + (int)db_col_int(st, 3));
        csv_field_int(out, db_col_int(st, 4));
        csv_field_int(out, db_col_int(st, 5));
        csv_field_int(out, db_col_int(st, 4) - db_col_int(st, 5));
        csv_field_int(out, db_col_int(st, 6));
        csv_row_end(out);
        n++;
    }
    db_finalize(st);
    return rc == DB_DONE ? n : -1;
}

static int get_export_csv(struct req *rq, struct resp *rs)
{
    struct export_filter f;
    if (export_filter_read(rq, &f, NULL, NULL) != 0 || !req_param(rq, "from") ||
        !req_param(rq, "to")) {
        resp_error(rq, rs, 400, NULL, i18n_get(rq->lang, "pstaff.err.filter"));
        return 0;
    }
    struct buf utf8, out;
    buf_init(&utf8);
    buf_init(&out);
    int slot = strcmp(f.kind, "slot") == 0;
    long n =
        slot ? export_by_slot(rq, &f, &utf8) : export_by_day(rq, &f, &utf8);
    int cp932 = strcmp(f.encoding, "cp932") == 0;
    if (n < 0 || csv_finish(&utf8, cp932, &out) < 0) {
        buf_free(&utf8);
        buf_free(&out);
        resp_error(rq, rs, 500, NULL, NULL);
        return 0;
    }
    buf_free(&utf8);
    json_t *d = json_object();
    json_object_set_new(d, "location", json_integer(f.location));
    json_object_set_new(d, "from", json_string(f.from));
    json_object_set_new(d, "to", json_string(f.to));
    json_object_set_new(d, "kind", json_string(f.kind));
    json_object_set_new(d, "encoding", json_string(f.encoding));
    json_object_set_new(d, "include_cancelled",
                        json_boolean(f.include_cancelled));
    json_object_set_new(d, "rows", json_integer(n));
    char *detail = json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(d);
    int arc = admin_audit_read(rq, rs, "pickup.export", "booking", "*", detail);
    free(detail);
    if (arc != 0) {
        buf_free(&out);
        return 0;
    }
    buf_free(&rs->body);
    rs->body = out;
    rs->status = 200;
    str_copy(rs->content_type,
             cp932 ? "text/csv; charset=Windows-31J"
                   : "text/csv; charset=utf-8",
             sizeof rs->content_type);
    char name[96], cd[160];
    snprintf(name, sizeof name, "pickup-%s-%.4s%.2s%.2s-%.4s%.2s%.2s.csv",
             slot ? "slots" : "bookings", f.from, f.from + 5, f.from + 8, f.to,
             f.to + 5, f.to + 8);
    snprintf(cd, sizeof cd, "attachment; filename=\"%s\"", name);
    resp_header(rs, "Content-Disposition", cd);
    resp_header(rs, "Cache-Control", "no-store");
    return 0;
}

/* ---- the pull list ------------------------------------------------------ */

struct pull_item {
    char box[PICKUP_BOX_MAX_CHARS * 4 + 1];
    int start, len;
    int64_t slot_id;
    char ref[16];
    char notice[32];
    char name[PICKUP_NAME_MAX_CHARS * 3 + 1];
    char card[16];
};

static int cmp_box(const void *a, const void *b)
{
    const struct pull_item *x = a, *y = b;
    /* Cards not yet in storage (no box) last. */
    if (!x->box[0] != !y->box[0])
        return x->box[0] ? -1 : 1;
    int c = strcmp(x->box, y->box);
    if (c)
        return c;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    return strcmp(x->notice, y->notice);
}

static int cmp_slot(const void *a, const void *b)
{
    const struct pull_item *x = a, *y = b;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    return cmp_box(a, b);
}

/* The cards of the active bookings of r on date (slot_id 0: all slots). */
static int pull_items(struct req *rq, const struct booking_resource *r,
                      const char *date, int64_t slot_id, struct pull_item **out,
                      size_t *n)
{
    *out = NULL;
    *n = 0;
    struct db_stmt *st = db_queryf(
        rq->db,
        "SELECT ref, slot_id, start_min, len_min, members FROM bookings "
        "WHERE resource_id = ? AND date = ? AND status = 'active' "
        "AND (? = 0 OR slot_id = ?) ORDER BY start_min, ref LIMIT ?",
        "isiii", r->id, date, slot_id, slot_id, (int64_t)PS_DAY_MAX);
    if (!st)
        return -1;
    size_t cap = 0;
    struct pull_item *v = NULL;
    int rc;
    while ((rc = db_step(st)) == DB_ROW) {
        const char *m = db_col_text(st, 4);
        while (m && *m) {
            size_t k = strcspn(m, " ");
            char key[BOOKING_KEY_MAX] = "";
            if (k < sizeof key) {
                memcpy(key, m, k);
                key[k] = 0;
            }
            m += k;
            while (*m == ' ')
                m++;
            if (!key[0])
                continue;
            if (*n == cap) {
                cap = cap ? cap * 2 : 64;
                v = xrealloc(v, cap * sizeof *v);
            }
            struct pull_item *it = &v[(*n)++];
            memset(it, 0, sizeof *it);
            const char *ref = db_col_text(st, 0);
            str_copy(it->ref, ref ? ref : "", sizeof it->ref);
            it->slot_id = db_col_is_null(st, 1) ? 0 : db_col_int(st, 1);
            it->start = (int)db_col_int(st, 2);
            it->len = (int)db_col_int(st, 3);
            ps_member_label(key, it->notice, sizeof it->notice);
            const char *no = ps_member_notice(key);
            struct pickup_notice pn;
            if (no && pickup_notice_get(rq->db, no, &pn) == PICKUP_OK) {
                str_copy(it->box, pn.storage_box, sizeof it->box);
                str_copy(it->name, pn.name_kana, sizeof it->name);
                str_copy(it->card, pn.card_no, sizeof it->card);
            }
        }
    }
    db_finalize(st);
    if (rc != DB_DONE) {
        free(v);
        *n = 0;
        return -1;
    }
    *out = v;
    return 0;
}

static json_t *pull_row(const struct pull_item *it)
{
    json_t *o = json_object();
    char a[6], e[6], t[16];
    ps_hhmm(it->start, a);
    ps_hhmm(it->start + it->len, e);
    snprintf(t, sizeof t, "%s〜%s", a, e);
    json_object_set_new(o, "time", json_string(t));
    json_object_set_new(o, "box", json_string(it->box));
    json_object_set_new(o, "ref", json_string(it->ref));
    json_object_set_new(o, "notice_no", json_string(it->notice));
    json_object_set_new(o, "name_kana", json_string(it->name));
    json_object_set_new(o, "card_no", json_string(it->card));
    return o;
}

static int get_pull_list(struct req *rq, struct resp *rs)
{
    char date[11];
    int bad = ps_date_param(rq, "date", date) != 0;
    struct booking_resource r;
    int rc = ps_location_param(rq, &r);
    if (rc != BOOKING_OK && rc != BOOKING_ENOTFOUND) {
        resp_error(rq, rs, 500, NULL, NULL);
        return 0;
    }
    int64_t slot_id = 0;
    const char *s = req_param(rq, "slot");
    if (s && *s && admin_parse_id(s, &slot_id) != 0)
        slot_id = 0;
    const char *order = req_param(rq, "order");
    int by_slot = order && strcmp(order, "slot") == 0;
    json_t *ctx = ps_context(rq, "/staff/pickup/pull-list");
    int64_t loc = rc == BOOKING_OK ? r.id : 0;
    json_t *form = json_object();
    json_t *x =
        ps_field(rq, "location", "pstaff.field.location", "", NULL, 0, 0, NULL);
    json_t *opts = ps_location_options(rq, 1, &loc);
    json_object_set_new(x, "select", json_true());
    json_object_set_new(x, "options", opts ? opts : json_array());
    json_object_set_new(form, "location", x);
    json_object_set_new(
        form, "date",
        ps_field(rq, "date", "pstaff.field.date", date, "date", 10, 0, NULL));
    x = ps_field(rq, "order", "pstaff.pull.order", "", NULL, 0, 0, NULL);
    const char *ov[] = {"box", "slot"};
    const char *ok[] = {"pstaff.pull.order_box", "pstaff.pull.order_slot"};
    ps_field_select(rq, x, ov, ok, 2, by_slot ? "slot" : "box");
    json_object_set_new(form, "order", x);
    json_t *errors = json_array();
    if (bad)
        admin_field_error(rq, form, errors, "date", "pstaff.err.date");
    json_object_set_new(ctx, "form", form);
    json_object_set_new(ctx, "errors", errors);
    if (rc == BOOKING_ENOTFOUND) {
        json_object_set_new(ctx, "no_locations", json_true());
        resp_page(rq, rs, 200, "pickup/staff_pull_list", "pstaff.pull.title",
                  ctx);
        return 0;
    }
    struct pull_item *items;
    size_t n;
    if (pull_items(rq, &r, date, slot_id, &items, &n) != 0) {
        json_decref(ctx);
        resp_error(rq, rs, 500, NULL, NULL);
        return 0;
    }
    if (n > 1)
        qsort(items, n, sizeof *items, by_slot ? cmp_slot : cmp_box);
    json_t *groups = json_array();
    json_t *g = NULL, *rows = NULL;
    int cur = -1;
    size_t missing = 0;
    for (size_t i = 0; i < n; i++) {
        if (!items[i].box[0])
            missing++;
        if (!g || (by_slot && items[i].start != cur)) {
            g = json_object();
            rows = json_array();
            json_object_set_new(g, "rows", rows);
            if (by_slot) {
                char a[6], e[6], t[16];
                ps_hhmm(items[i].start, a);
                ps_hhmm(items[i].start + items[i].len, e);
                snprintf(t, sizeof t, "%s〜%s", a, e);
                json_object_set_new(g, "heading", json_string(t));
            }
            char id[32];
            snprintf(id, sizeof id, "pull-group-%zu",
                     json_array_size(groups) + 1);
            json_object_set_new(g, "id", json_string(id));
            json_array_append_new(groups, g);
            cur = items[i].start;
        }
        json_array_append_new(rows, pull_row(&items[i]));
    }
    free(items);
    char detail[96];
    snprintf(detail, sizeof detail, "{\"date\":\"%s\",\"rows\":%zu}", date, n);
    char tid[24];
    snprintf(tid, sizeof tid, "%lld", (long long)r.id);
    if (admin_audit_read(rq, rs, "pickup.pull_list.read", "location", tid,
                         detail) != 0) {
        json_decref(groups);
        json_decref(ctx);
        return 0;
    }
    char day[64];
    ps_date_label(rq->lang, date, 1, day, sizeof day);
    json_object_set_new(ctx, "day_label", json_string(day));
    json_object_set_new(ctx, "location_name", json_string(r.name));
    json_object_set_new(ctx, "groups", groups);
    json_object_set_new(ctx, "count", json_integer((json_int_t)n));
    json_object_set_new(ctx, "missing", json_integer((json_int_t)missing));
    json_object_set_new(ctx, "by_slot", json_boolean(by_slot));
    char printed[32];
    time_format_jst(now_unix(), printed, sizeof printed);
    json_object_set_new(ctx, "printed_at", json_string(printed));
    resp_page(rq, rs, 200, "pickup/staff_pull_list", "pstaff.pull.title", ctx);
    return 0;
}

static const struct route export_routes[] = {
    {"GET", "/staff/pickup/export", get_export, "pickup.export", 0},
    {"GET", "/staff/pickup/export.csv", get_export_csv, "pickup.export", 0},
    {"GET", "/staff/pickup/pull-list", get_pull_list, "booking.staff", 0},
};

void ps_export_register(void)
{
    router_add(export_routes, ARRAY_LEN(export_routes));
}
