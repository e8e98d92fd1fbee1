/*
** users_admin.c - staff-account administration (SEC-1, SEC-2, WIN-2): the
** account list with search and pagination, creating an account, viewing
** and editing one, suspending and re-enabling it (suspension ends its
** sessions at once), unlocking, resetting its password or TOTP, deleting
** it after a confirmation page; and the JSON API GET /api/v1/users.
**
** Every change goes through users.h, which writes the audit entry in the
** same transaction; every read of the list or of one account is audited
** first ("user.list", "user.view") and refused when it cannot be.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "admin/admin.h"
#include "core/db.h"
#include "core/parse.h"
#include "core/password.h"
#include "core/session.h"
#include "core/tmpl.h"
#include "core/users.h"

#define USERS_PER_PAGE   20
#define API_MAX_PER_PAGE 100

/* ---- the list filter ---------------------------------------------------- */

struct user_filter {
    char q[64 * 4 + 1]; /* part of the login or the display name */
    char role[33];      /* role name */
    char status[16];    /* active | suspended | locked | no_totp */
    int64_t page;
    int64_t per_page;
    const char *err_field;
    const char *err_key;
};

static const char *const status_values[] = {"active", "suspended", "locked",
                                            "no_totp"};

static int role_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 32)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
              *s == '_'))
            return 0;
    return 1;
}

/* 0, or -1 with err_field/err_key set. */
static int user_filter_parse(struct req *rq, struct user_filter *f)
{
    memset(f, 0, sizeof *f);
    const struct kvlist *p = &rq->query_params;
    f->page = admin_page_param(kv_get(p, "page"));
    f->per_page = USERS_PER_PAGE;
    const char *pp = kv_get(p, "per_page");
    int64_t n;
    if (pp && admin_parse_id(pp, &n) == 0)
        f->per_page = n > API_MAX_PER_PAGE ? API_MAX_PER_PAGE : n;
    if (admin_text(kv_get(p, "q"), 64, f->q, sizeof f->q) != 0) {
        f->err_field = "q";
        f->err_key = "admin.err.q";
    }
    if (admin_text(kv_get(p, "role"), 32, f->role, sizeof f->role) != 0 ||
        (f->role[0] && !role_name_ok(f->role))) {
        f->role[0] = 0;
        f->err_field = "role";
        f->err_key = "admin.err.filter_role";
    }
    const char *st = kv_get(p, "status");
    if (st && *st) {
        size_t i;
        for (i = 0; i < ARRAY_LEN(status_values); i++)
            if (strcmp(st, status_values[i]) == 0)
                break;
        if (i == ARRAY_LEN(status_values)) {
            f->err_field = "status";
            f->err_key = "admin.err.filter_status";
        } else {
            str_copy(f->status, st, sizeof f->status);
        }
    }
    return f->err_field ? -1 : 0;
}

static void user_filter_query(const struct user_filter *f, struct buf *out)
{
    const char *names[] = {"q", "role", "status"};
    const char *vals[] = {f->q, f->role, f->status};
    for (size_t i = 0; i < ARRAY_LEN(names); i++) {
        if (!vals[i][0])
            continue;
        if (out->len && out->data[out->len - 1] != '?')
            buf_putc(out, '&');
        buf_printf(out, "%s=", names[i]);
        url_encode(out, vals[i]);
    }
}

/* A LIKE pattern matching s anywhere, with \ % _ escaped (ESCAPE '\'),
** ASCII lower-cased to match lower() on both engines. */
static void like_pattern(const char *s, struct buf *out)
{
    buf_putc(out, '%');
    for (; *s; s++) {
        char ch = *s;
        if (ch == '\\' || ch == '%' || ch == '_')
            buf_putc(out, '\\');
        if (ch >= 'A' && ch <= 'Z')
            ch = (char)(ch - 'A' + 'a');
        buf_putc(out, ch);
    }
    buf_putc(out, '%');
}

/* The WHERE clause of the filter and its text parameters (at most 3). */
static void user_where(const struct user_filter *f, struct buf *sql,
                       struct buf *like, const char **args, int *nargs)
{
    *nargs = 0;
    buf_puts(sql, " WHERE 1 = 1");
    if (f->q[0]) {
        like_pattern(f->q, like);
        buf_puts(sql, " AND (lower(u.login) LIKE ? ESCAPE '\\' OR "
                      "lower(u.display_name) LIKE ? ESCAPE '\\')");
        args[(*nargs)++] = like->data;
        args[(*nargs)++] = like->data;
    }
    if (f->role[0]) {
        buf_puts(sql, " AND r.name = ?");
        args[(*nargs)++] = f->role;
    }
    if (strcmp(f->status, "active") == 0)
        buf_puts(sql, " AND u.status = 'active'");
    else if (strcmp(f->status, "suspended") == 0)
        buf_puts(sql, " AND u.status = 'suspended'");
    else if (strcmp(f->status, "locked") == 0)
        buf_puts(sql, " AND u.locked_at IS NOT NULL");
    else if (strcmp(f->status, "no_totp") == 0)
        buf_puts(sql, " AND u.totp_enabled = 0");
}

/* One account of the list, without secrets and without the e-mail
** address (only the single view shows that). */
struct user_row {
    int64_t id;
    const char *login, *display_name, *department, *role, *label_ja, *label_en,
        *status;
    int locked, totp, must_change, privileged;
    int64_t last_login_at, created_at;
};

#define USER_LIST_COLS                                                         \
    "SELECT u.id, u.login, u.display_name, u.department, r.name, "             \
    "r.label_ja, r.label_en, u.status, u.locked_at, u.totp_enabled, "          \
    "u.must_change_password, u.last_login_at, u.created_at, r.privileged "     \
    "FROM users u JOIN roles r ON r.id = u.role_id"

static void row_from_stmt(struct db_stmt *st, struct user_row *r)
{
    r->id = db_col_int(st, 0);
    r->login = db_col_text(st, 1);
    r->display_name = db_col_text(st, 2);
    r->department = db_col_text(st, 3);
    r->role = db_col_text(st, 4);
    r->label_ja = db_col_text(st, 5);
    r->label_en = db_col_text(st, 6);
    r->status = db_col_text(st, 7);
    r->locked = !db_col_is_null(st, 8);
    r->totp = (int)db_col_int(st, 9);
    r->must_change = (int)db_col_int(st, 10);
    r->last_login_at = db_col_is_null(st, 11) ? 0 : db_col_int(st, 11);
    r->created_at = db_col_int(st, 12);
    r->privileged = (int)db_col_int(st, 13);
}

static json_t *iso_or_null(int64_t t)
{
    if (t <= 0)
        return json_null();
    char s[32];
    time_format_iso(t, s, sizeof s);
    return json_string(s);
}

static json_t *text_or_empty(const char *s)
{
    return json_string(s ? s : "");
}

/* The API's representation of an account (docs/api/openapi.yaml). */
static json_t *row_api_json(struct req *rq, const struct user_row *r)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer(r->id));
    json_object_set_new(o, "login", text_or_empty(r->login));
    json_object_set_new(o, "display_name", text_or_empty(r->display_name));
    json_object_set_new(o, "department", text_or_empty(r->department));
    json_object_set_new(o, "role", text_or_empty(r->role));
    json_object_set_new(
        o, "role_label",
        text_or_empty(strcmp(rq->lang, "en") == 0 ? r->label_en : r->label_ja));
    json_object_set_new(o, "privileged", json_boolean(r->privileged));
    json_object_set_new(o, "status", text_or_empty(r->status));
    json_object_set_new(o, "locked", json_boolean(r->locked));
    json_object_set_new(o, "totp_enabled", json_boolean(r->totp));
    json_object_set_new(o, "must_change_password",
                        json_boolean(r->must_change));
    json_object_set_new(o, "last_login_at", iso_or_null(r->last_login_at));
    json_object_set_new(o, "created_at", iso_or_null(r->created_at));
    return o;
}

static void jst_or_dash(int64_t t, char *out, size_t n)
{
    if (t <= 0)
        str_copy(out, "-", n);
    else
        time_format_jst(t, out, n);
}

/* A row of the HTML list. */
static json_t *row_page_json(struct req *rq, const struct user_row *r)
{
    json_t *o = row_api_json(rq, r);
    char href[64], when[32];
    snprintf(href, sizeof href, "/admin/users/%lld", (long long)r->id);
    json_object_set_new(o, "href", json_string(href));
    json_object_set_new(
        o, "suspended",
        json_boolean(r->status && strcmp(r->status, "suspended") == 0));
    jst_or_dash(r->last_login_at, when, sizeof when);
    json_object_set_new(o, "last_login", json_string(when));
    return o;
}

/* Runs the list query; rows (API or page objects) into *items. */
static int user_list(struct req *rq, const struct user_filter *f, int for_api,
                     json_t **items, int64_t *total)
{
    struct buf where, like, sql;
    buf_init(&where);
    buf_init(&like);
    buf_init(&sql);
    const char *args[4];
    int nargs, ret = -1;
    user_where(f, &where, &like, args, &nargs);
    *items = NULL;

    buf_printf(&sql,
               "SELECT COUNT(*) FROM users u JOIN roles r ON "
               "r.id = u.role_id%s",
               where.data);
    struct db_stmt *st = db_prepare(rq->db, sql.data);
    if (!st)
        goto out;
    for (int i = 0; i < nargs; i++)
        db_bind_text(st, i + 1, args[i]);
    int rc = db_step(st);
    *total = rc == DB_ROW ? db_col_int(st, 0) : 0;
    db_finalize(st);
    if (rc != DB_ROW)
        goto out;

    buf_reset(&sql);
    buf_printf(&sql, "%s%s ORDER BY u.login LIMIT ? OFFSET ?", USER_LIST_COLS,
               where.data);
    st = db_prepare(rq->db, sql.data);
    if (!st)
        goto out;
    for (int i = 0; i < nargs; i++)
        db_bind_text(st, i + 1, args[i]);
    db_bind_int(st, nargs + 1, f->per_page);
    db_bind_int(st, nargs + 2, (f->page - 1) * f->per_page);
    json_t *a = json_array();
    while ((rc = db_step(st)) == DB_ROW) {
        struct user_row r;
        row_from_stmt(st, &r);
        json_array_append_new(a, for_api ? row_api_json(rq, &r)
                                         : row_page_json(rq, &r));
    }
    db_finalize(st);
    if (rc != DB_DONE) {
        json_decref(a);
        goto out;
    }
    *items = a;
    ret = 0;
out:
    if (ret != 0)
        log_error("admin: user list: %s", db_errmsg(rq->db));
    buf_free(&where);
    buf_free(&like);
    buf_free(&sql);
    return ret;
}

/* The detail of "user.list": the filter, so the log says what was seen. */
static void list_detail(const struct user_filter *f, int64_t shown,
                        struct buf *out)
{
    user_filter_query(f, out);
    buf_printf(out, "%spage=%lld shown=%lld", out->len ? " " : "",
               (long long)f->page, (long long)shown);
}

/* Role choices for a select: [{value, label, selected}]. */
static json_t *role_options(struct req *rq, const char *selected,
                            const char *empty_key)
{
    json_t *a = json_array();
    json_t *o = json_object();
    json_object_set_new(o, "value", json_string(""));
    json_object_set_new(o, "label", json_string(i18n_get(rq->lang, empty_key)));
    json_array_append_new(a, o);
    struct db_stmt *st = db_queryf(
        rq->db, "SELECT name, label_ja, label_en FROM roles ORDER BY id", "");
    while (st && db_step(st) == DB_ROW) {
        const char *name = db_col_text(st, 0);
        o = json_object();
        json_object_set_new(o, "value", text_or_empty(name));
        json_object_set_new(o, "label",
                            text_or_empty(db_col_text(
                                st, strcmp(rq->lang, "en") == 0 ? 2 : 1)));
        if (selected && name && strcmp(name, selected) == 0)
            json_object_set_new(o, "selected", json_true());
        json_array_append_new(a, o);
    }
    db_finalize(st);
    return a;
}

static int role_exists(struct req *rq, const char *name)
{
    int64_t id;
    return db_query_int(rq->db, &id, "SELECT id FROM roles WHERE name = ?", "s",
                        name) == DB_ROW;
}

static json_t *select_field(struct req *rq, const char *name,
                            const char *label_key, json_t *options,
                            int required)
{
    json_t *f = admin_field(rq, name, label_key, "", 0, required);
    json_object_set_new(f, "select", json_true());
    json_object_set_new(f, "options", options);
    return f;
}

static json_t *status_options(struct req *rq, const char *selected)
{
    json_t *a = json_array();
    const char *values[] = {"", "active", "suspended", "locked", "no_totp"};
    const char *keys[] = {"admin.status_any", "admin.status_active",
                          "admin.status_suspended", "admin.status_locked",
                          "admin.status_no_totp"};
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

/* ---- GET /admin/users ---------------------------------------------------- */

static int get_users(struct req *rq, struct resp *rs)
{
    struct user_filter f;
    int bad = user_filter_parse(rq, &f) != 0;
    json_t *ctx = json_object();
    json_t *form = json_object();
    json_t *errors = json_array();
    json_object_set_new(form, "q",
                        admin_field(rq, "q", "admin.users.q", f.q, 64, 0));
    json_object_set_new(form, "role",
                        select_field(rq, "role", "admin.users.role",
                                     role_options(rq, f.role, "admin.any"), 0));
    json_object_set_new(form, "status",
                        select_field(rq, "status", "admin.users.status",
                                     status_options(rq, f.status), 0));
    if (bad)
        admin_field_error(rq, form, errors, f.err_field, f.err_key);
    json_object_set_new(ctx, "form", form);
    json_object_set_new(ctx, "errors", errors);
    json_object_set_new(ctx, "can_write",
                        json_boolean(req_can(rq, "users.write")));
    if (bad) {
        resp_page(rq, rs, 400, "admin/users", "admin.users.title", ctx);
        return 0;
    }
    json_t *items;
    int64_t total;
    if (user_list(rq, &f, 0, &items, &total) != 0) {
        json_decref(ctx);
        resp_error(rq, rs, 500, NULL, NULL);
        return 0;
    }
    struct buf d;
    buf_init(&d);
    list_detail(&f, (int64_t)json_array_size(items), &d);
    int rc = admin_audit_read(rq, rs, "user.list", "user", "*", d.data);
    buf_free(&d);
    if (rc != 0) {
        json_decref(items);
        json_decref(ctx);
        return 0;
    }
    json_object_set_new(ctx, "users", items);
    json_object_set_new(ctx, "total", json_integer(total));
    struct buf base;
    buf_init(&base);
    buf_puts(&base, "/admin/users?");
    user_filter_query(&f, &base);
    if (base.data[base.len - 1] == '?')
        base.data[--base.len] = 0;
    json_object_set_new(
        ctx, "pagination",
        admin_pagination(rq, base.data, f.page, f.per_page, total));
    buf_free(&base);
    resp_page(rq, rs, 200, "admin/users", "admin.users.title", ctx);
    return 0;
}

/* ---- GET /api/v1/users and /api/v1/users/:id ---------------------------- */

static int api_users(struct req *rq, struct resp *rs)
{
    struct user_filter f;
    if (user_filter_parse(rq, &f) != 0) {
        resp_error(rq, rs, 400, NULL, i18n_get(rq->lang, f.err_key));
        return 0;
    }
    json_t *items;
    int64_t total;
    if (user_list(rq, &f, 1, &items, &total) != 0) {
        resp_error(rq, rs, 500, NULL, NULL);
        return 0;
    }
    struct buf d;
    buf_init(&d);
    list_detail(&f, (int64_t)json_array_size(items), &d);
    int rc = admin_audit_read(rq, rs, "user.list", "user", "*", d.data);
    buf_free(&d);
    if (rc != 0) {
        json_decref(items);
        return 0;
    }
    json_t *o = json_object();
    json_object_set_new(o, "total", json_integer(total));
    json_object_set_new(o, "page", json_integer(f.page));
    json_object_set_new(o, "per_page", json_integer(f.per_page));
    json_object_set_new(o, "items", items);
    resp_json(rs, 200, o);
    return 0;
}

/* Loads the account named by the route's :id; answers 404 when there is
** none.  0 when found. */
static int load_user(struct req *rq, struct resp *rs, struct user_rec *u)
{
    int64_t id;
    if (admin_parse_id(rq->params[0], &id) != 0) {
        resp_error(rq, rs, 404, NULL, NULL);
        return -1;
    }
    int rc = users_get(rq->db, id, u);
    if (rc != USERS_OK) {
        resp_error(rq, rs, rc == USERS_ENOTFOUND ? 404 : 500, NULL, NULL);
        return -1;
    }
    return 0;
}

static void rec_to_row(const struct user_rec *u, struct user_row *r)
{
    memset(r, 0, sizeof *r);
    r->id = u->id;
    r->login = u->login;
    r->display_name = u->display_name;
    r->department = u->department;
    r->role = u->role;
    r->label_ja = u->role_label_ja;
    r->label_en = u->role_label_en;
    r->status = u->status;
    r->locked = u->locked;
    r->totp = u->totp_enabled;
    r->must_change = u->must_change_password;
    r->privileged = u->privileged;
    r->last_login_at = u->last_login_at;
    r->created_at = u->created_at;
}

static void target_id(int64_t id, char *out, size_t n)
{
    snprintf(out, n, "%lld", (long long)id);
}

static int api_user(struct req *rq, struct resp *rs)
{
    struct user_rec u;
    if (load_user(rq, rs, &u) != 0)
        return 0;
    char tid[24];
    target_id(u.id, tid, sizeof tid);
    if (admin_audit_read(rq, rs, "user.view", "user", tid, NULL) != 0)
        return 0;
    struct user_row r;
    rec_to_row(&u, &r);
    json_t *o = row_api_json(rq, &r);
    json_object_set_new(o, "email", json_string(u.email));
    json_object_set_new(o, "password_changed_at",
                        iso_or_null(u.password_changed_at));
    resp_json(rs, 200, o);
    return 0;
}

/* ---- the account form (create and edit) --------------------------------- */

struct user_form {
    char login[64];
    char display_name[512];
    char email[1024];
    char department[512];
    char role[64];
    char password[PASSWORD_MAX_BYTES + 1];
    int nerr;
    struct {
        const char *field;
        const char *text; /* translated */
    } err[8];
};

static void form_problem(struct req *rq, struct user_form *uf,
                         const char *field, const char *key)
{
    if (uf->nerr < (int)ARRAY_LEN(uf->err)) {
        uf->err[uf->nerr].field = field;
        uf->err[uf->nerr].text = i18n_get(rq->lang, key);
        uf->nerr++;
    }
}

static const char *pw_problem_text(struct req *rq, enum password_problem pp)
{
    return strcmp(rq->lang, "en") == 0 ? password_problem_en(pp)
                                       : password_problem_ja(pp);
}

static int email_ok(const char *e)
{
    const char *at = strchr(e, '@');
    return at && at != e && strchr(at, '.') && !strchr(at + 1, '@') &&
           at[1] != '.' && e[strlen(e) - 1] != '.' &&
           !strpbrk(e, " \r\n\t,;<>\"");
}

/* Reads and checks the posted fields into uf (values and problems);
** creating: also login and password.  Returns the number of problems. */
static int read_user_form(struct req *rq, struct user_form *uf, int creating)
{
    memset(uf, 0, sizeof *uf);
    if (creating) {
        if (admin_text(req_param(rq, "login"), 32, uf->login,
                       sizeof uf->login) != 0)
            form_problem(rq, uf, "login", "admin.err.login_format");
        else if (!uf->login[0])
            form_problem(rq, uf, "login", "admin.err.login_required");
        else if (!users_login_valid(uf->login))
            form_problem(rq, uf, "login", "admin.err.login_format");
    }
    if (admin_text(req_param(rq, "display_name"), 100, uf->display_name,
                   sizeof uf->display_name) != 0 ||
        strpbrk(uf->display_name, "\r\n\t<>"))
        form_problem(rq, uf, "display_name", "admin.err.display_name");
    else if (!uf->display_name[0])
        form_problem(rq, uf, "display_name", "admin.err.display_name_required");
    if (admin_text(req_param(rq, "email"), 254, uf->email, sizeof uf->email) !=
            0 ||
        (uf->email[0] && !email_ok(uf->email)))
        form_problem(rq, uf, "email", "admin.err.email");
    if (admin_text(req_param(rq, "department"), 100, uf->department,
                   sizeof uf->department) != 0 ||
        strpbrk(uf->department, "\r\n\t<>"))
        form_problem(rq, uf, "department", "admin.err.department");
    if (admin_text(req_param(rq, "role"), 32, uf->role, sizeof uf->role) != 0 ||
        !uf->role[0] || !role_name_ok(uf->role) || !role_exists(rq, uf->role))
        form_problem(rq, uf, "role", "admin.err.role");
    if (creating) {
        const char *pw = req_param(rq, "password");
        enum password_problem pp = PASSWORD_OK;
        if (pw && strlen(pw) > PASSWORD_MAX_BYTES)
            pp = PASSWORD_TOO_LONG;
        else if (pw && pw[0]) {
            str_copy(uf->password, pw, sizeof uf->password);
            pp = password_check(pw, uf->login[0] ? uf->login : NULL);
        }
        if (pp != PASSWORD_OK && uf->nerr < (int)ARRAY_LEN(uf->err)) {
            uf->err[uf->nerr].field = "password";
            uf->err[uf->nerr].text = pw_problem_text(rq, pp);
            uf->nerr++;
        }
    }
    return uf->nerr;
}

/* Puts the problems of uf next to their fields of form. */
static void form_errors(const struct user_form *uf, json_t *form,
                        json_t *errors)
{
    for (int i = 0; i < uf->nerr; i++)
        admin_field_error_text(form, errors, uf->err[i].field, uf->err[i].text);
}

/* The edit form of an account, filled from uf (or from the record). */
static json_t *edit_form(struct req *rq, const struct user_form *uf)
{
    json_t *form = json_object();
    json_t *f = admin_field(rq, "display_name", "admin.user.display_name",
                            uf->display_name, 100, 1);
    json_object_set_new(f, "autocomplete", json_string("off"));
    json_object_set_new(form, "display_name", f);
    f = admin_field(rq, "email", "admin.user.email", uf->email, 254, 0);
    json_object_set_new(f, "type", json_string("email"));
    json_object_set_new(f, "autocomplete", json_string("off"));
    json_object_set_new(
        f, "hint", json_string(i18n_get(rq->lang, "admin.user.email_hint")));
    json_object_set_new(form, "email", f);
    json_object_set_new(form, "department",
                        admin_field(rq, "department", "admin.user.department",
                                    uf->department, 100, 0));
    json_object_set_new(form, "role",
                        select_field(rq, "role", "admin.user.role",
                                     role_options(rq, uf->role, "admin.choose"),
                                     1));
    return form;
}

static json_t *create_form(struct req *rq, const struct user_form *uf)
{
    json_t *form = edit_form(rq, uf);
    json_t *f = admin_field(rq, "login", "admin.user.login", uf->login, 32, 1);
    json_object_set_new(f, "autocomplete", json_string("off"));
    json_object_set_new(
        f, "hint", json_string(i18n_get(rq->lang, "admin.user.login_hint")));
    json_object_set_new(form, "login", f);
    f = admin_field(rq, "password", "admin.user.initial_password", "",
                    PASSWORD_MAX_BYTES, 0);
    json_object_set_new(f, "type", json_string("password"));
    json_object_set_new(f, "autocomplete", json_string("new-password"));
    json_object_set_new(
        f, "hint",
        json_string(i18n_get(rq->lang, "admin.user.initial_password_hint")));
    json_object_set_new(form, "password", f);
    return form;
}

static void new_page(struct req *rq, struct resp *rs, int status, json_t *form,
                     json_t *errors)
{
    json_t *ctx = json_object();
    json_object_set_new(ctx, "form", form);
    json_object_set_new(ctx, "errors", errors ? errors : json_array());
    json_t *bc = json_array();
    json_t *o = json_object();
    json_object_set_new(o, "href", json_string("/admin/users"));
    json_object_set_new(o, "label",
                        json_string(i18n_get(rq->lang, "admin.users.title")));
    json_array_append_new(bc, o);
    json_object_set_new(ctx, "breadcrumbs", bc);
    resp_page(rq, rs, status, "admin/user_new", "admin.user_new.title", ctx);
}

static int get_user_new(struct req *rq, struct resp *rs)
{
    struct user_form uf;
    memset(&uf, 0, sizeof uf);
    new_page(rq, rs, 200, create_form(rq, &uf), NULL);
    return 0;
}

/* A password for someone else to change at first sign-in: 4 groups of 4
** characters from an alphabet without look-alikes (0/O, 1/l/I), about 93
** bits, checked against the policy like any other. */
static int temp_password(const char *login, char out[24])
{
    static const char alphabet[] =
        "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    out[0] = 0;
    if (sodium_ready() != 0)
        return -1; /* no randomness: nothing safe to hand out */
    do {
        size_t k = 0;
        for (int g = 0; g < 4; g++) {
            if (g)
                out[k++] = '-';
            for (int i = 0; i < 4; i++)
                out[k++] = alphabet[randombytes_uniform(sizeof alphabet - 1)];
        }
        out[k] = 0;
    } while (password_check(out, login) != PASSWORD_OK);
    return 0;
}

/* Shows a password once (after creation or reset); never in a URL. */
static void show_password(struct req *rq, struct resp *rs,
                          const struct user_rec *u, const char *password,
                          const char *title_key)
{
    json_t *ctx = json_object();
    char href[64];
    snprintf(href, sizeof href, "/admin/users/%lld", (long long)u->id);
    json_object_set_new(ctx, "href", json_string(href));
    json_object_set_new(ctx, "login", json_string(u->login));
    json_object_set_new(ctx, "display_name", json_string(u->display_name));
    json_object_set_new(ctx, "password", json_string(password));
    resp_page(rq, rs, 200, "admin/user_password", title_key, ctx);
}

static int post_user_new(struct req *rq, struct resp *rs)
{
    struct user_form uf;
    int bad = read_user_form(rq, &uf, 1);
    json_t *form = create_form(rq, &uf);
    json_t *errors = json_array();
    form_errors(&uf, form, errors);
    if (bad) {
        sodium_memzero(uf.password, sizeof uf.password);
        new_page(rq, rs, 400, form, errors);
        return 0;
    }
    int generated = !uf.password[0];
    if (generated && temp_password(uf.login, uf.password) != 0) {
        json_decref(form);
        json_decref(errors);
        resp_error(rq, rs, 500, NULL, NULL);
        return 0;
    }
    struct user_input in = {uf.login, uf.display_name, uf.email, uf.department,
                            uf.role};
    int64_t id = 0;
    int why = 0;
    int rc = users_create(rq->db, &rq->actor, &in, uf.password, &id, &why);
    if (rc == USERS_EEXISTS || rc == USERS_EINVAL || rc == USERS_EPASSWORD) {
        sodium_memzero(uf.password, sizeof uf.password);
        if (rc == USERS_EEXISTS)
            admin_field_error(rq, form, errors, "login",
                              "admin.err.login_taken");
        else if (rc == USERS_EPASSWORD)
            admin_field_error_text(
                form, errors, "password",
                pw_problem_text(rq, (enum password_problem)why));
        else
            admin_field_error(rq, form, errors, "login", "admin.err.invalid");
        new_page(rq, rs, 400, form, errors);
        return 0;
    }
    json_decref(form);
    json_decref(errors);
    if (rc != USERS_OK) {
        sodium_memzero(uf.password, sizeof uf.password);
        resp_error(rq, rs, rc == USERS_EAUDIT ? 503 : 500, users_error_key(rc),
                   NULL);
        return 0;
    }
    if (generated) {
        struct user_rec u;
        if (users_get(rq->db, id, &u) == USERS_OK)
            show_password(rq, rs, &u, uf.password, "admin.user_created.title");
        else
            resp_error(rq, rs, 500, NULL, NULL);
        sodium_memzero(uf.password, sizeof uf.password);
        return 0;
    }
    sodium_memzero(uf.password, sizeof uf.password);
    char loc[96];
    snprintf(loc, sizeof loc, "/admin/users/%lld?done=user_created",
             (long long)id);
    resp_redirect(rs, loc);
    return 0;
}

/* ---- GET /admin/users/:id ------------------------------------------------ */

static json_t *user_page_json(struct req *rq, const struct user_rec *u)
{
    struct user_row r;
    rec_to_row(u, &r);
    json_t *o = row_page_json(rq, &r);
    json_object_set_new(o, "email", json_string(u->email));
    char t[32];
    jst_or_dash(u->created_at, t, sizeof t);
    json_object_set_new(o, "created", json_string(t));
    jst_or_dash(u->password_changed_at, t, sizeof t);
    json_object_set_new(o, "password_changed", json_string(t));
    json_object_set_new(o, "failed_count", json_integer(u->failed_count));
    return o;
}

/* Shows one account with its edit form and actions.  form/errors: the
** posted form shown again (NULL: filled from the record); error_key: a
** message about a refused action.  The read is audited ("user.view"). */
static void show_user(struct req *rq, struct resp *rs, const struct user_rec *u,
                      int status, json_t *form, json_t *errors,
                      const char *error_key)
{
    char tid[24];
    target_id(u->id, tid, sizeof tid);
    if (admin_audit_read(rq, rs, "user.view", "user", tid, NULL) != 0) {
        json_decref(form);
        json_decref(errors);
        return;
    }
    json_t *ctx = json_object();
    json_object_set_new(ctx, "u", user_page_json(rq, u));
    if (!form) {
        struct user_form uf;
        memset(&uf, 0, sizeof uf);
        str_copy(uf.display_name, u->display_name, sizeof uf.display_name);
        str_copy(uf.email, u->email, sizeof uf.email);
        str_copy(uf.department, u->department, sizeof uf.department);
        str_copy(uf.role, u->role, sizeof uf.role);
        form = edit_form(rq, &uf);
    }
    json_object_set_new(ctx, "form", form);
    json_object_set_new(ctx, "errors", errors ? errors : json_array());
    if (error_key) {
        json_t *fl = json_object();
        json_object_set_new(fl, "kind", json_string("error"));
        json_object_set_new(fl, "urgent", json_true());
        json_object_set_new(fl, "text",
                            json_string(i18n_get(rq->lang, error_key)));
        json_object_set_new(ctx, "action_error", fl);
    }
    int self = rq->sess && rq->sess->user_id == u->id;
    json_object_set_new(ctx, "can_write",
                        json_boolean(req_can(rq, "users.write")));
    json_object_set_new(ctx, "self", json_boolean(self));
    json_t *bc = json_array();
    json_t *o = json_object();
    json_object_set_new(o, "href", json_string("/admin/users"));
    json_object_set_new(o, "label",
                        json_string(i18n_get(rq->lang, "admin.users.title")));
    json_array_append_new(bc, o);
    json_object_set_new(ctx, "breadcrumbs", bc);
    /* The page title names the account. */
    json_object_set_new(ctx, "hide_title", json_true());
    resp_page(rq, rs, status, "admin/user", "admin.user.title", ctx);
}

static int get_user(struct req *rq, struct resp *rs)
{
    struct user_rec u;
    if (load_user(rq, rs, &u) != 0)
        return 0;
    show_user(rq, rs, &u, 200, NULL, NULL, NULL);
    return 0;
}

static void redirect_done(struct resp *rs, int64_t id, const char *done)
{
    char loc[96];
    snprintf(loc, sizeof loc, "/admin/users/%lld?done=%s", (long long)id, done);
    resp_redirect(rs, loc);
}

/* The answer to a users.h result that is not a form problem. */
static void users_failure(struct req *rq, struct resp *rs,
                          const struct user_rec *u, int rc)
{
    if (rc == USERS_ELASTADMIN)
        show_user(rq, rs, u, 409, NULL, NULL, "admin.err.last_admin");
    else if (rc == USERS_ENOTFOUND)
        resp_error(rq, rs, 404, NULL, NULL);
    else
        resp_error(rq, rs, rc == USERS_EAUDIT ? 503 : 500, users_error_key(rc),
                   NULL);
}

static int post_user(struct req *rq, struct resp *rs)
{
    struct user_rec u;
    if (load_user(rq, rs, &u) != 0)
        return 0;
    struct user_form uf;
    int bad = read_user_form(rq, &uf, 0);
    json_t *form = edit_form(rq, &uf);
    json_t *errors = json_array();
    form_errors(&uf, form, errors);
    if (bad) {
        show_user(rq, rs, &u, 400, form, errors, NULL);
        return 0;
    }
    struct user_input in = {u.login, uf.display_name, uf.email, uf.department,
                            uf.role};
    int rc = users_update(rq->db, &rq->actor, u.id, &in);
    if (rc == USERS_ELASTADMIN) {
        admin_field_error(rq, form, errors, "role", "admin.err.last_admin");
        show_user(rq, rs, &u, 409, form, errors, NULL);
        return 0;
    }
    if (rc == USERS_EINVAL) {
        admin_field_error(rq, form, errors, "display_name",
                          "admin.err.invalid");
        show_user(rq, rs, &u, 400, form, errors, NULL);
        return 0;
    }
    json_decref(form);
    json_decref(errors);
    if (rc != USERS_OK) {
        users_failure(rq, rs, &u, rc);
        return 0;
    }
    redirect_done(rs, u.id, "user_updated");
    return 0;
}

/* Actions that would lock an administrator out of their own account are
** done by another administrator, never on oneself. */
static int refuse_self(struct req *rq, struct resp *rs,
                       const struct user_rec *u)
{
    if (rq->sess && rq->sess->user_id == u->id) {
        show_user(rq, rs, u, 409, NULL, NULL, "admin.err.self");
        return 1;
    }
    return 0;
}

static int post_suspend(struct req *rq, struct resp *rs)
{
    struct user_rec u;
    if (load_user(rq, rs, &u) != 0 || refuse_self(rq, rs, &u))
        return 0;
    int rc = users_set_status(rq->db, &rq->actor, u.id, "suspended");
    if (rc != USERS_OK)
        users_failure(rq, rs, &u, rc);
    else
        redirect_done(rs, u.id, "user_suspended");
    return 0;
}

static int post_enable(struct req *rq, struct resp *rs)
{
    struct user_rec u;
    if (load_user(rq, rs, &u) != 0)
        return 0;
    int rc = users_set_status(rq->db, &rq->actor, u.id, "active");
    if (rc != USERS_OK)
        users_failure(rq, rs, &u, rc);
    else
        redirect_done(rs, u.id, "user_enabled");
    return 0;
}

static int post_unlock(struct req *rq, struct resp *rs)
{
    struct user_rec u;
    if (load_user(rq, rs, &u) != 0)
        return 0;
    int rc = users_unlock(rq->db, &rq->actor, u.id);
    if (rc != USERS_OK)
        users_failure(rq, rs, &u, rc);
    else
        redirect_done(rs, u.id, "user_unlocked");
    return 0;
}

static int post_totp_reset(struct req *rq, struct resp *rs)
{
    struct user_rec u;
    if (load_user(rq, rs, &u) != 0 || refuse_self(rq, rs, &u))
        return 0;
    int rc = users_reset_totp(rq->db, &rq->actor, u.id);
    if (rc != USERS_OK)
        users_failure(rq, rs, &u, rc);
    else
        redirect_done(rs, u.id, "user_totp_reset");
    return 0;
}

/* A temporary password, shown once; the user must change it at the next
** sign-in, and every session of the account ends. */
static int post_password_reset(struct req *rq, struct resp *rs)
{
    struct user_rec u;
    if (load_user(rq, rs, &u) != 0 || refuse_self(rq, rs, &u))
        return 0;
    char pw[24];
    if (temp_password(u.login, pw) != 0) {
        resp_error(rq, rs, 500, NULL, NULL);
        return 0;
    }
    int why = 0;
    int rc = users_set_password(rq->db, &rq->actor, u.id, pw, 1, NULL, &why);
    if (rc != USERS_OK)
        users_failure(rq, rs, &u, rc);
    else
        show_password(rq, rs, &u, pw, "admin.user_reset.title");
    sodium_memzero(pw, sizeof pw);
    return 0;
}

static int get_delete(struct req *rq, struct resp *rs)
{
    struct user_rec u;
    if (load_user(rq, rs, &u) != 0 || refuse_self(rq, rs, &u))
        return 0;
    char tid[24];
    target_id(u.id, tid, sizeof tid);
    if (admin_audit_read(rq, rs, "user.view", "user", tid, "delete confirm") !=
        0)
        return 0;
    json_t *ctx = json_object();
    const char *names[] = {"name", "login"};
    const char *values[] = {u.display_name, u.login};
    char *q =
        admin_msg(rq->lang, "admin.user_delete.question", names, values, 2);
    json_object_set_new(ctx, "question", json_string(q));
    free(q);
    json_object_set_new(
        ctx, "warning",
        json_string(i18n_get(rq->lang, "admin.user_delete.warning")));
    char href[96];
    snprintf(href, sizeof href, "/admin/users/%lld/delete", (long long)u.id);
    json_object_set_new(ctx, "action", json_string(href));
    snprintf(href, sizeof href, "/admin/users/%lld", (long long)u.id);
    json_object_set_new(ctx, "cancel", json_string(href));
    json_object_set_new(
        ctx, "button",
        json_string(i18n_get(rq->lang, "admin.user_delete.button")));
    resp_page(rq, rs, 200, "admin/confirm", "admin.user_delete.title", ctx);
    return 0;
}

static int post_delete(struct req *rq, struct resp *rs)
{
    struct user_rec u;
    if (load_user(rq, rs, &u) != 0 || refuse_self(rq, rs, &u))
        return 0;
    int rc = users_delete(rq->db, &rq->actor, u.id);
    if (rc != USERS_OK)
        users_failure(rq, rs, &u, rc);
    else
        resp_redirect(rs, "/admin/users?done=user_deleted");
    return 0;
}

static const struct route users_routes[] = {
    {"GET", "/admin/users", get_users, "users.read", 0},
    {"GET", "/admin/users/new", get_user_new, "users.write", 0},
    {"POST", "/admin/users/new", post_user_new, "users.write", 0},
    {"GET", "/admin/users/:id", get_user, "users.read", 0},
    {"POST", "/admin/users/:id", post_user, "users.write", 0},
    {"POST", "/admin/users/:id/suspend", post_suspend, "users.write", 0},
    {"POST", "/admin/users/:id/enable", post_enable, "users.write", 0},
    {"POST", "/admin/users/:id/unlock", post_unlock, "users.write", 0},
    {"POST", "/admin/users/:id/password", post_password_reset, "users.write",
     0},
    {"POST", "/admin/users/:id/totp-reset", post_totp_reset, "users.write", 0},
    {"GET", "/admin/users/:id/delete", get_delete, "users.write", 0},
    {"POST", "/admin/users/:id/delete", post_delete, "users.write", 0},
    {"GET", "/api/v1/users", api_users, "users.read", 0},
    {"GET", "/api/v1/users/:id", api_user, "users.read", 0},
};

void users_admin_register(void)
{
    router_add(users_routes, ARRAY_LEN(users_routes));
}
