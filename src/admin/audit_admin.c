/*
** audit_admin.c - the audit log for administrators and auditors (SEC-8,
** WIN-3): search by period (dates in Japan time), user, action, record
** and result, with pagination (htmx updates the results in place, plain
** links and forms work without it); CSV export in UTF-8 with a BOM or in
** CP932 for Excel; GET /api/v1/audit; and the alerts raised when the log
** could not be written, with their acknowledgement.
**
** Searching and exporting are audited too ("audit.search",
** "audit.export", the filter as JSON in the detail), after the data is
** gathered and before any of it is sent, so nothing leaves unrecorded.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/admin.h"
#include "core/audit.h"
#include "core/db.h"
#include "core/parse.h"
#include "core/tmpl.h"

#define AUDIT_PER_PAGE  50
#define AUDIT_API_MAX   200
#define ALERTS_PER_PAGE 50
#define JST_OFFSET      (9 * 3600)

/* ---- the filter --------------------------------------------------------- */

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar
** (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int days_in_month(int y, int m)
{
    static const int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return dm[m - 1];
}

static int digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

int admin_date_jst(const char *s, int64_t *out)
{
    int y, m, d;
    /* "2026-11-22" from <input type="date">; "2026/11/22" as typed. */
    if (!s || strlen(s) != 10 || s[4] != s[7] || (s[4] != '-' && s[4] != '/') ||
        digits(s, 4, &y) || digits(s + 5, 2, &m) || digits(s + 8, 2, &d))
        return -1;
    if (y < 2000 || y > 2199 || m < 1 || m > 12 || d < 1 ||
        d > days_in_month(y, m))
        return -1;
    *out = days_from_civil(y, m, d) * 86400 - JST_OFFSET;
    return 0;
}

static void filter_error(struct audit_filter *f, const char *field,
                         const char *key)
{
    if (f->nerr < AUDIT_FILTER_MAX_ERRORS) {
        f->err[f->nerr].field = field;
        f->err[f->nerr].key = key;
        f->nerr++;
    }
}

static int result_valid(const char *s)
{
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || *s == '_'))
            return 0;
    return 1;
}

int audit_filter_parse(const struct kvlist *params, struct audit_filter *f)
{
    memset(f, 0, sizeof *f);
    int64_t from = 0, to = 0;
    if (admin_text(kv_get(params, "from"), 10, f->from, sizeof f->from) != 0 ||
        (f->from[0] && admin_date_jst(f->from, &from) != 0)) {
        filter_error(f, "from", "admin.err.date");
        from = 0;
    }
    if (admin_text(kv_get(params, "to"), 10, f->to, sizeof f->to) != 0 ||
        (f->to[0] && admin_date_jst(f->to, &to) != 0)) {
        filter_error(f, "to", "admin.err.date");
        to = 0;
    } else if (f->to[0]) {
        to += 86400; /* the whole last day */
    }
    if (from && to && from >= to)
        filter_error(f, "to", "admin.err.date_range");
    if (admin_text(kv_get(params, "login"), 64, f->login, sizeof f->login))
        filter_error(f, "login", "admin.err.too_long64");
    if (admin_text(kv_get(params, "action"), 64, f->action, sizeof f->action))
        filter_error(f, "action", "admin.err.too_long64");
    if (admin_text(kv_get(params, "target"), 129, f->target, sizeof f->target))
        filter_error(f, "target", "admin.err.too_long129");
    if (admin_text(kv_get(params, "result"), 16, f->result, sizeof f->result) !=
            0 ||
        !result_valid(f->result)) {
        f->result[0] = 0;
        filter_error(f, "result", "admin.err.result");
    }
    f->page = admin_page_param(kv_get(params, "page"));
    int64_t asof;
    if (admin_parse_id(kv_get(params, "asof"), &asof) == 0)
        f->asof = asof;
    int64_t n0;
    if (f->asof && admin_parse_id(kv_get(params, "n"), &n0) == 0 &&
        n0 <= 1000000000)
        f->n0 = n0;
    f->q.from = from;
    f->q.to = to;
    if (f->asof && (!f->q.to || f->asof < f->q.to))
        f->q.to = f->asof;
    f->q.login = f->login[0] ? f->login : NULL;
    f->q.action = f->action[0] ? f->action : NULL;
    f->q.target = f->target[0] ? f->target : NULL;
    f->q.result = f->result[0] ? f->result : NULL;
    f->q.limit = AUDIT_PER_PAGE;
    f->q.offset = (int)((f->page - 1) * AUDIT_PER_PAGE);
    return f->nerr ? -1 : 0;
}

void audit_filter_query(const struct audit_filter *f, struct buf *out)
{
    const char *names[] = {"from", "to", "login", "action", "target", "result"};
    const char *vals[] = {f->from,   f->to,     f->login,
                          f->action, f->target, f->result};
    int first = 1;
    for (size_t i = 0; i < ARRAY_LEN(names); i++) {
        if (!vals[i][0])
            continue;
        if (!first)
            buf_putc(out, '&');
        first = 0;
        buf_printf(out, "%s=", names[i]);
        url_encode(out, vals[i]);
    }
}

/* The filter as JSON for the detail of "audit.search"/"audit.export". */
static char *filter_detail(const struct audit_filter *f, const char *extra_key,
                           const char *extra_val, int64_t rows)
{
    json_t *o = json_object();
    const char *names[] = {"from", "to", "login", "action", "target", "result"};
    const char *vals[] = {f->from,   f->to,     f->login,
                          f->action, f->target, f->result};
    for (size_t i = 0; i < ARRAY_LEN(names); i++)
        if (vals[i][0])
            json_object_set_new(o, names[i], json_string(vals[i]));
    if (f->page > 1)
        json_object_set_new(o, "page", json_integer(f->page));
    if (extra_key)
        json_object_set_new(o, extra_key, json_string(extra_val));
    json_object_set_new(o, "rows", json_integer(rows));
    char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    return s ? s : xstrdup("{}");
}

/* ---- the search page ---------------------------------------------------- */

static json_t *result_options(struct req *rq, const char *selected)
{
    const char *values[] = {"", "ok", "denied", "failed"};
    const char *keys[] = {"admin.any", "audit.result.ok", "audit.result.denied",
                          "audit.result.failed"};
    json_t *a = json_array();
    for (size_t i = 0; i < ARRAY_LEN(values); i++) {
        json_t *o = json_object();
        json_object_set_new(o, "value", json_string(values[i]));
        json_object_set_new(o, "label",
                            json_string(i18n_get(rq->lang, keys[i])));
        if (strcmp(values[i], selected) == 0)
            json_object_set_new(o, "selected", json_true());
        json_array_append_new(a, o);
    }
    return a;
}

static json_t *filter_form(struct req *rq, const struct audit_filter *f,
                           json_t *errors)
{
    json_t *form = json_object();
    json_t *x = admin_field(rq, "from", "audit.from", f->from, 10, 0);
    json_object_set_new(x, "type", json_string("date"));
    json_object_set_new(x, "hint",
                        json_string(i18n_get(rq->lang, "audit.date_hint")));
    json_object_set_new(form, "from", x);
    x = admin_field(rq, "to", "audit.to", f->to, 10, 0);
    json_object_set_new(x, "type", json_string("date"));
    json_object_set_new(x, "hint",
                        json_string(i18n_get(rq->lang, "audit.date_hint")));
    json_object_set_new(form, "to", x);
    x = admin_field(rq, "login", "audit.login", f->login, 64, 0);
    json_object_set_new(x, "autocomplete", json_string("off"));
    json_object_set_new(form, "login", x);
    x = admin_field(rq, "action", "audit.action", f->action, 64, 0);
    json_object_set_new(x, "hint",
                        json_string(i18n_get(rq->lang, "audit.action_hint")));
    json_object_set_new(form, "action", x);
    x = admin_field(rq, "target", "audit.target", f->target, 129, 0);
    json_object_set_new(x, "hint",
                        json_string(i18n_get(rq->lang, "audit.target_hint")));
    json_object_set_new(form, "target", x);
    x = admin_field(rq, "result", "audit.result", "", 0, 0);
    json_object_set_new(x, "select", json_true());
    json_object_set_new(x, "options", result_options(rq, f->result));
    json_object_set_new(form, "result", x);
    for (int i = 0; i < f->nerr; i++)
        admin_field_error(rq, form, errors, f->err[i].field, f->err[i].key);
    return form;
}

static const char *result_badge(const char *r)
{
    if (!r)
        return "neutral";
    if (strcmp(r, "ok") == 0)
        return "success";
    if (strcmp(r, "denied") == 0)
        return "error";
    if (strcmp(r, "failed") == 0)
        return "warning";
    return "neutral";
}

static const char *str_of(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

/* The rows of audit_search() as the table shows them. */
static json_t *page_rows(struct req *rq, json_t *rows)
{
    json_t *out = json_array();
    size_t i;
    json_t *r;
    json_array_foreach(rows, i, r)
    {
        json_t *o = json_object();
        json_object_set_new(o, "time", json_string(str_of(r, "time")));
        json_object_set_new(o, "login", json_string(str_of(r, "login")));
        json_object_set_new(o, "role", json_string(str_of(r, "role")));
        json_object_set_new(o, "action", json_string(str_of(r, "action")));
        const char *tt = str_of(r, "target_type");
        const char *ti = str_of(r, "target_id");
        struct buf t;
        buf_init(&t);
        buf_puts(&t, tt);
        if (*ti)
            buf_printf(&t, ":%s", ti);
        json_object_set_new(o, "target", json_string(t.data ? t.data : ""));
        buf_free(&t);
        const char *res = str_of(r, "result");
        char key[64];
        snprintf(key, sizeof key, "audit.result.%s", res);
        const char *label = i18n_get(rq->lang, key);
        json_object_set_new(o, "result_label",
                            json_string(strcmp(label, key) == 0 ? res : label));
        json_object_set_new(o, "result_badge", json_string(result_badge(res)));
        json_object_set_new(o, "ip", json_string(str_of(r, "ip")));
        json_object_set_new(o, "detail", json_string(str_of(r, "detail")));
        json_object_set_new(o, "seq", json_incref(json_object_get(r, "seq")));
        json_array_append_new(out, o);
    }
    return out;
}

static void audit_page(struct req *rq, struct resp *rs, int status, json_t *ctx)
{
    json_object_set_new(ctx, "can_export",
                        json_boolean(req_can(rq, "audit.export")));
    resp_page(rq, rs, status, "admin/audit", "admin.audit.title", ctx);
}

/* Shows the form again with the filter's problems, status 400. */
static void audit_bad_filter(struct req *rq, struct resp *rs,
                             const struct audit_filter *f)
{
    json_t *ctx = json_object();
    json_t *errors = json_array();
    json_object_set_new(ctx, "form", filter_form(rq, f, errors));
    json_object_set_new(ctx, "errors", errors);
    /* htmx swaps only 2xx answers by default; the form it sent must come
    ** back with its errors shown, so it gets 200.  Without JavaScript the
    ** browser gets the proper 400. */
    audit_page(rq, rs, req_header(rq, "HX-Request") ? 200 : 400, ctx);
}

static int get_audit(struct req *rq, struct resp *rs)
{
    struct audit_filter f;
    if (audit_filter_parse(&rq->query_params, &f) != 0) {
        audit_bad_filter(rq, rs, &f);
        return 0;
    }
    /* The pages of one search show the log as it was at its first page:
    ** its links carry asof (entries before that second) and n (how many
    ** matched then).  Entries appended since, this search's own record
    ** among them, have the highest sequence numbers, so they are the
    ** first rows of the newest-first order: skipping them keeps every
    ** later page where it was. */
    if (!f.asof) {
        f.asof = now_unix() + 1;
        if (!f.q.to || f.asof < f.q.to)
            f.q.to = f.asof;
    }
    json_t *rows = NULL;
    int64_t total = 0;
    if (f.n0 > 0) {
        struct audit_query cq = f.q;
        cq.limit = 1;
        cq.offset = 0;
        if (audit_search(rq->db, &cq, &rows, &total) != 0) {
            resp_error(rq, rs, 500, NULL, NULL);
            return 0;
        }
        json_decref(rows);
        rows = NULL;
        if (total > f.n0)
            f.q.offset += (int)(total - f.n0);
    }
    if (audit_search(rq->db, &f.q, &rows, &total) != 0) {
        resp_error(rq, rs, 500, NULL, NULL);
        return 0;
    }
    if (f.n0 > 0 && total > f.n0)
        total = f.n0;
    char *detail =
        filter_detail(&f, NULL, NULL, (int64_t)json_array_size(rows));
    int rc = admin_audit_read(rq, rs, "audit.search", "audit", "*", detail);
    free(detail);
    if (rc != 0) {
        json_decref(rows);
        return 0;
    }
    json_t *ctx = json_object();
    json_t *errors = json_array();
    json_object_set_new(ctx, "form", filter_form(rq, &f, errors));
    json_object_set_new(ctx, "errors", errors);
    json_object_set_new(ctx, "searched", json_true());
    json_object_set_new(ctx, "rows", page_rows(rq, rows));
    json_decref(rows);
    json_object_set_new(ctx, "total", json_integer(total));
    char when[32];
    time_format_jst(f.asof - 1, when, sizeof when);
    const char *names[] = {"time"};
    const char *values[] = {when};
    char *asof = admin_msg(rq->lang, "audit.asof", names, values, 1);
    json_object_set_new(ctx, "asof", json_string(asof));
    free(asof);

    struct buf q, b;
    buf_init(&q);
    buf_init(&b);
    audit_filter_query(&f, &q);
    buf_printf(&b, "/admin/audit?%s%sasof=%lld&n=%lld", q.data ? q.data : "",
               q.len ? "&" : "", (long long)f.asof, (long long)total);
    json_object_set_new(
        ctx, "pagination",
        admin_pagination(rq, b.data, f.page, AUDIT_PER_PAGE, total));
    buf_reset(&b);
    buf_printf(&b, "/admin/audit/export?%s%sencoding=", q.data ? q.data : "",
               q.len ? "&" : "");
    struct buf u;
    buf_init(&u);
    buf_printf(&u, "%sutf8", b.data);
    json_object_set_new(ctx, "export_utf8", json_string(u.data));
    buf_reset(&u);
    buf_printf(&u, "%scp932", b.data);
    json_object_set_new(ctx, "export_cp932", json_string(u.data));
    buf_free(&u);
    buf_free(&b);
    buf_free(&q);
    audit_page(rq, rs, 200, ctx);
    return 0;
}

/* ---- export ------------------------------------------------------------- */

static int get_audit_export(struct req *rq, struct resp *rs)
{
    struct audit_filter f;
    const char *enc = kv_get(&rq->query_params, "encoding");
    if (!enc || !*enc)
        enc = "utf8";
    int cp932 = strcmp(enc, "cp932") == 0;
    if (!cp932 && strcmp(enc, "utf8") != 0) {
        resp_error(rq, rs, 400, NULL, i18n_get(rq->lang, "admin.err.encoding"));
        return 0;
    }
    if (audit_filter_parse(&rq->query_params, &f) != 0) {
        audit_bad_filter(rq, rs, &f);
        return 0;
    }
    struct buf out;
    buf_init(&out);
    long n = audit_export_csv(rq->db, &f.q, cp932, &out);
    if (n < 0) {
        buf_free(&out);
        resp_error(rq, rs, 500, NULL, NULL);
        return 0;
    }
    char *detail = filter_detail(&f, "encoding", cp932 ? "cp932" : "utf8", n);
    int rc = admin_audit_read(rq, rs, "audit.export", "audit", "*", detail);
    free(detail);
    if (rc != 0) {
        buf_free(&out);
        return 0;
    }
    buf_free(&rs->body);
    rs->body = out;
    rs->status = 200;
    /* Windows-31J is the IANA name of CP932 (Shift_JIS with Microsoft's
    ** extensions), which is what the file really holds. */
    str_copy(rs->content_type,
             cp932 ? "text/csv; charset=Windows-31J"
                   : "text/csv; charset=utf-8",
             sizeof rs->content_type);
    char day[32], name[64], cd[128];
    time_format_jst(now_unix(), day, sizeof day); /* "2026-11-22 13:05:00" */
    snprintf(name, sizeof name, "cityos-audit-%.4s%.2s%.2s.csv", day, day + 5,
             day + 8);
    snprintf(cd, sizeof cd, "attachment; filename=\"%s\"", name);
    resp_header(rs, "Content-Disposition", cd);
    return 0;
}

/* ---- GET /api/v1/audit -------------------------------------------------- */

static int api_audit(struct req *rq, struct resp *rs)
{
    struct audit_filter f;
    if (audit_filter_parse(&rq->query_params, &f) != 0) {
        struct buf d;
        buf_init(&d);
        for (int i = 0; i < f.nerr; i++)
            buf_printf(&d, "%s%s: %s", i ? " " : "", f.err[i].field,
                       i18n_get(rq->lang, f.err[i].key));
        resp_error(rq, rs, 400, NULL, d.data);
        buf_free(&d);
        return 0;
    }
    int64_t per_page = AUDIT_PER_PAGE;
    const char *pp = kv_get(&rq->query_params, "per_page");
    if (pp && admin_parse_id(pp, &per_page) != 0) {
        resp_error(rq, rs, 400, NULL, "per_page");
        return 0;
    }
    if (per_page > AUDIT_API_MAX)
        per_page = AUDIT_API_MAX;
    f.q.limit = (int)per_page;
    f.q.offset = (int)((f.page - 1) * per_page);
    json_t *rows = NULL;
    int64_t total = 0;
    if (audit_search(rq->db, &f.q, &rows, &total) != 0) {
        resp_error(rq, rs, 500, NULL, NULL);
        return 0;
    }
    char *detail =
        filter_detail(&f, NULL, NULL, (int64_t)json_array_size(rows));
    int rc = admin_audit_read(rq, rs, "audit.search", "audit", "*", detail);
    free(detail);
    if (rc != 0) {
        json_decref(rows);
        return 0;
    }
    json_t *o = json_object();
    json_object_set_new(o, "total", json_integer(total));
    json_object_set_new(o, "page", json_integer(f.page));
    json_object_set_new(o, "per_page", json_integer(per_page));
    json_object_set_new(o, "items", rows);
    resp_json(rs, 200, o);
    return 0;
}

/* ---- alerts ------------------------------------------------------------- */

static int get_alerts(struct req *rq, struct resp *rs)
{
    int64_t page = admin_page_param(kv_get(&rq->query_params, "page"));
    int64_t total = 0, open = 0;
    if (db_query_int(rq->db, &total, "SELECT COUNT(*) FROM alerts", "") !=
            DB_ROW ||
        db_query_int(rq->db, &open,
                     "SELECT COUNT(*) FROM alerts WHERE acknowledged_at IS "
                     "NULL",
                     "") != DB_ROW) {
        resp_error(rq, rs, 500, NULL, NULL);
        return 0;
    }
    struct db_stmt *st = db_queryf(
        rq->db,
        "SELECT id, ts, kind, message, acknowledged_by, acknowledged_at "
        "FROM alerts ORDER BY CASE WHEN acknowledged_at IS NULL THEN 0 "
        "ELSE 1 END, ts DESC, id DESC LIMIT ? OFFSET ?",
        "ii", (int64_t)ALERTS_PER_PAGE, (page - 1) * ALERTS_PER_PAGE);
    json_t *rows = json_array();
    int rc = DB_ERROR;
    while (st && (rc = db_step(st)) == DB_ROW) {
        json_t *o = json_object();
        int64_t id = db_col_int(st, 0);
        char t[32], href[64];
        json_object_set_new(o, "id", json_integer(id));
        time_format_jst(db_col_int(st, 1), t, sizeof t);
        json_object_set_new(o, "time", json_string(t));
        const char *kind = db_col_text(st, 2);
        char key[96];
        snprintf(key, sizeof key, "alerts.kind.%s", kind ? kind : "");
        const char *label = i18n_get(rq->lang, key);
        json_object_set_new(o, "kind", json_string(kind ? kind : ""));
        if (strcmp(label, key) != 0)
            json_object_set_new(o, "kind_label", json_string(label));
        const char *msg = db_col_text(st, 3);
        json_object_set_new(o, "message", json_string(msg ? msg : ""));
        if (!db_col_is_null(st, 5)) {
            const char *by = db_col_text(st, 4);
            json_object_set_new(o, "acked_by", json_string(by ? by : ""));
            time_format_jst(db_col_int(st, 5), t, sizeof t);
            json_object_set_new(o, "acked_at", json_string(t));
        } else {
            snprintf(href, sizeof href, "/admin/alerts/%lld/ack",
                     (long long)id);
            json_object_set_new(o, "ack_action", json_string(href));
        }
        json_array_append_new(rows, o);
    }
    db_finalize(st);
    if (rc != DB_DONE) {
        json_decref(rows);
        resp_error(rq, rs, 500, NULL, NULL);
        return 0;
    }
    json_t *ctx = json_object();
    json_object_set_new(ctx, "alerts", rows);
    json_object_set_new(ctx, "open", json_integer(open));
    char n[24];
    snprintf(n, sizeof n, "%lld", (long long)open);
    const char *names[] = {"n"};
    const char *values[] = {n};
    char *s = admin_msg(rq->lang, open ? "alerts.open" : "alerts.none_open",
                        names, values, 1);
    json_object_set_new(ctx, "open_text", json_string(s));
    free(s);
    json_object_set_new(
        ctx, "pagination",
        admin_pagination(rq, "/admin/alerts", page, ALERTS_PER_PAGE, total));
    resp_page(rq, rs, 200, "admin/alerts", "admin.alerts.title", ctx);
    return 0;
}

static int post_alert_ack(struct req *rq, struct resp *rs)
{
    int64_t id;
    if (admin_parse_id(rq->params[0], &id) != 0) {
        resp_error(rq, rs, 404, NULL, NULL);
        return 0;
    }
    if (db_begin(rq->db) != DB_OK) {
        resp_error(rq, rs, 503, NULL, NULL);
        return 0;
    }
    int64_t n = db_run(rq->db,
                       "UPDATE alerts SET acknowledged_by = ?, "
                       "acknowledged_at = ? WHERE id = ? AND acknowledged_at "
                       "IS NULL",
                       "sii", rq->actor.login, now_unix(), id);
    if (n < 0) {
        db_rollback(rq->db);
        resp_error(rq, rs, 500, NULL, NULL);
        return 0;
    }
    if (n == 0) { /* unknown, or acknowledged meanwhile by someone else */
        db_rollback(rq->db);
        int64_t exists = 0;
        db_query_int(rq->db, &exists,
                     "SELECT COUNT(*) FROM alerts WHERE id = ?", "i", id);
        if (!exists)
            resp_error(rq, rs, 404, NULL, NULL);
        else
            resp_redirect(rs, "/admin/alerts?done=alert_acked");
        return 0;
    }
    char tid[24];
    snprintf(tid, sizeof tid, "%lld", (long long)id);
    if (admin_audit_commit(rq, rs, "alert.ack", "alert", tid, NULL) != 0)
        return 0;
    resp_redirect(rs, "/admin/alerts?done=alert_acked");
    return 0;
}

static const struct route audit_routes[] = {
    {"GET", "/admin/audit", get_audit, "audit.read", 0},
    {"GET", "/admin/audit/export", get_audit_export, "audit.export", 0},
    {"GET", "/api/v1/audit", api_audit, "audit.read", 0},
    {"GET", "/admin/alerts", get_alerts, "alerts.read", 0},
    {"POST", "/admin/alerts/:id/ack", post_alert_ack, "alerts.read", 0},
};

void audit_admin_register(void)
{
    router_add(audit_routes, ARRAY_LEN(audit_routes));
}
